"""The evaluation committee (O87 45-47): forming it, replacing a member, the conflict declarations.

Each verb checks its rule, changes rows, writes an audit event and queues notifications; the caller
commits. Committee names stay confidential until the award notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import format_percent
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.permissions import EVALUATOR, OFFICER
from marketplace.core.records import require_open_record
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.tenders import procedures
from marketplace.tenders.bids.opening import opened_bids
from marketplace.tenders.bids.submission import lock_tender
from marketplace.tenders.committee.experts import bidder_employees
from marketplace.tenders.committee.models import CommitteeMember, ConflictDeclaration
from marketplace.tenders.committee.officers import agency_users, require_officer
from marketplace.tenders.committee.schemas import DeclarationsInputSchema
from marketplace.tenders.models import AWARDED, EVALUATION, OPENED, Tender
from marketplace.tenders.records import record_text


def committee(tender: Tender, active_only: bool = True) -> list[CommitteeMember]:
    stmt = select(CommitteeMember).where(CommitteeMember.tender_id == tender.id)
    if active_only:
        stmt = stmt.where(CommitteeMember.active.is_(True))
    return list(db.session.scalars(stmt.order_by(CommitteeMember.is_chair.desc(), CommitteeMember.id)))


def membership(tender: Tender, user) -> CommitteeMember | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(CommitteeMember).where(
            CommitteeMember.tender_id == tender.id, CommitteeMember.user_id == user.id
        )
    )


def member_may_see_bids(member: CommitteeMember | None) -> bool:
    """Only active members who declared no conflict, once the evaluation has started."""
    return (
        member is not None
        and member.active
        and member.declared_at is not None
        and member.tender.status in (EVALUATION, AWARDED)
    )


def bids_hidden_reason(member: CommitteeMember) -> str | None:
    """Why the member may not read the bids now (None when they may)."""
    if member_may_see_bids(member):
        return None
    if not member.active:
        return _("You were removed from this committee.")
    if member.declared_at is None:
        return _("Declare that you have no conflict of interest with any bidder before you see the bids.")
    return _("The bids can be read only while the evaluation is in progress.")


def formation_open(tender: Tender) -> bool:
    """The bids are opened (or the evaluation started) and no committee was formed yet."""
    return tender.status in (OPENED, EVALUATION) and not committee(tender, active_only=False)


def committee_size(tender: Tender) -> int:
    """The smallest committee the procedure allows for the tender's budget."""
    return procedures.profile(tender.method).committee_size_for(tender.budget_ceiling)


def independent_share(tender: Tender) -> Decimal:
    """The least share of independent experts on the committee: the procedure profile's (O87 47: two
    thirds), which ``PROCEDURE_OVERRIDES`` may change."""
    return Decimal(str(procedures.profile(tender.method).independent_share))


def share_text(tender: Tender) -> str:
    """The independent share as people read it ("66.67%"), in the page's language."""
    return format_percent(independent_share(tender), format="#,##0.##%")


def _meets_share(experts: int, members: int, share: Decimal) -> bool:
    """``experts`` of ``members`` reach ``share``, compared to four decimals (or the share's own
    precision when finer): 0.6667 stands for two thirds, which 2 of 3 meets, while 3 of 4 stays below 0.8."""
    exponent = Decimal(1).scaleb(min(share.as_tuple().exponent, -4))
    return (Decimal(experts) / members).quantize(exponent, rounding=ROUND_HALF_UP) >= share


@dataclass
class Appointment:
    user: object
    role: str = "expert"  # expert | buyer_rep
    is_chair: bool = False


def composition_problems(tender: Tender, members: list) -> list[str]:
    """Size, odd number, independent share and chair rules for the active members (O87 45-47)."""
    size = committee_size(tender)
    problems = []
    n = len(members)
    if n < size:
        problems.append(
            _("The committee needs at least %(n)d members for this procedure and budget.", n=size)
        )
    if n % 2 == 0:
        problems.append(_("The committee must have an odd number of members."))
    experts = sum(1 for m in members if m.role == "expert")
    if n and not _meets_share(experts, n, independent_share(tender)):
        problems.append(
            _("At least %(share)s of the members must be independent experts.", share=share_text(tender))
        )
    chairs = [m for m in members if m.is_chair]
    if len(chairs) != 1:
        problems.append(_("Choose exactly one chair."))
    elif chairs[0].role == "buyer_rep":
        problems.append(_("The buyer's representative may not chair the committee."))
    return problems


def needs_replacement(tender: Tender) -> bool:
    """A member left during the evaluation and the active members no longer make a valid committee."""
    members = committee(tender, active_only=False)
    active = [m for m in members if m.active]
    return bool(members) and tender.status == EVALUATION and bool(composition_problems(tender, active))


def refuse_bidder_employees(tender: Tender, users: list, field: str = "members") -> None:
    """An expert who works for a bidding organization may not sit on its committee (回避), however
    they would be appointed: by a draw, by name, or as a replacement."""
    employed = bidder_employees(tender, users)
    if employed:
        raise RuleViolation(
            _(
                "%(name)s works for an organization that bid on this tender and cannot sit on its committee.",
                name=employed[0].display_name,
            ),
            field=field,
        )


def _check_appointments(tender: Tender, appointments: list[Appointment]) -> None:
    users = [a.user.id for a in appointments]
    if len(set(users)) != len(users):
        raise RuleViolation(_("A person can sit on the committee only once."), field="members")
    refuse_bidder_employees(tender, [a.user for a in appointments])
    for a in appointments:
        if a.role == "expert" and a.user.role != EVALUATOR:
            raise RuleViolation(_("%(email)s is not an evaluator.", email=a.user.email), field="members")
        if a.role == "buyer_rep" and not (a.user.role == OFFICER and a.user.agency_id == tender.agency_id):
            raise RuleViolation(
                _("The buyer's representative must be an officer of the agency."), field="members"
            )
    problems = composition_problems(tender, appointments)
    if problems:
        raise RuleViolation(problems[0], field="members")


def form_committee(tender: Tender, appointments: list[Appointment], actor) -> list[CommitteeMember]:
    require_officer(tender, actor)
    tender = lock_tender(tender)  # two officers forming it at once: the second sees the first's committee
    if tender.status not in (OPENED, EVALUATION):
        raise RuleViolation(_("A committee is formed after the bids are opened."))
    if committee(tender, active_only=False):
        raise RuleViolation(_("The committee is already formed; replace members instead."))
    _check_appointments(tender, appointments)
    now = clock.now()
    members = [
        CommitteeMember(
            tender_id=tender.id, user_id=a.user.id, role=a.role, is_chair=a.is_chair, appointed_at=now
        )
        for a in appointments
    ]
    db.session.add_all(members)
    tender.status = EVALUATION
    db.session.flush()
    audit.record(
        actor,
        "committee.form",
        "tender",
        tender.id,
        N_("Formed a committee of %(n)s"),
        {"members": [a.user.id for a in appointments]},
        params={"n": len(members)},
    )
    notify(
        [a.user for a in appointments],
        "committee.appointed",
        N_("Appointed to an evaluation committee — %(title)s"),
        N_("Declare for each bidder that you have no conflict of interest before you can see the bids."),
        "/evaluations",
        params={"title": tender.title},
    )
    return members


def replace_member(member: CommitteeMember, new_user, actor) -> CommitteeMember:
    tender = member.tender
    require_officer(tender, actor)
    if tender.status != EVALUATION:
        raise RuleViolation(_("Members can be replaced only during the evaluation."))
    if member.active:
        raise RuleViolation(_("Only a removed member is replaced."))
    if len(committee(tender)) >= committee_size(tender):
        raise RuleViolation(_("This member has already been replaced: the committee is complete."))
    if new_user.role != EVALUATOR or membership(tender, new_user) is not None:
        raise RuleViolation(_("Choose an evaluator who is not on this committee yet."), field="user")
    refuse_bidder_employees(tender, [new_user], field="user")
    replacement = CommitteeMember(
        tender_id=tender.id,
        user_id=new_user.id,
        role="expert",
        is_chair=member.is_chair,  # the chair's seat passes to the replacement
        appointed_at=clock.now(),
    )
    member.is_chair = False
    db.session.add(replacement)
    db.session.flush()
    audit.record(
        actor,
        "committee.replace",
        "tender",
        tender.id,
        N_("Replaced member %(member)s with user %(user)s"),
        params={"member": member.id, "user": new_user.id},
    )
    notify(
        [new_user],
        "committee.appointed",
        N_("Appointed to an evaluation committee — %(title)s"),
        "",
        "/evaluations",
        params={"title": tender.title},
    )
    return replacement


def declare(member: CommitteeMember, conflicts: dict[int, tuple[bool, str]], actor) -> bool:
    """Declare, for every opened bid, conflict or not. A conflict removes the member.

    Returns True when the member declared no conflict at all."""
    if actor is None or member.user_id != actor.id:
        raise RuleViolation(_("Only the member can make this declaration."))
    require_open_record(member.tender)
    if not member.active or member.declared_at is not None:
        raise RuleViolation(_("This declaration has already been made."))
    entries = load(
        DeclarationsInputSchema(),
        {"entries": [{"bid_id": b, "conflict": c, "note": n} for b, (c, n) in conflicts.items()]},
    )["entries"]
    if {e["bid_id"] for e in entries} != {b.id for b in opened_bids(member.tender)}:
        raise RuleViolation(_("Declare for every bidder."))
    now = clock.now()
    for e in entries:
        db.session.add(
            ConflictDeclaration(
                member_id=member.id,
                bid_id=e["bid_id"],
                conflict=e["conflict"],
                note=e["note"],
                declared_at=now,
            )
        )
    if any(e["conflict"] for e in entries):
        _remove_for_conflict(member, actor)
        return False
    member.declared_at = now
    audit.record(
        actor,
        "committee.declare",
        "tender",
        member.tender_id,
        N_("Member %(member)s declared no conflict"),
        params={"member": member.id},
    )
    return True


def _remove_for_conflict(member: CommitteeMember, actor) -> None:
    member.active = False  # is_chair stays: the replacement inherits it
    member.removed_reason = record_text(N_("declared a conflict of interest"))
    audit.record(
        actor,
        "committee.conflict",
        "tender",
        member.tender_id,
        N_("Member %(member)s declared a conflict"),
        params={"member": member.id},
    )
    notify(
        agency_users(member.tender),
        "committee.conflict",
        N_("A member declared a conflict and must be replaced — %(title)s"),
        "",
        f"/award/{member.tender_id}",
        params={"title": member.tender.title},
    )
