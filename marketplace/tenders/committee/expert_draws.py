"""Experts drawn at random from the pool for a tender's committee (财库〔2016〕198号), and their reserves.

The officer asks for N experts of a category and R reserves. The draw leaves out the buyer's employees,
the bidders' employees, anyone unavailable and anyone who declared a conflict for this tender, picks
N + R of the rest with :func:`marketplace.core.draws.draw`, and records the pool, the seed, the time,
who ran it, the excluded experts with their reason, and the picks. The first N are appointed through
:func:`members.form_committee`; when a member withdraws, the reserves replace them in draw order
(:func:`appoint_reserve`). When none is left, a further draw of reserves is made the same way.

Who was drawn is as confidential as the committee itself: the record is shown to the procuring
agency's officers, auditors and admins (``committee.draws``), never on a public page before the
award notice names the committee.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth.models import User
from marketplace.core import draws
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.permissions import OFFICER
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.tenders.bids.submission import lock_tender
from marketplace.tenders.bids.visibility import bidding_organization_ids
from marketplace.tenders.committee import members as committee_members
from marketplace.tenders.committee.experts import experts_of_category, is_available
from marketplace.tenders.committee.members import Appointment
from marketplace.tenders.committee.models import CommitteeMember, ConflictDeclaration, Expert, ExpertDraw
from marketplace.tenders.committee.officers import require_officer
from marketplace.tenders.committee.schemas import DrawInputSchema, ReserveDrawInputSchema
from marketplace.tenders.models import Tender

# --- who may be drawn ----------------------------------------------------------------------------------


def _conflicted_users(tender: Tender) -> set[int]:
    """Users who declared a conflict with a bidder of this tender."""
    return set(
        db.session.scalars(
            select(CommitteeMember.user_id)
            .join(ConflictDeclaration, ConflictDeclaration.member_id == CommitteeMember.id)
            .where(CommitteeMember.tender_id == tender.id, ConflictDeclaration.conflict.is_(True))
        )
    )


def _seated_users(tender: Tender) -> set[int]:
    """Users who hold or held a seat on this tender's committee."""
    return set(
        db.session.scalars(select(CommitteeMember.user_id).where(CommitteeMember.tender_id == tender.id))
    )


def exclusions(tender: Tender, experts: list[Expert]) -> dict[int, str]:
    """Why each of ``experts`` may not be drawn for ``tender`` (expert id → reason); the others may."""
    conflicted, seated = _conflicted_users(tender), _seated_users(tender)
    bidders = bidding_organization_ids(tender)
    out = {}
    for e in experts:
        reasons = (
            ("conflict", e.user_id in conflicted),
            ("bidder", e.employer_organization_id is not None and e.employer_organization_id in bidders),
            ("buyer", e.employer_agency_id is not None and e.employer_agency_id == tender.agency_id),
            ("unavailable", not is_available(e)),
            ("inactive", not e.user.active),
            ("seated", e.user_id in seated),
        )
        reason = next((r for r, applies in reasons if applies), None)
        if reason:
            out[e.id] = reason
    return out


def _run_draw(tender: Tender, category: str, count: int, appointed: int, kind: str, actor) -> ExpertDraw:
    """Draw ``count`` experts of ``category`` and record the draw; the first ``appointed`` sit."""
    candidates = experts_of_category(category)
    excluded = exclusions(tender, candidates)
    eligible = [e.id for e in candidates if e.id not in excluded]
    if len(eligible) < appointed:
        raise RuleViolation(
            _(
                "Only %(available)d experts of this category can be drawn for this tender; "
                "%(needed)d are needed.",
                available=len(eligible),
                needed=appointed,
            ),
            field="experts" if kind == "committee" else "reserves",
        )
    if not eligible:
        raise RuleViolation(_("No expert of this category can be drawn for this tender."), field="reserves")
    result = draws.draw(eligible, count)
    record = ExpertDraw(
        tender_id=tender.id,
        kind=kind,
        category=category,
        appointed=appointed,
        seed=result.seed,
        pool=result.pool,
        picked=result.picked,
        excluded=[{"expert_id": i, "reason": excluded[i]} for i in sorted(excluded)],
        drawn_at=clock.now(),
        drawn_by_id=actor.id,
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        actor,
        "committee.draw",
        "tender",
        tender.id,
        N_("Drew %(appointed)s experts and %(reserves)s reserves from a pool of %(pool)s (draw %(draw)s)"),
        {**result.as_record(), "excluded": record.excluded, "appointed": appointed, "category": category},
        params={
            "appointed": appointed,
            "reserves": len(record.reserves),
            "pool": len(result.pool),
            "draw": record.id,
        },
    )
    return record


def _experts_by_id(ids) -> dict[int, Expert]:
    ids = list(ids)
    if not ids:
        return {}
    return {e.id: e for e in db.session.scalars(select(Expert).where(Expert.id.in_(ids)))}


def _buyer_rep(tender: Tender, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or not (user.role == OFFICER and user.agency_id == tender.agency_id):
        raise RuleViolation(
            _("The buyer's representative must be an officer of the agency."), field="buyer_rep"
        )
    return user


# --- verbs ---------------------------------------------------------------------------------------------


def draw_committee(tender: Tender, raw: dict, actor) -> ExpertDraw:
    """Draw the committee's experts and reserves and appoint the experts (the first one drawn chairs)
    with the buyer's representative, if any."""
    require_officer(tender, actor)
    tender = lock_tender(tender)  # one draw at a time: a second one waits, then finds the committee formed
    data = load(DrawInputSchema(), raw)
    if not committee_members.formation_open(tender):
        raise RuleViolation(
            _("The experts are drawn once, after the bids are opened and before a committee is formed.")
        )
    rep = _buyer_rep(tender, data["buyer_rep_id"])
    n = data["experts"]
    planned = [Appointment(None, "expert", i == 0) for i in range(n)] + (
        [Appointment(rep, "buyer_rep")] if rep else []
    )
    problems = committee_members.composition_problems(tender, planned)
    if problems:
        raise RuleViolation(problems[0], field="experts")
    record = _run_draw(tender, data["category"], n + data["reserves"], n, "committee", actor)
    experts = _experts_by_id(record.picked[:n])
    appointments = [
        Appointment(experts[i].user, "expert", pos == 0) for pos, i in enumerate(record.picked[:n])
    ]
    if rep:
        appointments.append(Appointment(rep, "buyer_rep"))
    committee_members.form_committee(tender, appointments, actor)
    return record


def draw_reserves(tender: Tender, raw: dict, actor) -> ExpertDraw:
    """A further draw of reserves, while a withdrawn member waits for a replacement and none is left."""
    require_officer(tender, actor)
    tender = lock_tender(tender)
    data = load(ReserveDrawInputSchema(), raw)
    if not committee_members.needs_replacement(tender):
        raise RuleViolation(_("Reserves are drawn when a member withdrew and must be replaced."))
    if next_reserve(tender) is not None:
        raise RuleViolation(_("A reserve from an earlier draw is still waiting: appoint it first."))
    return _run_draw(tender, data["category"], data["reserves"], 0, "reserve", actor)


def draws_of(tender: Tender) -> list[ExpertDraw]:
    return list(
        db.session.scalars(
            select(ExpertDraw).where(ExpertDraw.tender_id == tender.id).order_by(ExpertDraw.id)
        )
    )


def next_reserve(tender: Tender) -> Expert | None:
    """The first reserve, in draw order over the tender's draws, who never sat on the committee and may
    still be drawn (a reserve who became unavailable, or works for a bidder, is passed over)."""
    reserve_ids = [i for d in draws_of(tender) for i in d.reserves]
    experts = _experts_by_id(reserve_ids)
    candidates = [experts[i] for i in reserve_ids if i in experts]
    excluded = exclusions(tender, candidates)
    return next((e for e in candidates if e.id not in excluded), None)


def appoint_reserve(member: CommitteeMember, actor) -> CommitteeMember:
    """Replace a withdrawn member with the next reserve (:func:`members.replace_member` checks the rules)."""
    tender = member.tender
    require_officer(tender, actor)
    reserve = next_reserve(tender)
    if reserve is None:
        raise RuleViolation(_("No reserve is left: draw further reserves first."))
    replacement = committee_members.replace_member(member, reserve.user, actor)
    audit.record(
        actor,
        "committee.reserve",
        "tender",
        tender.id,
        N_("Reserve expert %(expert)s replaced member %(member)s"),
        params={"expert": reserve.id, "member": member.id},
    )
    return replacement


def verify(record: ExpertDraw) -> bool:
    """Repeating the draw from its recorded pool and seed gives the recorded picks."""
    return draws.repeat(record.as_record()) == list(record.picked)


def drawn_experts(record: ExpertDraw) -> dict[int, Expert]:
    """The pool entries a record names (its picks and exclusions), for the record's page."""
    return _experts_by_id(set(record.picked) | {x["expert_id"] for x in record.excluded})
