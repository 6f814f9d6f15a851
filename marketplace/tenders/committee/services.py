"""Committee, qualification, scoring, award and challenge verbs (O87 45-69; GPL 52-53; IR 53-54).

Each verb checks its rule, changes rows, writes an audit event and queues notifications; the caller
commits. Reads that carry confidential data (bids, other members' scores, committee names) take the
viewer into account here, not in templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.documents import StoredFile
from marketplace.core.errors import RuleViolation
from marketplace.core.notifications import notify
from marketplace.core.permissions import EVALUATOR, OFFICER
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.core.validation import check_text
from marketplace.extensions import db
from marketplace.tenders import procedures
from marketplace.tenders.bids import services as bid_services
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.committee import scoring
from marketplace.tenders.committee.models import (
    Award,
    Challenge,
    ChallengeDocument,
    CommitteeMember,
    ConflictDeclaration,
    EvaluationResult,
    PriceReview,
    Qualification,
    Score,
)
from marketplace.tenders.models import AWARDED, EVALUATION, FAILED, OPENED, Tender

REASON_MAX = 5000
NOTICE_PERIOD_WORKING_DAYS = 1  # O87 69
CHALLENGE_WINDOW_WORKING_DAYS = 7  # GPL 52; IR 53


def _settings():
    cfg = current_app.config
    deduction = Decimal(str(cfg.get("SMALL_ORG_PRICE_DEDUCTION", "0.10")))
    if not Decimal("0.10") <= deduction <= Decimal("0.20"):  # C46: 10-20 %
        raise RuntimeError("SMALL_ORG_PRICE_DEDUCTION must be between 0.10 and 0.20")
    return deduction, Decimal(str(cfg.get("ABNORMALLY_LOW_RATIO", "0.80")))


def _officer_of(tender: Tender, actor) -> None:
    if not (actor is not None and actor.role == OFFICER and actor.agency_id == tender.agency_id):
        raise RuleViolation(_("Only an officer of the procuring agency can do this."))


def _members_of_orgs(org_ids) -> list:
    return bid_services._members(org_ids)


def _agency_officers(tender: Tender) -> list:
    from marketplace.auth.models import User

    return list(
        db.session.scalars(select(User).where(User.agency_id == tender.agency_id, User.active.is_(True)))
    )


# --- reads ---------------------------------------------------------------------------------------


def opened_bids(tender: Tender) -> list[Bid]:
    """The bids in the opening record, in its order."""
    opening = bid_services.opening_of(tender)
    if opening is None:
        return []
    ids = [row["bid_id"] for row in opening.record]
    bids = {b.id: b for b in db.session.scalars(select(Bid).where(Bid.id.in_(ids)))}
    return [bids[i] for i in ids if i in bids]


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


def committee_may_see_bid(user, bid: Bid) -> bool:
    return member_may_see_bids(membership(bid.tender, user))


def qualification_of(bid: Bid) -> Qualification | None:
    return db.session.scalar(select(Qualification).where(Qualification.bid_id == bid.id))


def qualified_bids(tender: Tender) -> list[Bid]:
    passed = set(
        db.session.scalars(
            select(Qualification.bid_id).where(
                Qualification.tender_id == tender.id, Qualification.passed.is_(True)
            )
        )
    )
    return [b for b in opened_bids(tender) if b.id in passed]


def scores_of(member: CommitteeMember) -> dict[tuple[int, int], Score]:
    return {
        (s.bid_id, s.criterion_id): s
        for s in db.session.scalars(select(Score).where(Score.member_id == member.id))
    }


def visible_scores(tender: Tender, viewer_member: CommitteeMember | None, officer_view: bool = False):
    """All members' scores, for the officer after conclusion or for a member after submitting their own.

    A member who has not submitted sees only their own.
    """
    members = committee(tender)
    if officer_view or (viewer_member is not None and viewer_member.scores_submitted_at is not None):
        return {m.id: scores_of(m) for m in members}
    if viewer_member is not None:
        return {viewer_member.id: scores_of(viewer_member)}
    return {}


def current_award(tender: Tender) -> Award | None:
    return db.session.scalar(
        select(Award)
        .where(Award.tender_id == tender.id, Award.status != "annulled")
        .order_by(Award.id.desc())
    )


def committee_names_public(tender: Tender) -> bool:
    return current_award(tender) is not None


def results(tender: Tender) -> list[EvaluationResult]:
    latest = _latest_round(tender)
    if not latest:
        return []
    return list(
        db.session.scalars(
            select(EvaluationResult)
            .where(EvaluationResult.tender_id == tender.id, EvaluationResult.round == latest)
            .order_by(EvaluationResult.rank.is_(None), EvaluationResult.rank, EvaluationResult.bid_id)
        )
    )


def result_for_bid(bid: Bid) -> EvaluationResult | None:
    return next((r for r in results(bid.tender) if r.bid_id == bid.id), None)


def concluded(tender: Tender) -> bool:
    """The ranking of the current round is computed (an upheld challenge starts a new round)."""
    latest = _latest_round(tender)
    return bool(latest) and latest >= _current_round(tender)


def mean_scores(scores: dict, bids, criteria) -> dict[tuple[int, int], Decimal | None]:
    """The members' mean points per (bid, criterion), two decimals; None where nobody scored.

    ``scores`` is ``{member_id: {(bid_id, criterion_id): Score}}`` as ``visible_scores`` returns it."""
    means = {}
    for b in bids:
        for c in criteria:
            points = [own[(b.id, c.id)].points for own in scores.values() if (b.id, c.id) in own]
            means[(b.id, c.id)] = scoring.q2(sum(points, Decimal(0)) / len(points)) if points else None
    return means


def price_deduction_percent(result: EvaluationResult) -> int:
    """The small-organization deduction applied to this result's price, in percent (0 when none): read
    from the frozen result, so a later configuration change does not rewrite the report."""
    if not result.price or result.evaluated_price is None or result.evaluated_price == result.price:
        return 0
    return int(((1 - Decimal(result.evaluated_price) / Decimal(result.price)) * 100).quantize(Decimal(1)))


# --- committee -----------------------------------------------------------------------------------


@dataclass
class Appointment:
    user: object
    role: str = "expert"  # expert | buyer_rep
    is_chair: bool = False


def composition_problems(tender: Tender, members: list) -> list[str]:
    """Size, odd number, independent share and chair rules for the active members (O87 45-47)."""
    prof = procedures.profile(tender.method)
    size = prof.committee_size_for(tender.budget_ceiling)
    problems = []
    n = len(members)
    if n < size:
        problems.append(
            _("The committee needs at least %(n)d members for this procedure and budget.", n=size)
        )
    if n % 2 == 0:
        problems.append(_("The committee must have an odd number of members."))
    experts = sum(1 for m in members if m.role == "expert")
    if n and Decimal(experts) / n < Decimal(2) / Decimal(3):
        problems.append(_("At least two thirds of the members must be independent experts."))
    chairs = [m for m in members if m.is_chair]
    if len(chairs) != 1:
        problems.append(_("Choose exactly one chair."))
    elif chairs[0].role == "buyer_rep":
        problems.append(_("The buyer's representative may not chair the committee."))
    return problems


def form_committee(tender: Tender, appointments: list[Appointment], actor) -> list[CommitteeMember]:
    _officer_of(tender, actor)
    if tender.status not in (OPENED, EVALUATION):
        raise RuleViolation(_("A committee is formed after the bids are opened."))
    if committee(tender, active_only=False):
        raise RuleViolation(_("The committee is already formed; replace members instead."))
    users = [a.user.id for a in appointments]
    if len(set(users)) != len(users):
        raise RuleViolation(_("A person can sit on the committee only once."), field="members")
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
        f"formed a committee of {len(members)}",
        {"members": [a.user.id for a in appointments]},
    )
    notify(
        [a.user for a in appointments],
        "committee.appointed",
        f"评审委员会任命 / Appointed to an evaluation committee — {tender.title}",
        "请先对每个投标人声明无利益冲突，然后才能查看投标文件。 / Declare for each bidder that you have no "
        "conflict of interest before you can see the bids.",
        "/evaluations",
    )
    return members


def replace_member(member: CommitteeMember, new_user, actor) -> CommitteeMember:
    tender = member.tender
    _officer_of(tender, actor)
    if tender.status != EVALUATION:
        raise RuleViolation(_("Members can be replaced only during the evaluation."))
    if member.active:
        raise RuleViolation(_("Only a removed member is replaced."))
    size = procedures.profile(tender.method).committee_size_for(tender.budget_ceiling)
    if len(committee(tender)) >= size:
        raise RuleViolation(_("This member has already been replaced: the committee is complete."))
    if new_user.role != EVALUATOR or membership(tender, new_user) is not None:
        raise RuleViolation(_("Choose an evaluator who is not on this committee yet."), field="user")
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
        f"replaced member {member.id} with user {new_user.id}",
    )
    notify(
        [new_user],
        "committee.appointed",
        f"评审委员会任命 / Appointed to an evaluation committee — {tender.title}",
        "",
        "/evaluations",
    )
    return replacement


def declare(member: CommitteeMember, conflicts: dict[int, tuple[bool, str]], actor) -> bool:
    """Declare, for every opened bid, conflict or not. A conflict removes the member.

    Returns True when the member declared no conflict at all."""
    if actor is None or member.user_id != actor.id:
        raise RuleViolation(_("Only the member can make this declaration."))
    if not member.active or member.declared_at is not None:
        raise RuleViolation(_("This declaration has already been made."))
    bids = opened_bids(member.tender)
    if set(conflicts) != {b.id for b in bids}:
        raise RuleViolation(_("Declare for every bidder."))
    now = clock.now()
    for bid in bids:
        conflict, note = conflicts[bid.id]
        db.session.add(
            ConflictDeclaration(
                member_id=member.id,
                bid_id=bid.id,
                conflict=bool(conflict),
                note=(note or "")[:2000],
                declared_at=now,
            )
        )
    if any(c for c, _n in conflicts.values()):
        member.active = False
        member.removed_reason = (
            "declared a conflict of interest"  # is_chair stays: the replacement inherits it
        )
        audit.record(
            actor, "committee.conflict", "tender", member.tender_id, f"member {member.id} declared a conflict"
        )
        notify(
            _agency_officers(member.tender),
            "committee.conflict",
            f"评审专家申报利益冲突，需要替换 / A member declared a conflict and must be replaced — "
            f"{member.tender.title}",
            "",
            f"/award/{member.tender_id}",
        )
        return False
    member.declared_at = now
    audit.record(
        actor, "committee.declare", "tender", member.tender_id, f"member {member.id} declared no conflict"
    )
    return True


# --- qualification, scores, prices ---------------------------------------------------------------


def qualify(tender: Tender, bid: Bid, passed: bool, reason: str, actor) -> Qualification:
    _officer_of(tender, actor)
    if tender.status != EVALUATION:
        raise RuleViolation(_("Qualification review happens during the evaluation."))
    if bid.id not in {b.id for b in opened_bids(tender)}:
        raise RuleViolation(_("This bid was not opened for this tender."))
    reason = check_text(reason, "reason", _("Reason"), REASON_MAX, required=not passed)
    q = qualification_of(bid)
    if q is None:
        q = Qualification(
            bid_id=bid.id,
            tender_id=tender.id,
            passed=passed,
            reason=reason,
            decided_at=clock.now(),
            decided_by_id=actor.id,
        )
        db.session.add(q)
    else:
        if any(m.scores_submitted_at for m in committee(tender)):
            raise RuleViolation(_("Scores were submitted: the qualification can no longer change."))
        q.passed, q.reason, q.decided_at, q.decided_by_id = passed, reason, clock.now(), actor.id
    db.session.flush()
    audit.record(
        actor,
        "bid.qualify",
        "bid",
        bid.id,
        f"qualification {'passed' if passed else 'failed'}",
        {"reason": reason},
        tender_id=tender.id,
    )
    if not passed:
        notify(
            _members_of_orgs({bid.organization_id}),
            "bid.disqualified",
            f"资格审查未通过 / Your bid did not pass the qualification review — {tender.title}",
            reason,
            f"/bids/{bid.id}",
        )
    return q


def _points(value, criterion) -> Decimal:
    try:
        points = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise RuleViolation(_("Scores are numbers."), field="scores") from None
    if not points.is_finite() or points < 0 or points > criterion.weight:
        raise RuleViolation(
            _("%(name)s: a score from 0 to %(max)d.", name=criterion.name, max=criterion.weight),
            field="scores",
        )
    if points != points.quantize(Decimal("0.01")):
        raise RuleViolation(_("Scores have at most two decimal places."), field="scores")
    return points


def save_scores(
    member: CommitteeMember, scores: dict[tuple[int, int], tuple], actor, *, submit: bool
) -> None:
    """Save (and optionally submit) a member's scores: {(bid_id, criterion_id): (points, comment)}."""
    if actor is None or member.user_id != actor.id:
        raise RuleViolation(_("Only the member can score."))
    if not member_may_see_bids(member):
        raise RuleViolation(_("Declare that you have no conflict of interest before scoring."))
    if member.scores_submitted_at is not None:
        raise RuleViolation(_("Your scores are submitted and can no longer change."))
    tender = member.tender
    bids = {b.id for b in qualified_bids(tender)}
    criteria = {c.id: c for c in tender.technical_criteria}
    existing = scores_of(member)
    for (bid_id, criterion_id), (value, comment) in scores.items():
        if bid_id not in bids or criterion_id not in criteria:
            raise RuleViolation(_("Score only qualified bids on the tender's criteria."), field="scores")
        if value is None or value == "":
            continue
        points = _points(value, criteria[criterion_id])
        s = existing.get((bid_id, criterion_id))
        if s is None:
            s = Score(member_id=member.id, bid_id=bid_id, criterion_id=criterion_id, points=points)
            db.session.add(s)
            existing[(bid_id, criterion_id)] = s
        s.points, s.comment = points, (comment or "")[:2000]
    if submit:
        missing = [(b, c) for b in bids for c in criteria if (b, c) not in existing]
        if missing:
            raise RuleViolation(
                _("Score every qualified bid on every criterion before submitting."), field="scores"
            )
        member.scores_submitted_at = clock.now()
    db.session.flush()
    audit.record(
        actor,
        "committee.submit_scores" if submit else "committee.save_scores",
        "tender",
        tender.id,
        f"member {member.id} {'submitted' if submit else 'saved'} scores",
    )


def _figures(tender: Tender, invalid_ids: set[int]) -> list[scoring.BidFigures]:
    members = [m for m in committee(tender) if m.scores_submitted_at]
    figures = []
    for bid in qualified_bids(tender):
        per_criterion = {}
        for c in tender.technical_criteria:
            per_criterion[c.id] = [
                scores_of(m)[(bid.id, c.id)].points for m in members if (bid.id, c.id) in scores_of(m)
            ]
        figures.append(
            scoring.BidFigures(
                bid.id,
                bid.price,
                small_org=bid.organization.small_org_declared,
                member_points=per_criterion,
                invalid=bid.id in invalid_ids,
            )
        )
    return figures


def abnormally_low_bids(tender: Tender) -> set[int]:
    deduction, ratio = _settings()
    prices = {}
    for bid in qualified_bids(tender):
        fig = scoring.BidFigures(bid.id, bid.price, small_org=bid.organization.small_org_declared)
        prices[bid.id] = scoring.evaluated_price(
            fig, reserved_for_small=tender.reserved_for_small, small_deduction=deduction
        )
    return scoring.abnormally_low(prices, ratio)


def price_review_of(bid: Bid) -> PriceReview | None:
    return db.session.scalar(select(PriceReview).where(PriceReview.bid_id == bid.id))


def review_price(tender: Tender, bid: Bid, accepted: bool, justification: str, actor) -> PriceReview:
    """Record the committee's decision on an abnormally low price (O87 60)."""
    _officer_of(tender, actor)
    if bid.id not in abnormally_low_bids(tender):
        raise RuleViolation(_("This price is not flagged as abnormally low."))
    justification = check_text(justification, "justification", _("Justification"), REASON_MAX)
    review = price_review_of(bid) or PriceReview(
        bid_id=bid.id,
        accepted=accepted,
        justification=justification,
        decided_at=clock.now(),
        decided_by_id=actor.id,
    )
    review.accepted, review.justification = accepted, justification
    db.session.add(review)
    db.session.flush()
    audit.record(
        actor,
        "bid.price_review",
        "bid",
        bid.id,
        f"abnormally low price {'justified' if accepted else 'invalid'}",
        tender_id=tender.id,
    )
    return review


def evaluation_problems(tender: Tender) -> list[str]:
    problems = []
    members = committee(tender)
    problems += composition_problems(tender, members)
    if any(m.declared_at is None for m in members):
        problems.append(_("Every member must declare no conflict of interest."))
    unqualified = [b for b in opened_bids(tender) if qualification_of(b) is None]
    if unqualified:
        problems.append(_("Record the qualification review for every opened bid."))
    if any(m.scores_submitted_at is None for m in members):
        problems.append(_("Every member must submit their scores."))
    for bid_id in abnormally_low_bids(tender):
        if price_review_of(db.session.get(Bid, bid_id)) is None:
            problems.append(
                _("An abnormally low price needs a recorded justification or must be declared invalid.")
            )
            break
    return problems


def conclude(tender: Tender, actor) -> list[EvaluationResult]:
    """Compute and freeze the ranking. Too few qualified bids fail the tender (GPL 36)."""
    _officer_of(tender, actor)
    if tender.status != EVALUATION:
        raise RuleViolation(_("The evaluation is not in progress."))
    if concluded(tender):
        raise RuleViolation(_("The evaluation was already concluded."))
    qualified = qualified_bids(tender)
    prof = procedures.profile(tender.method)
    if len(qualified) < prof.min_qualified_bids:
        _fail(tender, actor, _n_qualified_reason(len(qualified), prof.min_qualified_bids))
        return []
    problems = evaluation_problems(tender)
    if problems:
        raise RuleViolation(problems[0])
    invalid = {b.id for b in qualified if (r := price_review_of(b)) is not None and not r.accepted}
    deduction, _ratio = _settings()
    price = tender.price_criterion
    computed = scoring.compute(
        _figures(tender, invalid),
        method=tender.evaluation_method,
        price_weight=price.weight if price else 0,
        reserved_for_small=tender.reserved_for_small,
        small_deduction=deduction,
    )
    round_no = _current_round(tender)
    rows = []
    for r in computed:
        rows.append(
            EvaluationResult(
                tender_id=tender.id,
                round=round_no,
                bid_id=r.bid_id,
                price=r.price,
                evaluated_price=r.evaluated_price,
                price_points=r.price_points,
                technical_points=r.technical_points,
                total=r.total,
                rank=r.rank,
                invalid_reason=None if r.rank else "abnormally low price without justification (O87 60)",
            )
        )
    db.session.add_all(rows)
    valid = [r for r in computed if r.rank]
    if len(valid) < prof.min_qualified_bids:
        db.session.flush()
        _fail(tender, actor, _n_qualified_reason(len(valid), prof.min_qualified_bids))
        return rows
    db.session.flush()
    audit.record(
        actor,
        "evaluation.conclude",
        "tender",
        tender.id,
        f"ranking computed (round {round_no})",
        {"ranking": [[r.bid_id, str(r.total) if r.total is not None else None, r.rank] for r in computed]},
    )
    return rows


def _latest_round(tender: Tender) -> int:
    return (
        db.session.scalar(
            select(func.max(EvaluationResult.round)).where(EvaluationResult.tender_id == tender.id)
        )
        or 0
    )


def _current_round(tender: Tender) -> int:
    """1, plus one for every upheld challenge that sent the tender back to evaluation."""
    return 1 + (
        db.session.scalar(
            select(func.count())
            .select_from(Challenge)
            .where(
                Challenge.tender_id == tender.id,
                Challenge.status == "upheld",
                Challenge.outcome == "reevaluate",
            )
        )
        or 0
    )


def _n_qualified_reason(n: int, minimum: int) -> str:
    return (
        f"合格投标人只有{n}家，少于{minimum}家（《政府采购法》第三十六条）。 / "
        f"Only {n} qualified bid(s); the "
        f"procedure requires {minimum} (GPL 36)."
    )


def _fail(tender: Tender, actor, reason: str) -> None:
    tender.status = FAILED
    tender.failure_reason = reason
    audit.record(actor, "tender.fail", "tender", tender.id, reason[:300])
    notify(
        _members_of_orgs({b.organization_id for b in opened_bids(tender)}),
        "tender.failed",
        f"项目流标 / The tender failed — {tender.title}",
        reason,
        f"/tenders/{tender.id}",
    )
    return None


def sign_off(member: CommitteeMember, actor) -> None:
    if actor is None or member.user_id != actor.id or not member.active:
        raise RuleViolation(_("Only an active member signs the report."))
    if not concluded(member.tender):
        raise RuleViolation(_("The report is signed after the ranking is computed."))
    if member.signed_off_at is not None:
        raise RuleViolation(_("You already signed the report."))
    member.signed_off_at = clock.now()
    audit.record(
        actor, "evaluation.sign_off", "tender", member.tender_id, f"member {member.id} signed the report"
    )


def retender(tender: Tender, actor) -> Tender:
    """Copy a failed tender into a new draft (重新招标)."""
    from marketplace.tenders import services as tender_services

    _officer_of(tender, actor)
    if tender.status != FAILED:
        raise RuleViolation(_("Only a failed tender is re-run."))
    data = tender_services._input_from(tender)
    data.title = f"{tender.title}（重新招标）"[:200]
    data.bid_deadline = tender_services.default_deadline(tender.method)
    draft = tender_services.create_draft(data, actor)
    draft.retender_of_id = tender.id
    audit.record(actor, "tender.retender", "tender", tender.id, f"re-run as draft {draft.id}")
    return draft


# --- award and challenges ------------------------------------------------------------------------


def _end_of_local_day(day) -> datetime:
    return start_of_local_day(day + timedelta(days=1)) - timedelta(microseconds=1)


def challenge_window(published_at: datetime) -> tuple[datetime, datetime]:
    """End of the notice period (1 WD) and the last moment to challenge (7 WD after it), both local days."""
    cal = WorkingCalendar.load()
    notice_end = cal.add_working_days(local_date(published_at), NOTICE_PERIOD_WORKING_DAYS)
    deadline = cal.add_working_days(notice_end, CHALLENGE_WINDOW_WORKING_DAYS)
    return _end_of_local_day(notice_end), _end_of_local_day(deadline)


def confirm_award(tender: Tender, bid: Bid, reason: str, actor) -> Award:
    _officer_of(tender, actor)
    if tender.status != EVALUATION:
        raise RuleViolation(_("The award follows a concluded evaluation."))
    ranking = [r for r in results(tender) if r.rank]
    if not ranking or not concluded(tender):
        raise RuleViolation(_("Compute the ranking first."))
    if any(m.signed_off_at is None for m in committee(tender)):
        raise RuleViolation(_("Every member must sign the evaluation report first."))
    chosen = next((r for r in ranking if r.bid_id == bid.id), None)
    if chosen is None:
        raise RuleViolation(_("Choose a ranked bid."), field="bid")
    reason = check_text(reason, "reason", _("Reason"), REASON_MAX, required=chosen.rank != 1)
    now = clock.now()
    notice_end, deadline = challenge_window(now)
    award = Award(
        tender_id=tender.id,
        bid_id=bid.id,
        rank=chosen.rank,
        reason=reason,
        status="notice",
        confirmed_by_id=actor.id,
        published_at=now,
        notice_ends_at=notice_end,
        challenge_deadline=deadline,
    )
    db.session.add(award)
    tender.status = AWARDED
    db.session.flush()
    audit.record(
        actor,
        "award.publish",
        "tender",
        tender.id,
        f"award notice: bid {bid.id} (rank {chosen.rank}) at {bid.price}",
        {"reason": reason},
    )
    for r in results(tender):
        b = r.bid
        won = b.id == bid.id
        detail = (
            f"您的得分 / Your score: {r.total if r.total is not None else '—'}；"
            f"排名 / rank: {r.rank or '—'}。"
            if r.rank
            else "您的投标未进入排名 / Your bid was not ranked."
        )
        notify(
            _members_of_orgs({b.organization_id}),
            "award.notice",
            (
                f"中标通知 / You won — {tender.title}"
                if won
                else f"中标结果公告 / Award notice — {tender.title}"
            ),
            detail,
            f"/tenders/{tender.id}/notice",
        )
    return award


def file_challenge(award: Award, grounds: str, documents: list[StoredFile], actor) -> Challenge:
    tender = award.tender
    org_id = getattr(actor, "organization_id", None)
    bidder_orgs = {b.organization_id for b in opened_bids(tender)}
    if org_id is None or org_id not in bidder_orgs or not bid_services.is_member(actor, org_id):
        raise RuleViolation(_("Only a bidder of this tender can file a challenge."))
    if award.status != "notice":
        raise RuleViolation(_("This award can no longer be challenged."))
    now = clock.now()
    if now > award.challenge_deadline:
        raise RuleViolation(
            _(
                "The challenge period ended on %(date)s (7 working days after the notice period).",
                date=format_date(local_date(award.challenge_deadline), "medium"),
            )
        )
    grounds = check_text(grounds, "grounds", _("Grounds"), REASON_MAX)
    ch = Challenge(
        award_id=award.id,
        tender_id=tender.id,
        organization_id=org_id,
        filed_by_id=actor.id,
        filed_at=now,
        grounds=grounds,
        status="open",
    )
    for stored in documents:
        ch.documents.append(ChallengeDocument(uploaded_at=now, **stored.columns()))
    db.session.add(ch)
    db.session.flush()
    audit.record(actor, "challenge.file", "tender", tender.id, f"challenge {ch.id} filed")
    notify(
        _agency_officers(tender),
        "challenge.filed",
        f"收到质疑 / A challenge was filed — {tender.title}",
        grounds[:500],
        f"/award/{tender.id}",
    )
    return ch


def open_challenges(tender: Tender) -> list[Challenge]:
    return list(
        db.session.scalars(
            select(Challenge).where(Challenge.tender_id == tender.id, Challenge.status == "open")
        )
    )


def answer_challenge(ch: Challenge, upheld: bool, answer: str, outcome: str | None, actor) -> Challenge:
    tender = db.session.get(Tender, ch.tender_id)
    _officer_of(tender, actor)
    if ch.status != "open":
        raise RuleViolation(_("This challenge was already answered."))
    answer = check_text(answer, "answer", _("Answer"), REASON_MAX)
    if upheld and outcome not in ("reevaluate", "fail"):
        raise RuleViolation(
            _("An upheld challenge sends the tender back to evaluation or fails it."), field="outcome"
        )
    ch.status = "upheld" if upheld else "dismissed"
    ch.answer, ch.answered_at, ch.answered_by_id = answer, clock.now(), actor.id
    ch.outcome = outcome if upheld else None
    award = db.session.get(Award, ch.award_id)
    if upheld:
        award.status = "annulled"
        award.annulled_reason = f"challenge {ch.id} upheld"
        if outcome == "fail":
            _fail(tender, actor, f"质疑成立，项目废标。 / Challenge upheld: the tender fails. {answer[:300]}")
        else:
            tender.status = EVALUATION
            for m in committee(tender):  # the committee evaluates again: new scores, new report
                m.scores_submitted_at = None
                m.signed_off_at = None
            db.session.execute(delete(Score).where(Score.member_id.in_([m.id for m in committee(tender)])))
    audit.record(
        actor,
        "challenge.answer",
        "tender",
        tender.id,
        f"challenge {ch.id} {ch.status}",
        {"outcome": ch.outcome},
    )
    notify(
        _members_of_orgs({ch.organization_id}),
        "challenge.answered",
        f"质疑答复 / Your challenge was answered — {tender.title}",
        answer[:1000],
        f"/tenders/{tender.id}/notice",
    )
    return ch


def finalize_if_due(tender: Tender, actor=None) -> bool:
    """Make the award final once the challenge window closed with no open challenge (IR 54)."""
    award = current_award(tender)
    if award is None or award.status != "notice" or clock.now() <= award.challenge_deadline:
        return False
    if open_challenges(tender):
        return False
    award.status = "final"
    award.final_at = clock.now()
    audit.record(actor, "award.final", "tender", tender.id, "award final: challenge window closed")
    return True


def award_status(tender: Tender, award: Award | None = None) -> str | None:
    """The award's status as of now: ``final`` once the challenge window closed with no open challenge,
    even before the ``finalize-awards`` job has written it (pages never write; IR 54)."""
    award = award if award is not None else current_award(tender)
    if award is None:
        return None
    if award.status == "notice" and clock.now() > award.challenge_deadline and not open_challenges(tender):
        return "final"
    return award.status


def award_is_final(tender: Tender) -> bool:
    return award_status(tender) == "final"


def can_draft_contract(tender: Tender) -> bool:
    return award_is_final(tender) and not open_challenges(tender)
