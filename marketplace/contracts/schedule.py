"""The scheduled work on contracts and milestones: overdue flags, reminders, contract deadlines.

Each function is set-based: the rows concerned are chosen by conditions computed in SQL (the local
day is computed in Python and passed as a parameter) and changed by one UPDATE … WHERE; each person
concerned gets ONE notification per run, a digest naming the contracts and milestones, written by one
INSERT … SELECT … GROUP BY from the same rows (:func:`marketplace.contracts.notices.update_and_notify`:
on PostgreSQL one statement, the UPDATE's RETURNING feeding the INSERT). No row is read into Python
and no id list goes back to the database, so the number of statements does not depend on the number
of rows. Each returns counts and the first ``DETAIL_IDS`` ids, is idempotent (a second call changes
nothing) and does not commit: ``marketplace.jobs.run_job`` commits the work together with its run
record.

Day counts are in local days (the platform's time zone, Asia/Shanghai by default).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import Select, String, and_, case, func, literal, not_, or_, select
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from marketplace.contracts.models import ACTIVE, DRAFT, Contract, Milestone
from marketplace.contracts.notices import (
    Digest,
    PerContract,
    date_text,
    day_count,
    in_order,
    local_day_text,
    text_list,
    update_and_notify,
)
from marketplace.contracts.signing import signing_days
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.messages import N_
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.tenders.committee.models import Award

ACCEPTED = "accepted"

OVERDUE_DIGEST = Digest(
    "milestone.overdue",
    N_("%(items)s milestone(s) overdue in %(contracts)s contract(s)"),
    N_("The earliest was due on %(earliest)s.\n%(list)s"),
    N_(
        "The earliest was due on %(earliest)s.\n%(list)s\n… and %(more)s more contract(s): see the dashboard."
    ),
    officers=True,
    members=True,
)


def _text(value: str) -> ColumnElement[str]:
    return literal(value, String)


# What the milestone jobs return from the rows they change (the contract joined to the UPDATE).
_MILESTONE_COLUMNS = {
    "id": Milestone.id,
    "contract_id": Milestone.contract_id,
    "due_date": Milestone.due_date,
    "deliverable": Milestone.deliverable,
    "agency_id": Contract.agency_id,
    "organization_id": Contract.organization_id,
}
_OF_CONTRACT = Contract.id == Milestone.contract_id


def _milestone_items(milestones: FromClause) -> Select:
    """One row per contract of ``milestones`` (_MILESTONE_COLUMNS): its parties, its earliest due date
    and how many."""
    return select(
        milestones.c.contract_id,
        milestones.c.agency_id,
        milestones.c.organization_id,
        func.min(milestones.c.due_date).label("first"),
        func.count().label("weight"),
    ).group_by(milestones.c.contract_id, milestones.c.agency_id, milestones.c.organization_id)


def _milestone_lines(milestones: FromClause) -> Select:
    """A line per contract naming every one of its ``milestones`` with its due date, earliest first:
    “Title (HT-1): Report (2026-10-20); Visit (2026-10-25)”."""
    rows = in_order(milestones, "contract_id", "due_date", "id")
    named = rows.c.deliverable + _text(" (") + date_text(rows.c.due_date) + _text(")")
    names = text_list(named, "; ", rows.c.due_date, rows.c.id)
    return (
        select(
            Contract.id.label("contract_id"),
            (Contract.title + _text(" (") + Contract.reference + _text("): ") + names).label("line"),
        )
        .join_from(rows, Contract, Contract.id == rows.c.contract_id)
        .group_by(Contract.id)
    )


MILESTONES = PerContract(_milestone_items, _milestone_lines)


def flag_overdue(today: date) -> dict:
    """Keep ``overdue_days`` on milestones past due and not accepted (active contracts), and clear it
    from those met or due again; tell both parties once a local day, one digest per person naming every
    milestone whose flag was set or refreshed. Due dates never move; accepted milestones are never
    overdue."""
    days = day_count(today, Milestone.due_date)
    past_due = and_(Milestone.status != ACCEPTED, Milestone.due_date < today)
    reflag = or_(Milestone.overdue_days.is_(None), Milestone.overdue_days != days)
    notice_due = or_(Milestone.overdue_notified_on.is_(None), Milestone.overdue_notified_on < today)
    flag = and_(past_due, Contract.status == ACTIVE, or_(reflag, notice_due))
    # Met, or due again after a variation moved the date: no longer overdue.
    clear = and_(Milestone.overdue_days.is_not(None), not_(past_due))
    done = update_and_notify(
        Milestone,
        [_OF_CONTRACT, or_(flag, clear)],  # one pass over the milestones does both
        {
            "overdue_days": case((past_due, days), else_=None),
            "overdue_notified_on": case((past_due, literal(today)), else_=Milestone.overdue_notified_on),
        },
        _MILESTONE_COLUMNS,
        MILESTONES,
        OVERDUE_DIGEST,
        listed=past_due,
    )
    return {
        "changed": done.rows,
        "flagged": done.listed,
        "cleared": done.rows - done.listed,
        "flagged_milestones": done.first,
        "notifications": done.notifications,
    }


def send_reminders(today: date, days: int) -> dict:
    """Remind the organization of milestones due within ``days`` local days, once per due date: one
    digest per member naming them."""
    due = [
        Milestone.status != ACCEPTED,
        Milestone.due_date >= today,
        Milestone.due_date <= today + timedelta(days=days),
        or_(Milestone.reminded_for_due.is_(None), Milestone.reminded_for_due != Milestone.due_date),
        _OF_CONTRACT,
        Contract.status == ACTIVE,
    ]
    done = update_and_notify(
        Milestone,
        due,
        {"reminded_for_due": Milestone.due_date},
        _MILESTONE_COLUMNS,
        MILESTONES,
        Digest(
            "milestone.reminder",
            N_("%(items)s milestone(s) due within %(days)s day(s) in %(contracts)s contract(s)"),
            N_("The first is due on %(earliest)s.\n%(list)s"),
            N_(
                "The first is due on %(earliest)s.\n%(list)s\n"
                "… and %(more)s more contract(s): see the dashboard."
            ),
            officers=False,
            members=True,
            extra={"days": days},
        ),
    )
    return {
        "changed": done.rows,
        "reminded_milestones": done.first,
        "reminded_milestones_count": done.rows,
        "notifications": done.notifications,
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


def _contracts(first) -> PerContract:
    """The changed contracts (``changed``: their ids, as contract_id), each with its parties, ``first``
    (YYYY-MM-DD text over Contract and Award) as its date and a line “Title (HT-1): 2026-12-31”."""

    def rows(changed: FromClause, *columns) -> Select:
        return (
            select(Contract.id.label("contract_id"), *columns)
            .select_from(changed)
            .join(Contract, Contract.id == changed.c.contract_id)
            .outerjoin(Award, Award.id == Contract.award_id)
        )

    def items(changed: FromClause) -> Select:
        return rows(
            changed,
            Contract.agency_id,
            Contract.organization_id,
            first.label("first"),
            literal(1).label("weight"),
        )

    def lines(changed: FromClause) -> Select:
        return rows(
            changed, (Contract.title + _text(" (") + Contract.reference + _text("): ") + first).label("line")
        )

    return PerContract(items, lines)


def contract_deadlines(now: datetime, today: date | None = None) -> dict:
    """Flag contracts still unsigned past their signing deadline (``signing.unsigned_overdue``, GPL 46:
    30 days after the award notice, in local days) and tell the agency; tell both parties once when
    an active contract's term ends within EXPIRY_NOTICE_DAYS. One digest per person and kind."""
    today = today or local_date(now)
    cutoff = signing_deadline_passed_before(today, WorkingCalendar.load())
    notice_days = int(current_app.config["EXPIRY_NOTICE_DAYS"])
    unsigned = update_and_notify(
        Contract,
        [
            Contract.status == DRAFT,
            Contract.unsigned_flagged_at.is_(None),
            Contract.award_id.in_(select(Award.id).where(Award.published_at < cutoff).correlate(None)),
        ],
        {"unsigned_flagged_at": now},
        {"id": Contract.id, "contract_id": Contract.id},
        _contracts(local_day_text(Award.published_at)),
        Digest(
            "contract.unsigned",
            N_("%(items)s contract(s) not signed within %(days)s days of the award"),
            N_(
                "Still unsigned (Government Procurement Law, art. 46), with the day of the award "
                "notice:\n%(list)s"
            ),
            N_(
                "Still unsigned (Government Procurement Law, art. 46), with the day of the award "
                "notice:\n%(list)s\n… and %(more)s more."
            ),
            officers=True,
            members=False,
            link="/contracts",
            extra={"days": signing_days()},
        ),
    )
    expiring = update_and_notify(
        Contract,
        [
            Contract.status == ACTIVE,
            Contract.expiry_notified_at.is_(None),
            Contract.term_end <= today + timedelta(days=notice_days),
        ],
        {"expiry_notified_at": now},
        {"id": Contract.id, "contract_id": Contract.id},
        _contracts(date_text(Contract.term_end)),
        Digest(
            "contract.expiring",
            N_("%(items)s contract(s) ending within %(days)s days, the first on %(earliest)s"),
            N_("Plan the final acceptance and payment, or a renewal under the rules.\n%(list)s"),
            N_(
                "Plan the final acceptance and payment, or a renewal under the rules.\n%(list)s\n"
                "… and %(more)s more."
            ),
            officers=True,
            members=True,
            link="/contracts",
            extra={"days": notice_days},
        ),
    )
    return {
        "changed": unsigned.rows + expiring.rows,
        "unsigned_flagged": unsigned.first,
        "unsigned_flagged_count": unsigned.rows,
        "expiry_notified": expiring.first,
        "expiry_notified_count": expiring.rows,
        "notifications": unsigned.notifications + expiring.notifications,
    }
