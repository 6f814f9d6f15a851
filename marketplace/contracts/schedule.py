"""The scheduled work on contracts and milestones: overdue flags, reminders, contract deadlines.

Each function is set-based: the rows concerned are chosen by conditions computed in SQL (the local
day is computed in Python and passed as a parameter), changed by one UPDATE … WHERE and notified by
one INSERT … SELECT (:mod:`marketplace.contracts.notices`); no row is read into Python and no id
list goes back to the database, so the number of statements does not depend on the number of rows.
Each returns counts and the first ``DETAIL_IDS`` ids (read by one bounded SELECT), is idempotent (a
second call changes nothing) and does not commit: ``marketplace.jobs.run_job`` commits the work
together with its run record.

Day counts are in local days (the platform's time zone, Asia/Shanghai by default).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import Date, String, case, func, literal, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from marketplace.contracts.models import ACTIVE, DRAFT, Contract, Milestone
from marketplace.contracts.notices import (
    as_text,
    date_text,
    day_count,
    json_params,
    local_day_text,
    notify_select,
    people,
)
from marketplace.contracts.signing import signing_days
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.jobruns import DETAIL_IDS
from marketplace.core.messages import N_
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.extensions import db
from marketplace.tenders.committee.models import Award

ACCEPTED = "accepted"


def _summary(model, where: list, first: ColumnElement[bool] | None = None, **counts: ColumnElement[bool]):
    """One bounded SELECT over the rows of ``model`` meeting ``where``: (how many, {name: how many of
    them meet counts[name]}, the first DETAIL_IDS ids of those meeting ``first`` (default: all))."""
    later = case((first, 0), else_=1) if first is not None else literal(0)
    order = (later, model.id) if first is not None else (model.id,)
    rows = db.session.execute(
        select(
            model.id,
            later.label("later"),
            func.count().over().label("total"),
            *(
                func.sum(case((condition, 1), else_=0)).over().label(name)
                for name, condition in counts.items()
            ),
        )
        .where(*where)
        .order_by(*order)
        .limit(DETAIL_IDS)
    ).all()
    if not rows:
        return 0, dict.fromkeys(counts, 0), []
    top = rows[0]._mapping
    return int(top["total"]), {name: int(top[name]) for name in counts}, [r.id for r in rows if not r.later]


def _link(contract_id) -> ColumnElement[str]:
    return literal("/contracts/", String) + as_text(contract_id)


def _active(contract_id) -> ColumnElement[bool]:
    return contract_id.in_(select(Contract.id).where(Contract.status == ACTIVE))


def _milestone_params(days: ColumnElement[int]) -> ColumnElement:
    """The parameters of a milestone notice: n (days), deliverable, title, due."""
    return json_params(
        n=as_text(days),
        deliverable=Milestone.deliverable,
        title=Contract.title,
        due=date_text(Milestone.due_date),
    )


def _milestone_notices(where: list, kind: str, subject: str, body: str, days, *, officers: bool) -> int:
    """Notify the organization's members (and the agency's officers) of each milestone of an active
    contract meeting ``where`` — one INSERT … SELECT, reading the milestones once (joined to the
    people of the active contracts, rather than once per kind of recipient)."""
    to = people([Contract.status == ACTIVE], officers=officers, members=True)
    rows = (
        select(to.c.user_id, _link(Contract.id).label("link"), _milestone_params(days).label("params"))
        .select_from(Milestone)
        .join(Contract, Contract.id == Milestone.contract_id)
        .join(to, to.c.contract_id == Milestone.contract_id)
        .where(*where)
    )
    return notify_select(rows, kind, subject, body)


def flag_overdue(today: date) -> dict:
    """Keep ``overdue_days`` on milestones past due and not accepted (active contracts); notify both
    parties at most once a local day per milestone. Due dates never move; accepted milestones are
    never overdue."""
    days = day_count(today, Milestone.due_date)
    past_due = [Milestone.status != ACCEPTED, Milestone.due_date < today]
    overdue = [*past_due, _active(Milestone.contract_id)]
    reflag = or_(Milestone.overdue_days.is_(None), Milestone.overdue_days != days)
    notice_due = or_(Milestone.overdue_notified_on.is_(None), Milestone.overdue_notified_on < today)
    to_update = [*overdue, or_(reflag, notice_due)]

    touched, counts, first_notified = _summary(
        Milestone, to_update, notice_due, flagged=reflag, notified=notice_due
    )
    notifications = 0
    if touched:
        notifications = _milestone_notices(
            [*past_due, notice_due],
            "milestone.overdue",
            N_("Milestone %(n)s day(s) overdue — %(deliverable)s"),
            N_(
                "The milestone “%(deliverable)s” of the contract “%(title)s” was due on %(due)s and is "
                "%(n)s day(s) overdue."
            ),
            days,
            officers=True,
        )
        # One write per milestone: the day count and, once a day, the notice. (A milestone that
        # became due for a notice between the INSERT above and this UPDATE, by a change committed
        # in between, is marked without one: it has its notice the next local day.)
        db.session.execute(
            update(Milestone)
            .where(*to_update)
            .values(
                overdue_days=days,
                overdue_notified_on=case(
                    (notice_due, literal(today, Date)), else_=Milestone.overdue_notified_on
                ),
            )
            .execution_options(synchronize_session=False)
        )
    # Met, or due again after a variation moved the date: no longer overdue.
    cleared = db.session.execute(
        update(Milestone)
        .where(
            Milestone.overdue_days.is_not(None),
            or_(Milestone.status == ACCEPTED, Milestone.due_date >= today),
        )
        .values(overdue_days=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    return {
        "changed": counts["flagged"] + cleared + counts["notified"],
        "flagged": counts["flagged"],
        "cleared": cleared,
        "notified_milestones": first_notified,
        "notified_milestones_count": counts["notified"],
        "notifications": notifications,
    }


def send_reminders(today: date, days: int) -> dict:
    """Remind the organization of milestones due within ``days`` local days, once per due date."""
    due_soon = [
        Milestone.status != ACCEPTED,
        Milestone.due_date >= today,
        Milestone.due_date <= today + timedelta(days=days),
        or_(Milestone.reminded_for_due.is_(None), Milestone.reminded_for_due != Milestone.due_date),
    ]
    due = [*due_soon, _active(Milestone.contract_id)]
    reminded, _counts, first = _summary(Milestone, due)
    notifications = 0
    if reminded:
        notifications = _milestone_notices(
            due_soon,
            "milestone.reminder",
            N_("Milestone due in %(n)s day(s) — %(deliverable)s"),
            N_("The milestone “%(deliverable)s” of the contract “%(title)s” is due on %(due)s."),
            day_count(Milestone.due_date, today),
            officers=False,
        )
        db.session.execute(
            update(Milestone)
            .where(*due)
            .values(reminded_for_due=Milestone.due_date)
            .execution_options(synchronize_session=False)
        )
    return {
        "changed": reminded,
        "reminded_milestones": first,
        "reminded_milestones_count": reminded,
        "notifications": notifications,
    }


def signing_deadline_passed_before(today: date, calendar: WorkingCalendar) -> datetime:
    """Awards published before this moment are past their signing deadline on local day ``today``
    (``signing.unsigned_overdue``, GPL 46): their deadline (``signing.deadline_after``: 30 days after
    the notice's local day, moved to a working day) is before ``today``. That deadline only moves
    later with the notice's day, so the latest such day is found by stepping back over the
    non-working days."""
    n = signing_days()
    day = today - timedelta(days=n + 1)
    while calendar.add_calendar_days(day, n) >= today:
        day -= timedelta(days=1)
    return start_of_local_day(day + timedelta(days=1))


def _contract_notices(
    source, where: list, kind: str, subject: str, body: str, params, *, members: bool
) -> int:
    """Notify the agency's officers (and the organization's members) of each contract meeting
    ``where`` (``source``: the contracts, joined to what ``params`` reads) — one INSERT … SELECT."""
    to = people(where, officers=True, members=members)  # only the contracts meeting ``where``
    rows = (
        select(to.c.user_id, _link(Contract.id).label("link"), params.label("params"))
        .select_from(source)
        .join(to, to.c.contract_id == Contract.id)
    )
    return notify_select(rows, kind, subject, body)


def _mark_contracts(where: list, **values) -> None:
    db.session.execute(
        update(Contract).where(*where).values(**values).execution_options(synchronize_session=False)
    )


def contract_deadlines(now: datetime, today: date | None = None) -> dict:
    """Flag contracts still unsigned past their signing deadline (``signing.unsigned_overdue``, GPL 46:
    30 days after the award notice, in local days) and tell the agency; tell both parties once when
    an active contract's term ends within EXPIRY_NOTICE_DAYS."""
    today = today or local_date(now)
    cutoff = signing_deadline_passed_before(today, WorkingCalendar.load())
    unsigned = [
        Contract.status == DRAFT,
        Contract.unsigned_flagged_at.is_(None),
        Contract.award_id.in_(select(Award.id).where(Award.published_at < cutoff).correlate(None)),
    ]
    expiring = [
        Contract.status == ACTIVE,
        Contract.expiry_notified_at.is_(None),
        Contract.term_end <= today + timedelta(days=int(current_app.config["EXPIRY_NOTICE_DAYS"])),
    ]
    flagged, _counts, first_flagged = _summary(Contract, unsigned)
    announced, _counts, first_announced = _summary(Contract, expiring)
    notifications = 0
    if flagged:
        notifications += _contract_notices(
            Contract.__table__.join(Award.__table__, Award.id == Contract.award_id),
            unsigned,
            "contract.unsigned",
            N_("Contract not signed within %(days)s days of the award — %(title)s"),
            N_("The award was published on %(published)s and the contract is still unsigned (GPL 46)."),
            json_params(
                days=literal(str(signing_days()), String),
                title=Contract.title,
                published=local_day_text(Award.published_at),
            ),
            members=False,
        )
        _mark_contracts(unsigned, unsigned_flagged_at=now)
    if announced:
        notifications += _contract_notices(
            Contract.__table__,
            expiring,
            "contract.expiring",
            N_("Contract ends on %(ends)s — %(title)s"),
            N_("Plan the final acceptance and payment, or a renewal under the rules."),
            json_params(ends=date_text(Contract.term_end), title=Contract.title),
            members=True,
        )
        _mark_contracts(expiring, expiry_notified_at=now)
    return {
        "changed": flagged + announced,
        "unsigned_flagged": first_flagged,
        "unsigned_flagged_count": flagged,
        "expiry_notified": first_announced,
        "expiry_notified_count": announced,
        "notifications": notifications,
    }
