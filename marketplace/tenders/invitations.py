"""Invited tender (邀请招标, O87 art 14): the organizations invited to bid, drawn at random from the
qualified pool or recommended in writing.

The officer prepares the invitations on the draft; publishing needs at least the procedure's
``min_invitations`` and sends them (:func:`send_invitations`). Once published the list is fixed:
nothing removes an invitation from a tender that takes bids, so the bid verbs check the invitation
when a bid is saved (``bids.bidders.invitation_problem``) and a submission needs no extra query.
Invitee names are for the buyer's officers and auditors; the public and other organizations only
learn that the tender is by invitation.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core import draws
from marketplace.core.districts import District
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.retention import permit_removal
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.orgs.models import LISTED_STATUSES, Organization
from marketplace.tenders import procedures
from marketplace.tenders.bids.bidders import organization_members, qualification_problems, standing_problems
from marketplace.tenders.bids.submission import lock_tender
from marketplace.tenders.models import DRAFT, DRAWN, RECOMMENDED, InvitationDraw, Tender, TenderInvitation
from marketplace.tenders.schemas import DrawInputSchema, RecommendationInputSchema


def by_invitation(tender: Tender) -> bool:
    return tender.by_invitation


def min_invitations(tender: Tender) -> int:
    return procedures.profile(tender.method).min_invitations


def _areas_serving(tender: Tender) -> set[str]:
    """The tender's service areas and every district above them: an organization serving one of these
    serves the tender (``bids.bidders`` looks from the organization's side, downwards)."""
    codes = {d.code for d in tender.service_areas} or {tender.district_code}
    frontier = set(codes)
    while frontier:
        parents = set(
            db.session.scalars(
                select(District.parent_code).where(
                    District.code.in_(list(frontier)), District.parent_code.is_not(None)
                )
            )
        )
        frontier = parents - codes
        codes |= parents
    return codes


def qualified_pool(tender: Tender) -> list[Organization]:
    """The organizations that may bid on ``tender``, by id: verified and not sanctioned, in its
    category, serving its area, small when it is reserved for small organizations."""
    areas = _areas_serving(tender)
    candidates = db.session.scalars(
        select(Organization)
        .where(Organization.verified_at.is_not(None), Organization.status.in_(LISTED_STATUSES))
        .options(selectinload(Organization.service_areas))
        .order_by(Organization.id)
    )
    return [
        org
        for org in candidates
        if not standing_problems(org, tender) and any(d.code in areas for d in org.service_areas)
    ]


def uninvited_pool(tender: Tender) -> list[Organization]:
    """The qualified pool less the organizations already invited: what a draw is applied to."""
    invited = {i.organization_id for i in tender.invitations}
    return [org for org in qualified_pool(tender) if org.id not in invited]


def _require_preparing(tender: Tender) -> None:
    if not by_invitation(tender):
        raise RuleViolation(_("Only an invited tender (邀请招标) has invitations."))
    if tender.status != DRAFT:
        raise RuleViolation(
            _("Invitations are prepared on the draft; once the tender is published they cannot change.")
        )


def draw_invitations(tender: Tender, raw: Mapping, actor) -> InvitationDraw:
    """Invite ``count`` organizations drawn at random from the qualified pool (less those already
    invited). The draw is recorded with its pool and seed, so anyone can repeat it."""
    tender = lock_tender(tender)
    _require_preparing(tender)
    data = load(DrawInputSchema(), raw)
    candidates = [org.id for org in uninvited_pool(tender)]
    if len(candidates) < data["count"]:
        raise RuleViolation(
            _(
                "Only %(n)d qualified organizations are not invited yet: draw at most that many, or "
                "recommend organizations in writing.",
                n=len(candidates),
            ),
            field="count",
        )
    result = draws.draw(candidates, data["count"])
    now = clock.now()
    record = InvitationDraw(
        seed=result.seed, pool=result.pool, picked=result.picked, drawn_at=now, drawn_by_id=actor.id
    )
    tender.invitation_draws.append(record)
    for org_id in result.picked:
        tender.invitations.append(
            TenderInvitation(
                organization_id=org_id, source=DRAWN, draw=record, created_at=now, created_by_id=actor.id
            )
        )
    db.session.flush()
    audit.record(
        actor,
        "tender.invitation_draw",
        "invitation_draw",
        record.id,
        N_("Drew %(n)d of %(pool)d qualified organizations to invite"),
        result.as_record(),
        tender_id=tender.id,
        params={"n": len(result.picked), "pool": len(result.pool)},
    )
    return record


def recommend(tender: Tender, raw: Mapping, actor) -> TenderInvitation:
    """Invite one organization of the qualified pool on a written recommendation (who and why)."""
    tender = lock_tender(tender)
    _require_preparing(tender)
    data = load(RecommendationInputSchema(), raw)
    org = db.session.get(Organization, data["organization_id"])
    if org is None:
        raise RuleViolation(_("Choose an organization from the qualified pool."), field="organization_id")
    if any(i.organization_id == org.id for i in tender.invitations):
        raise RuleViolation(_("This organization is already invited."), field="organization_id")
    if qualification_problems(org, tender):
        raise RuleViolation(
            _(
                "This organization may not bid on this tender (its standing, categories, service area "
                "or the small-organization reservation), so it cannot be invited."
            ),
            field="organization_id",
        )
    invitation = TenderInvitation(
        organization_id=org.id,
        source=RECOMMENDED,
        recommended_by=data["recommended_by"],
        reason=data["reason"],
        created_at=clock.now(),
        created_by_id=actor.id,
    )
    tender.invitations.append(invitation)
    db.session.flush()
    audit.record(
        actor,
        "tender.invitation_recommend",
        "invitation",
        invitation.id,
        N_("Invited an organization on the written recommendation of %(recommender)s"),
        {"organization_id": org.id, "recommended_by": data["recommended_by"], "reason": data["reason"]},
        tender_id=tender.id,
        params={"recommender": data["recommended_by"]},
    )
    return invitation


def remove_invitation(invitation: TenderInvitation, actor) -> None:
    """Take an invitation off the draft (the draw that made it stays on record)."""
    tender = lock_tender(invitation.tender)
    _require_preparing(tender)
    source, org_id, invitation_id = invitation.source, invitation.organization_id, invitation.id
    permit_removal(invitation)  # a draft's invitation, never sent (core.retention)
    tender.invitations.remove(invitation)
    db.session.flush()
    audit.record(
        actor,
        "tender.invitation_remove",
        "invitation",
        invitation_id,
        N_("Removed a drawn invitation") if source == DRAWN else N_("Removed a recommended invitation"),
        {"organization_id": org_id, "source": source},
        tender_id=tender.id,
    )


def hold_for_publication(tender: Tender) -> None:
    """Publishing an invited tender holds its row (as the invitation verbs do), so no invitation is
    removed between the count and the publication."""
    if by_invitation(tender):
        lock_tender(tender)


def publication_problems(tender: Tender) -> list[str]:
    """What the invitations lack for ``tender`` to be published (empty when it is open to all)."""
    needed = min_invitations(tender)
    if not needed:
        return []
    problems = []
    count = len(tender.invitations)
    if count < needed:
        problems.append(
            _(
                "An invited tender needs at least %(min)d invited organizations before publication "
                "(MOF Order 87, art. 14); it has %(n)d. Draw them from the qualified pool or "
                "recommend them in "
                "writing on the invitations page.",
                min=needed,
                n=count,
            )
        )
    lapsed = [i for i in tender.invitations if qualification_problems(i.organization, tender)]
    if lapsed:
        problems.append(
            _(
                "%(n)d invited organizations no longer qualify for this tender (its category, service "
                "area or reservation changed, or their standing): remove them and invite others.",
                n=len(lapsed),
            )
        )
    return problems


def send_invitations(tender: Tender, actor) -> int:
    """At publication: tell the invited organizations' members; returns how many were told."""
    if not by_invitation(tender) or not tender.invitations:
        return 0
    now = clock.now()
    for invitation in tender.invitations:
        invitation.notified_at = now
    told = notify(
        organization_members({i.organization_id for i in tender.invitations}),
        "tender.invited",
        N_("Invitation to bid — %(title)s"),
        N_("Your organization is invited to bid on the invited tender %(reference)s (邀请招标)."),
        f"/bids/tender/{tender.id}",
        params={"title": tender.title, "reference": tender.reference},
    )
    audit.record(
        actor,
        "tender.invitations_sent",
        "tender",
        tender.id,
        N_("Sent the invitations to %(n)d organizations"),
        params={"n": len(tender.invitations)},
    )
    return told


def draws_repeat(tender: Tender) -> list[tuple[InvitationDraw, bool]]:
    """Each recorded draw of ``tender`` and whether repeating it from its seed gives its picks."""
    return [(d, draws.repeat(d.record) == list(d.picked)) for d in tender.invitation_draws]
