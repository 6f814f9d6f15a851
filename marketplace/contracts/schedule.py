"""The scheduled work on contracts and milestones: overdue flags, reminders, contract deadlines.

Each function works on sets in the database (a SELECT for the rows concerned, one bulk INSERT of
notifications, UPDATE statements), is idempotent (a second call changes nothing) and does not
commit: ``marketplace.jobs.run_job`` commits the work together with its run record.

Day counts are in local days (the platform's time zone, Asia/Shanghai by default).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import Date, Integer, and_, cast, func, literal, or_, select, update

from marketplace.auth.models import User
from marketplace.contracts.models import ACTIVE, DRAFT, Contract, Milestone
from marketplace.contracts.signing import deadline_after, signing_days, unsigned_cutoff
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.messages import N_
from marketplace.core.notifications import notify_rows
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.tenders.committee.models import Award

ACCEPTED = "accepted"


def _days_between(earlier, today: date):
    """SQL for ``today - earlier`` in whole days, on PostgreSQL and SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        return literal(today, Date) - earlier  # date - date is an integer there
    return cast(func.julianday(literal(today.isoformat())) - func.julianday(earlier), Integer)


def _recipients(contract_ids: set[int], *, officers: bool, members: bool) -> dict[int, list[tuple[int, str]]]:
    """contract id → [(user id, email)] of the agency's officers and/or the organization's members."""
    if not contract_ids:
        return {}
    conditions = []
    if officers:
        conditions.append(and_(User.role == "officer", User.agency_id == Contract.agency_id))
    if members:
        conditions.append(and_(User.role == "org_member", User.organization_id == Contract.organization_id))
    rows = db.session.execute(
        select(Contract.id, User.id, User.email)
        .join(User, or_(*conditions))
        .where(Contract.id.in_(contract_ids), User.active.is_(True))
        .order_by(Contract.id, User.id)
    ).all()
    out: dict[int, list[tuple[int, str]]] = {}
    for contract_id, user_id, email in rows:
        out.setdefault(contract_id, []).append((user_id, email))
    return out


def _notices(
    recipients: list[tuple[int, str]], kind: str, subject: str, body: str, link: str, params: dict
) -> list[dict]:
    """The notification rows of one message to each of ``recipients`` ([(user id, email)]);
    ``subject`` and ``body`` are message ids filled by ``params``."""
    return [
        {
            "user_id": user_id,
            "email": email,
            "kind": kind,
            "subject": subject,
            "body": body,
            "link": link,
            "params": params,
        }
        for user_id, email in recipients
    ]


def _mark(model, ids: list[int], **values) -> None:
    """Set ``values`` on the rows of ``model`` with these ids (one UPDATE; nothing when there are none)."""
    if ids:
        db.session.execute(
            update(model)
            .where(model.id.in_(ids))
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def _milestones(*conditions):
    """The milestones that meet ``conditions``, with their contract's title, in id order."""
    return db.session.execute(
        select(Milestone.id, Milestone.contract_id, Milestone.deliverable, Milestone.due_date, Contract.title)
        .join(Contract, Contract.id == Milestone.contract_id)
        .where(*conditions)
        .order_by(Milestone.id)
    ).all()


def _milestone_params(m, days: int) -> dict:
    """The parameters of a milestone notice (``m``: a row of :func:`_milestones`)."""
    return {"n": str(days), "deliverable": m.deliverable, "title": m.title, "due": m.due_date.isoformat()}


def _active_contracts():
    return select(Contract.id).where(Contract.status == ACTIVE)


def flag_overdue(today: date) -> dict:
    """Keep ``overdue_days`` on milestones past due and not accepted (active contracts); notify both
    parties at most once a local day per milestone. Due dates never move; accepted milestones are
    never overdue."""
    overdue = and_(
        Milestone.status != ACCEPTED,
        Milestone.due_date < today,
        Milestone.contract_id.in_(_active_contracts()),
    )
    days = _days_between(Milestone.due_date, today)
    flagged = db.session.execute(
        update(Milestone)
        .where(overdue, or_(Milestone.overdue_days.is_(None), Milestone.overdue_days != days))
        .values(overdue_days=days)
        .execution_options(synchronize_session=False)
    ).rowcount
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

    due_notice = _milestones(
        overdue, or_(Milestone.overdue_notified_on.is_(None), Milestone.overdue_notified_on < today)
    )
    recipients = _recipients({r.contract_id for r in due_notice}, officers=True, members=True)
    rows = []
    for m in due_notice:
        rows += _notices(
            recipients.get(m.contract_id, []),
            "milestone.overdue",
            N_("Milestone %(n)s day(s) overdue — %(deliverable)s"),
            N_(
                "The milestone “%(deliverable)s” of the contract “%(title)s” was due on %(due)s and is "
                "%(n)s day(s) overdue."
            ),
            f"/contracts/{m.contract_id}",
            _milestone_params(m, (today - m.due_date).days),
        )
    notifications = notify_rows(rows)
    notified_ids = [m.id for m in due_notice]
    _mark(Milestone, notified_ids, overdue_notified_on=today)
    return {
        "changed": flagged + cleared + len(notified_ids),
        "flagged": flagged,
        "cleared": cleared,
        "notified_milestones": notified_ids,
        "notifications": notifications,
    }


def send_reminders(today: date, days: int) -> dict:
    """Remind the organization of milestones due within ``days`` local days, once per due date."""
    due = _milestones(
        Contract.status == ACTIVE,
        Milestone.status != ACCEPTED,
        Milestone.due_date >= today,
        Milestone.due_date <= today + timedelta(days=days),
        or_(Milestone.reminded_for_due.is_(None), Milestone.reminded_for_due != Milestone.due_date),
    )
    recipients = _recipients({r.contract_id for r in due}, officers=False, members=True)
    rows = []
    for m in due:
        rows += _notices(
            recipients.get(m.contract_id, []),
            "milestone.reminder",
            N_("Milestone due in %(n)s day(s) — %(deliverable)s"),
            N_("The milestone “%(deliverable)s” of the contract “%(title)s” is due on %(due)s."),
            f"/contracts/{m.contract_id}",
            _milestone_params(m, (m.due_date - today).days),
        )
    notifications = notify_rows(rows)
    ids = [m.id for m in due]
    _mark(Milestone, ids, reminded_for_due=Milestone.due_date)
    return {"changed": len(ids), "reminded_milestones": ids, "notifications": notifications}


def contract_deadlines(now: datetime, today: date | None = None) -> dict:
    """Flag contracts still unsigned past their signing deadline (``signing.unsigned_overdue``, GPL 46:
    30 days after the award notice, in local days) and tell the agency; tell both parties once when
    an active contract's term ends within EXPIRY_NOTICE_DAYS."""
    config = current_app.config
    today = today or local_date(now)
    unsigned_days = signing_days()
    unsigned = db.session.execute(
        select(Contract.id, Contract.title, Award.published_at)
        .join(Award, Award.id == Contract.award_id)
        .where(
            Contract.status == DRAFT,
            Contract.unsigned_flagged_at.is_(None),
            # The rule of signing.unsigned_overdue: past the signing deadline's local day.
            Award.published_at < unsigned_cutoff(today),
        )
        .order_by(Contract.id)
    ).all()
    calendar = WorkingCalendar.load()  # a deadline on a weekend or holiday moves to the next working day
    unsigned = [c for c in unsigned if today > deadline_after(c.published_at, calendar)]
    expiring = db.session.execute(
        select(Contract.id, Contract.title, Contract.term_end)
        .where(
            Contract.status == ACTIVE,
            Contract.expiry_notified_at.is_(None),
            Contract.term_end <= today + timedelta(days=int(config["EXPIRY_NOTICE_DAYS"])),
        )
        .order_by(Contract.id)
    ).all()

    officers = _recipients({c.id for c in unsigned}, officers=True, members=False)
    both = _recipients({c.id for c in expiring}, officers=True, members=True)
    rows = []
    for c in unsigned:
        rows += _notices(
            officers.get(c.id, []),
            "contract.unsigned",
            N_("Contract not signed within %(days)s days of the award — %(title)s"),
            N_("The award was published on %(published)s and the contract is still unsigned (GPL 46)."),
            f"/contracts/{c.id}",
            {
                "days": str(unsigned_days),
                "title": c.title,
                "published": local_date(c.published_at).isoformat(),
            },
        )
    for c in expiring:
        rows += _notices(
            both.get(c.id, []),
            "contract.expiring",
            N_("Contract ends on %(ends)s — %(title)s"),
            N_("Plan the final acceptance and payment, or a renewal under the rules."),
            f"/contracts/{c.id}",
            {"ends": c.term_end.isoformat(), "title": c.title},
        )
    notifications = notify_rows(rows)
    unsigned_ids = [c.id for c in unsigned]
    expiring_ids = [c.id for c in expiring]
    _mark(Contract, unsigned_ids, unsigned_flagged_at=now)
    _mark(Contract, expiring_ids, expiry_notified_at=now)
    return {
        "changed": len(unsigned_ids) + len(expiring_ids),
        "unsigned_flagged": unsigned_ids,
        "expiry_notified": expiring_ids,
        "notifications": notifications,
    }
