"""Watching the time limits: the officers' dashboard flags and the reminders sent once before a limit
passes (the ``time-limit-reminders`` job; each reminder is its own transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select

from marketplace import clock
from marketplace.auth.models import User
from marketplace.contracts.models import DRAFT, Contract
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.extensions import db
from marketplace.tenders.models import AWARDED, EVALUATION, OPENED, Tender
from marketplace.timelimits.limits import (
    CHALLENGE,
    DECISION,
    LATE,
    NOTICE,
    OPEN,
    OVERDUE,
    REPORT,
    SIGNATURE,
    TimeLimit,
    time_limits,
)
from marketplace.timelimits.models import TimeLimitReminder

_SUBJECTS = {
    REPORT: N_("The committee's report is due by %(due)s — %(title)s"),
    DECISION: N_("The award decision is due by %(due)s — %(title)s"),
    NOTICE: N_("The award notice is due by %(due)s — %(title)s"),
    CHALLENGE: N_("The answer to challenge %(challenge)s is due by %(due)s — %(title)s"),
    SIGNATURE: N_("The contract is to be signed by %(due)s — %(title)s"),
}
_BODY = N_("This statutory time limit (%(source)s) passes at the end of %(due)s.")


@dataclass(frozen=True)
class FlaggedLimit:
    tender: Tender
    limit: TimeLimit


def reminder_days() -> int:
    return int(current_app.config["TIME_LIMIT_REMINDER_WORKING_DAYS"])


def _tenders_in_progress(
    agency_id: int | None = None, after: int | None = None, limit: int | None = None
) -> list[Tender]:
    """Tenders between the opening and the contract signature: opened, in evaluation, or awarded
    with no contract signed yet (of one agency; or ``limit`` of them with an id after ``after``)."""
    signed = select(Contract.tender_id).where(Contract.status != DRAFT)
    stmt = (
        select(Tender)
        .where(Tender.status.in_((OPENED, EVALUATION, AWARDED)), Tender.id.not_in(signed))
        .order_by(Tender.id)
        .limit(limit)
    )
    if agency_id is not None:
        stmt = stmt.where(Tender.agency_id == agency_id)
    if after is not None:
        stmt = stmt.where(Tender.id > after)
    return list(db.session.scalars(stmt))


def due_soon(limit: TimeLimit, today: date, calendar: WorkingCalendar) -> bool:
    """Open, and at most TIME_LIMIT_REMINDER_WORKING_DAYS working days before its due day."""
    return limit.state == OPEN and calendar.working_days_between(today, limit.due) <= reminder_days()


def flagged(agency_id: int, today: date) -> list[FlaggedLimit]:
    """The officer's dashboard: the limits of the agency's tenders in progress that passed and are not
    met, then those due soon, then those met late (the procurement record shows the breach)."""
    calendar = WorkingCalendar.load()
    groups: dict[str, list[FlaggedLimit]] = {OVERDUE: [], OPEN: [], LATE: []}
    for tender in _tenders_in_progress(agency_id):
        for limit in time_limits(tender, today):
            if limit.state in (OVERDUE, LATE) or due_soon(limit, today, calendar):
                groups[limit.state].append(FlaggedLimit(tender, limit))
    return [f for group in groups.values() for f in sorted(group, key=lambda f: f.limit.due)]


def _reminder_key(tender_id: int, limit: TimeLimit) -> tuple:
    return (tender_id, limit.code, limit.subject_id, limit.due)


def _reminded_among(tenders: list[Tender]) -> set[tuple]:
    """The reminders already sent for these tenders (a batch of the job's: at most its limit)."""
    if not tenders:
        return set()
    rows = db.session.execute(
        select(
            TimeLimitReminder.tender_id,
            TimeLimitReminder.code,
            TimeLimitReminder.subject_id,
            TimeLimitReminder.due_on,
        ).where(TimeLimitReminder.tender_id.in_([t.id for t in tenders]))
    )
    return {tuple(row) for row in rows}


def _reminded(tender_id: int, limit: TimeLimit) -> bool:
    return (
        db.session.scalar(
            select(TimeLimitReminder.id).where(
                TimeLimitReminder.tender_id == tender_id,
                TimeLimitReminder.code == limit.code,
                TimeLimitReminder.subject_id == limit.subject_id,
                TimeLimitReminder.due_on == limit.due,
            )
        )
        is not None
    )


def due_reminders(today: date, after: int | None = None, limit: int = 500) -> tuple[list[str], int | None]:
    """The job's due items, a batch at a time: ``"<tender id>:<limit key>"`` of every limit due soon
    and not reminded among the next ``limit`` tenders in progress with an id after ``after``; and
    the ``after`` of the next batch (None when these were the last tenders)."""
    calendar = WorkingCalendar.load()
    tenders = _tenders_in_progress(after=after, limit=limit)
    reminded = _reminded_among(tenders)
    keys = [
        f"{tender.id}:{time_limit.key}"
        for tender in tenders
        for time_limit in time_limits(tender, today)
        if due_soon(time_limit, today, calendar) and _reminder_key(tender.id, time_limit) not in reminded
    ]
    return keys, (tenders[-1].id if len(tenders) == limit else None)


def _officers(tender: Tender) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.agency_id == tender.agency_id, User.role == "officer", User.active.is_(True))
            .order_by(User.id)
        )
    )


def send_reminder(today: date, key: str) -> bool:
    """Remind the agency's officers of one limit, once: False when it was met, passed or already
    reminded since the job listed it."""
    tender_id, _sep, limit_key = key.partition(":")
    tender = db.session.get(Tender, int(tender_id))
    if tender is None:
        return False
    calendar = WorkingCalendar.load()
    limit = next((t for t in time_limits(tender, today) if t.key == limit_key), None)
    if limit is None or not due_soon(limit, today, calendar) or _reminded(tender.id, limit):
        return False
    db.session.add(
        TimeLimitReminder(
            tender_id=tender.id,
            code=limit.code,
            subject_id=limit.subject_id,
            due_on=limit.due,
            sent_at=clock.now(),
        )
    )
    notify(
        _officers(tender),
        f"time_limit.{limit.code}",
        _SUBJECTS[limit.code],
        _BODY,
        f"/committee/{tender.id}",
        params={
            "due": limit.due.isoformat(),
            "title": tender.title,
            "challenge": str(limit.subject_id),
            "source": limit.source,
        },
    )
    return True
