"""The award (O87 69; GPL 52-53; IR 53-54): confirming it publishes the notice; it becomes final once
the challenge window closed with no open challenge."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core import rules
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.schemas import load
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.extensions import db
from marketplace.tenders.bids.bidders import organization_members
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.committee import succession
from marketplace.tenders.committee.members import committee
from marketplace.tenders.committee.models import Award, AwardPassOver, Challenge, EvaluationResult
from marketplace.tenders.committee.officers import require_officer
from marketplace.tenders.committee.ranking import concluded, results
from marketplace.tenders.committee.schemas import AwardInputSchema, PassOverInputSchema
from marketplace.tenders.models import AWARDED, EVALUATION, Tender
from marketplace.tenders.records import record_text
from marketplace.tenders.signals import award_annulling


def _end_of_local_day(day) -> datetime:
    return start_of_local_day(day + timedelta(days=1)) - timedelta(microseconds=1)


def challenge_window(published_at: datetime) -> tuple[datetime, datetime]:
    """End of the notice period (1 WD, O87 69) and the last moment to challenge (7 WD after it, GPL 52;
    IR 53), both local days; both numbers are settings (core.rules)."""
    cal = WorkingCalendar.load()
    notice_end = cal.add_working_days(
        local_date(published_at), rules.days("AWARD_NOTICE_PERIOD_WORKING_DAYS")
    )
    deadline = cal.add_working_days(notice_end, rules.days("CHALLENGE_WINDOW_WORKING_DAYS"))
    return _end_of_local_day(notice_end), _end_of_local_day(deadline)


# --- reads -----------------------------------------------------------------------------------------


def current_award(tender: Tender) -> Award | None:
    return db.session.scalar(
        select(Award)
        .where(Award.tender_id == tender.id, Award.status != "annulled")
        .order_by(Award.id.desc())
    )


def latest_award(tender: Tender) -> Award | None:
    """The tender's most recent award (annulled ones included): the notice page exists once there is one."""
    return db.session.scalar(select(Award).where(Award.tender_id == tender.id).order_by(Award.id.desc()))


def committee_names_public(tender: Tender) -> bool:
    return current_award(tender) is not None


def open_challenges(tender: Tender) -> list[Challenge]:
    return list(
        db.session.scalars(
            select(Challenge).where(Challenge.tender_id == tender.id, Challenge.status == "open")
        )
    )


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


def awardable(tender: Tender) -> bool:
    """The ranking of the evaluation in progress is computed: the agency may confirm the award."""
    return tender.status == EVALUATION and concluded(tender)


def challengeable(tender: Tender, award: Award) -> bool:
    """The award is in its notice period or challenge window (not final, not annulled)."""
    return award_status(tender, award) == "notice"


def pass_over_possible(tender: Tender) -> bool:
    """The next candidate can be passed over: between the ranking and the award, or after a final
    award whose winner did not sign (the contracts package refuses once a contract is drafted)."""
    if succession.next_candidate(tender) is None:
        return False
    return awardable(tender) or award_status(tender) == "final"


def can_draft_contract(tender: Tender) -> bool:
    return award_is_final(tender) and not open_challenges(tender)


# --- verbs -----------------------------------------------------------------------------------------


def _chosen_result(tender: Tender, bid: Bid) -> EvaluationResult:
    """The ranked result of ``bid`` once the ranking is computed and the report signed."""
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
    return chosen


def confirm_award(tender: Tender, bid: Bid, reason: str, actor) -> Award:
    require_officer(tender, actor)
    chosen = _chosen_result(tender, bid)
    note = load(AwardInputSchema(), {"reason": reason})["reason"]
    succession.require_next_candidate(tender, bid, chosen.rank)
    # Why not rank 1, from the recorded pass-overs (a written reason cannot pick a lower rank).
    reason = "; ".join(part for part in (succession.succession_note(tender), note) if part)
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
        N_("Award notice: bid %(bid)s (rank %(rank)s) at %(price)s"),
        {"reason": reason},
        params={"bid": bid.public_id, "rank": chosen.rank, "price": str(bid.price)},
    )
    for r in results(tender):
        _tell_bidder(tender, r, won=r.bid_id == bid.id)
    return award


def _tell_bidder(tender: Tender, result: EvaluationResult, *, won: bool) -> None:
    if result.rank:
        body = N_("Your score: %(total)s; rank: %(rank)s.")
    else:
        body = N_("Your bid was not ranked.")
    notify(
        organization_members({result.bid.organization_id}),
        "award.notice",
        N_("You won — %(title)s") if won else N_("Award notice — %(title)s"),
        body,
        f"/tenders/{tender.id}/notice",
        params={
            "title": tender.title,
            "total": str(result.total) if result.total is not None else "—",
            "rank": str(result.rank or "—"),
        },
    )


def finalize_if_due(tender: Tender, actor=None) -> bool:
    """Make the award final once the challenge window closed with no open challenge (IR 54)."""
    award = current_award(tender)
    if award is None or award.status != "notice" or clock.now() <= award.challenge_deadline:
        return False
    if open_challenges(tender):
        return False
    award.status = "final"
    award.final_at = clock.now()
    audit.record(actor, "award.final", "tender", tender.id, N_("Award final: the challenge window closed"))
    return True


def pass_over(tender: Tender, bid: Bid, raw: Mapping, actor) -> AwardPassOver:
    """Record that the next candidate withdrew or was disqualified (before the award), or that the
    winner of the final award failed to sign (the award is annulled and the next candidate may be
    awarded); ``raw`` is a ``PassOverInputSchema`` (ground, reason)."""
    require_officer(tender, actor)
    data = load(PassOverInputSchema(), raw)
    candidate = succession.next_candidate(tender)
    if candidate is None or candidate.bid_id != bid.id:
        raise RuleViolation(_("Only the next candidate in rank order can be passed over."), field="ground")
    if data["ground"] == succession.FAILED_TO_SIGN:
        award = current_award(tender)
        if award is None or award.bid_id != bid.id or award_status(tender, award) != "final":
            raise RuleViolation(
                _("A failure to sign is recorded against the winner of a final award."), field="ground"
            )
        award_annulling.send(tender, award=award)
        award.status = "annulled"
        award.annulled_reason = record_text(
            N_("the winner failed to sign: %(reason)s"), reason=data["reason"]
        )
        tender.status = EVALUATION
    elif tender.status != EVALUATION or not concluded(tender):
        raise RuleViolation(
            _("A candidate is passed over between the ranking and the award notice."), field="ground"
        )
    passed = AwardPassOver(
        tender_id=tender.id,
        bid_id=bid.id,
        rank=candidate.rank,
        ground=data["ground"],
        reason=data["reason"],
        recorded_at=clock.now(),
        recorded_by_id=actor.id,
    )
    db.session.add(passed)
    db.session.flush()
    audit.record(
        actor,
        "award.pass_over",
        "tender",
        tender.id,
        N_("Rank %(rank)s passed over (%(ground)s)"),
        {"bid_id": bid.id, "ground": data["ground"], "reason": data["reason"]},
        params={"rank": candidate.rank, "ground": data["ground"]},
    )
    return passed
