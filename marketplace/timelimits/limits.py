"""The statutory time limits of a tender, from the opening of the bids to the contract signature
(docs/rules.md, "Statutory time limits").

Nothing is stored: each limit is derived from the timestamps of the event it is counted from and of
the event that meets it. Working days come from ``core.calendar`` (the start day is excluded; a
deadline counted in calendar days that lands on a weekend or holiday moves to the next working day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import select

from marketplace import clock
from marketplace.contracts.queries import contract_of
from marketplace.contracts.signing import deadline_after
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.tenders.bids.models import BidOpening
from marketplace.tenders.committee.awards import current_award
from marketplace.tenders.committee.challenges import challenges_of
from marketplace.tenders.committee.members import committee
from marketplace.tenders.committee.models import AwardPassOver, Challenge
from marketplace.tenders.committee.ranking import concluded
from marketplace.tenders.models import CANCELLED, FAILED, Tender

REPORT = "committee_report"  # O87 68: the committee's report to the buyer, after the opening
DECISION = "award_decision"  # O87 68: the buyer's decision, after the report
NOTICE = "award_notice"  # O87 69: the award notice, after the decision
CHALLENGE = "challenge_answer"  # GPL 53: the answer to a challenge, after it was filed
SIGNATURE = "contract_signature"  # GPL 46: the contract signed, after the award notice
CODES = (REPORT, DECISION, NOTICE, CHALLENGE, SIGNATURE)

# The config key of each limit's number and the rule it comes from (docs/rules.md).
SETTINGS = {
    REPORT: ("COMMITTEE_REPORT_WORKING_DAYS", "O87 68"),
    DECISION: ("AWARD_DECISION_WORKING_DAYS", "O87 68"),
    NOTICE: ("AWARD_NOTICE_WORKING_DAYS", "O87 69"),
    CHALLENGE: ("CHALLENGE_ANSWER_WORKING_DAYS", "GPL 53"),
    SIGNATURE: ("UNSIGNED_CONTRACT_DAYS", "GPL 46"),
}

MET = "met"  # the event happened on or before the due day
LATE = "late"  # the event happened after the due day
OPEN = "open"  # not yet, and the due day has not passed
OVERDUE = "overdue"  # not yet, and the due day has passed
STATES = (MET, LATE, OPEN, OVERDUE)

NOT_DRAFTED = "not_drafted"  # the signature limit of an award with no contract drafted


@dataclass(frozen=True)
class TimeLimit:
    code: str
    counted_from: datetime  # the event the limit is counted from
    due: date  # the last local day
    done_at: datetime | None  # the event that meets it
    state: str
    subject_id: int = 0  # the challenge, for a challenge answer
    detail: str = ""  # NOT_DRAFTED: the award was never drafted into a contract

    @property
    def source(self) -> str:
        return SETTINGS[self.code][1]

    @property
    def pending(self) -> bool:
        return self.state in (OPEN, OVERDUE)

    @property
    def key(self) -> str:
        """The limit's identity for the reminders: code, subject and due day."""
        return f"{self.code}:{self.subject_id}:{self.due.isoformat()}"


def limit_days(code: str) -> int:
    return int(current_app.config[SETTINGS[code][0]])


def _state(due: date, done_at: datetime | None, today: date) -> str:
    if done_at is not None:
        return MET if local_date(done_at) <= due else LATE
    return OVERDUE if today > due else OPEN


class _Counter:
    """Builds the limits of one tender against one calendar and one "today"."""

    def __init__(self, today: date):
        self.today, self.calendar = today, WorkingCalendar.load()

    def working(self, code: str, start: datetime, done_at: datetime | None, subject_id: int = 0) -> TimeLimit:
        due = self.calendar.add_working_days(local_date(start), limit_days(code))
        return TimeLimit(code, start, due, done_at, _state(due, done_at, self.today), subject_id)

    def signature(self, published_at: datetime, done_at: datetime | None, drafted: bool) -> TimeLimit:
        due = deadline_after(published_at, self.calendar)
        state = _state(due, done_at, self.today)
        detail = "" if drafted else NOT_DRAFTED
        return TimeLimit(SIGNATURE, published_at, due, done_at, state, detail=detail)


def report_counted_from(tender: Tender) -> datetime | None:
    """The opening of the bids; after an upheld challenge sent the tender back to the committee, the
    answer to that challenge (the new round's report is counted from it)."""
    opening = db.session.scalar(select(BidOpening).where(BidOpening.tender_id == tender.id))
    if opening is None or opening.failed:
        return None
    reevaluated = db.session.scalar(
        select(Challenge.answered_at)
        .where(
            Challenge.tender_id == tender.id,
            Challenge.status == "upheld",
            Challenge.outcome == "reevaluate",
        )
        .order_by(Challenge.answered_at.desc())
        .limit(1)
    )
    return reevaluated or opening.opened_at


def _winner_failed_to_sign_at(tender: Tender) -> datetime | None:
    """When the latest winner who failed to sign was passed over: the decision for the next candidate
    in rank order is counted from then (O87 68)."""
    return db.session.scalar(
        select(AwardPassOver.recorded_at)
        .where(AwardPassOver.tender_id == tender.id, AwardPassOver.ground == "failed_to_sign")
        .order_by(AwardPassOver.recorded_at.desc())
        .limit(1)
    )


def report_delivered_at(tender: Tender) -> datetime | None:
    """The report reaches the buyer when the ranking is computed and every active member signed it."""
    members = committee(tender)
    if not members or not concluded(tender) or any(m.signed_off_at is None for m in members):
        return None
    return max(m.signed_off_at for m in members)


def time_limits(tender: Tender, today: date | None = None) -> list[TimeLimit]:
    """Every time limit of ``tender`` that has started, in the order of the procedure, each with its
    due day and state as of ``today`` (the local day of ``clock.now()`` by default). A failed or
    cancelled tender keeps only the limits already met (or met late)."""
    start = report_counted_from(tender)
    if start is None:
        return []
    count = _Counter(today or local_date(clock.now()))
    report = report_delivered_at(tender)
    award = current_award(tender)
    limits = [count.working(REPORT, start, report)]
    if report is not None:
        decision_from = max(report, _winner_failed_to_sign_at(tender) or report)
        limits.append(count.working(DECISION, decision_from, award.published_at if award else None))
    if award is not None:
        # confirm_award decides and publishes the notice in one step (tenders.committee.awards).
        limits.append(count.working(NOTICE, award.published_at, award.published_at))
    for ch in challenges_of(tender):
        limits.append(count.working(CHALLENGE, ch.filed_at, ch.answered_at, subject_id=ch.id))
    if award is not None:
        contract = contract_of(tender)
        signed = contract.activated_at if contract is not None else None
        limits.append(count.signature(award.published_at, signed, drafted=contract is not None))
    if tender.status in (FAILED, CANCELLED):
        limits = [t for t in limits if not t.pending]
    return limits
