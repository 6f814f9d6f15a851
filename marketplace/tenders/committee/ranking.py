"""Concluding the evaluation: what must be done first, the frozen ranking (O87 55-57), the members'
signatures on the report, and a tender that fails for lack of qualified bids (GPL 36) and is re-run."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.records import require_open_record
from marketplace.extensions import db
from marketplace.tenders import procedures
from marketplace.tenders.bids.bidders import organization_members
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.bids.opening import opened_bids
from marketplace.tenders.committee import scoring
from marketplace.tenders.committee.members import committee, composition_problems
from marketplace.tenders.committee.models import CommitteeMember, EvaluationResult
from marketplace.tenders.committee.officers import require_officer
from marketplace.tenders.committee.review import (
    abnormally_low_bids,
    price_review_of,
    price_settings,
    qualification_of,
    qualified_bids,
)
from marketplace.tenders.committee.scores import current_round, round_scores, scores_of, visible_scores
from marketplace.tenders.drafting import create_draft, input_from
from marketplace.tenders.models import AWARDED, EVALUATION, FAILED, Tender
from marketplace.tenders.publication import default_deadline
from marketplace.tenders.records import record_text
from marketplace.tenders.schemas import TITLE_MAX

# --- the rounds and their results -----------------------------------------------------------------


def _latest_round(tender: Tender) -> int:
    return (
        db.session.scalar(
            select(func.max(EvaluationResult.round)).where(EvaluationResult.tender_id == tender.id)
        )
        or 0
    )


def _current_round(tender: Tender) -> int:
    return current_round(tender)


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


def earlier_rounds(tender: Tender) -> list[dict]:
    """Every round before the current one, oldest first, as history: its frozen ranking and every
    member's scores (superseded, never deleted: GPL 42). The report shows them read-only."""
    rounds = []
    for round_no in range(1, current_round(tender)):
        ranked = list(
            db.session.scalars(
                select(EvaluationResult)
                .where(EvaluationResult.tender_id == tender.id, EvaluationResult.round == round_no)
                .order_by(EvaluationResult.rank.is_(None), EvaluationResult.rank, EvaluationResult.bid_id)
            )
        )
        scores = round_scores(tender, round_no)
        if ranked or scores:
            rounds.append({"round": round_no, "results": ranked, "scores": scores})
    return rounds


def result_for_bid(bid: Bid) -> EvaluationResult | None:
    return next((r for r in results(bid.tender) if r.bid_id == bid.id), None)


def concluded(tender: Tender) -> bool:
    """The ranking of the current round is computed (an upheld challenge starts a new round)."""
    latest = _latest_round(tender)
    return bool(latest) and latest >= _current_round(tender)


def evaluation_open(tender: Tender) -> bool:
    """The evaluation is in progress and its current round not concluded yet."""
    return tender.status == EVALUATION and not concluded(tender)


def benchmark_price(ranking: list[EvaluationResult]) -> Decimal | None:
    """评标基准价: the lowest evaluated price among the ranked (valid) bids."""
    return min((r.evaluated_price for r in ranking if r.rank), default=None)


def report_scores(tender: Tender, viewer: CommitteeMember | None) -> dict:
    """The scores the evaluation report shows: everyone's once the round is concluded; while a new
    round is scored, only what a member may see of it (nothing for anyone else)."""
    if concluded(tender):
        return visible_scores(tender, None, officer_view=True)
    return visible_scores(tender, viewer) if viewer is not None else {}


def reruns_of(tender: Tender) -> list[Tender]:
    """The drafts that re-run a failed tender."""
    if tender.status != FAILED:
        return []
    return list(
        db.session.scalars(select(Tender).where(Tender.retender_of_id == tender.id).order_by(Tender.id))
    )


def price_deduction_percent(result: EvaluationResult) -> int:
    """The small-organization deduction applied to this result's price, in percent (0 when none): read
    from the frozen result, so a later configuration change does not rewrite the report."""
    if not result.price or result.evaluated_price is None or result.evaluated_price == result.price:
        return 0
    return int(((1 - Decimal(result.evaluated_price) / Decimal(result.price)) * 100).quantize(Decimal(1)))


def next_step(member: CommitteeMember) -> str:
    """What the member does next: removed, closed, declare, score, wait, sign or done."""
    tender = member.tender
    if not member.active:
        return "removed"
    if tender.status not in (EVALUATION, AWARDED):
        return "closed"
    if member.declared_at is None:
        return "declare"
    if member.scores_submitted_at is None:
        return "score"
    if not concluded(tender):
        return "wait"
    if member.signed_off_at is None:
        return "sign"
    return "done"


# --- concluding ------------------------------------------------------------------------------------


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


def _figures(tender: Tender, invalid_ids: set[int]) -> list[scoring.BidFigures]:
    members = [m for m in committee(tender) if m.scores_submitted_at]
    member_scores = [scores_of(m) for m in members]
    figures = []
    for bid in qualified_bids(tender):
        per_criterion = {
            c.id: [own[(bid.id, c.id)].points for own in member_scores if (bid.id, c.id) in own]
            for c in tender.technical_criteria
        }
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


def _result_row(tender: Tender, round_no: int, r: scoring.Result) -> EvaluationResult:
    return EvaluationResult(
        tender_id=tender.id,
        round=round_no,
        bid_id=r.bid_id,
        price=r.price,
        evaluated_price=r.evaluated_price,
        price_points=r.price_points,
        technical_points=r.technical_points,
        total=r.total,
        rank=r.rank,
        invalid_reason=None
        if r.rank
        else record_text(N_("abnormally low price without justification (MOF Order 87, art. 60)")),
    )


def conclude(tender: Tender, actor) -> list[EvaluationResult]:
    """Compute and freeze the ranking. Too few qualified bids fail the tender (GPL 36)."""
    require_officer(tender, actor)
    if tender.status != EVALUATION:
        raise RuleViolation(_("The evaluation is not in progress."))
    if concluded(tender):
        raise RuleViolation(_("The evaluation was already concluded."))
    qualified = qualified_bids(tender)
    minimum = procedures.profile(tender.method).min_qualified_bids
    if len(qualified) < minimum:
        fail_tender(tender, actor, _too_few_qualified(len(qualified), minimum))
        return []
    problems = evaluation_problems(tender)
    if problems:
        raise RuleViolation(problems[0])
    invalid = {b.id for b in qualified if (r := price_review_of(b)) is not None and not r.accepted}
    deduction, _ratio = price_settings()
    price = tender.price_criterion
    computed = scoring.compute(
        _figures(tender, invalid),
        method=tender.evaluation_method,
        price_weight=price.weight if price else 0,
        reserved_for_small=tender.reserved_for_small,
        small_deduction=deduction,
    )
    round_no = _current_round(tender)
    rows = [_result_row(tender, round_no, r) for r in computed]
    db.session.add_all(rows)
    valid = [r for r in computed if r.rank]
    db.session.flush()
    if len(valid) < minimum:
        fail_tender(tender, actor, _too_few_qualified(len(valid), minimum))
        return rows
    audit.record(
        actor,
        "evaluation.conclude",
        "tender",
        tender.id,
        N_("Ranking computed (round %(round)s)"),
        {"ranking": [[r.bid_id, str(r.total) if r.total is not None else None, r.rank] for r in computed]},
        params={"round": round_no},
    )
    return rows


def _too_few_qualified(n: int, minimum: int) -> str:
    return record_text(
        N_(
            "Only %(n)s qualified bid(s); the procedure requires %(minimum)s (Government Procurement "
            "Law, art. 36)."
        ),
        n=n,
        minimum=minimum,
    )


def fail_tender(tender: Tender, actor, reason: str) -> None:
    """The tender fails (流标/废标) for ``reason`` (a text in the record); its bidders are told."""
    tender.status = FAILED
    tender.failure_reason = reason
    tender.failed_at = clock.now()
    audit.record(
        actor,
        "tender.fail",
        "tender",
        tender.id,
        N_("The tender failed: %(reason)s"),
        params={"reason": reason[:300]},
    )
    notify(
        organization_members({b.organization_id for b in opened_bids(tender)}),
        "tender.failed",
        N_("The tender failed — %(title)s"),
        N_("Reason: %(reason)s"),
        f"/tenders/{tender.id}",
        params={"title": tender.title, "reason": reason},
    )


# --- after the ranking ------------------------------------------------------------------------------


def sign_off(member: CommitteeMember, actor) -> None:
    if actor is None or member.user_id != actor.id or not member.active:
        raise RuleViolation(_("Only an active member signs the report."))
    require_open_record(member.tender)
    if not concluded(member.tender):
        raise RuleViolation(_("The report is signed after the ranking is computed."))
    if member.signed_off_at is not None:
        raise RuleViolation(_("You already signed the report."))
    member.signed_off_at = clock.now()
    audit.record(
        actor,
        "evaluation.sign_off",
        "tender",
        member.tender_id,
        N_("Member %(member)s signed the report"),
        params={"member": member.id},
    )


def retender(tender: Tender, actor) -> Tender:
    """Copy a failed tender into a new draft (重新招标): the failed one is closed, and stays as it is."""
    require_officer(tender, actor, closed_ok=True)
    if tender.status != FAILED:
        raise RuleViolation(_("Only a failed tender is re-run."))
    raw = input_from(tender)
    raw["title"] = record_text(N_("%(title)s (re-tender)"), title=tender.title)[:TITLE_MAX]
    raw["bid_deadline"] = default_deadline(tender.method)
    draft = create_draft(raw, actor)
    draft.retender_of_id = tender.id
    audit.record(
        actor,
        "tender.retender",
        "tender",
        tender.id,
        N_("Re-run as draft %(draft)s"),
        params={"draft": draft.id},
    )
    return draft
