"""Notices to many people made in the database: one INSERT … SELECT of notification rows.

The scheduled contract jobs (``contracts.schedule``) notify per milestone or per contract without
reading the rows into Python: the SELECT yields one row per notice (the user, the link, the message
parameters built as a JSON object in SQL), the INSERT stores them all. Only when mail is configured
are the new rows read back, streamed, to queue their mails (sent after the commit, as
:func:`marketplace.core.notifications.notify` does).

The SQL here is written for both PostgreSQL and SQLite.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, String, cast, func, insert, literal, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from marketplace import clock
from marketplace.auth.models import User
from marketplace.contracts.models import Contract
from marketplace.core import mail
from marketplace.core.db import UTCDateTime
from marketplace.core.notifications import Notification, queue_mail
from marketplace.core.timeutil import zone
from marketplace.extensions import db

_MAIL_BATCH = 1000  # rows fetched at a time when the mails are queued


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def day_count(later, earlier) -> ColumnElement[int]:
    """SQL for ``later - earlier`` in whole days; each a Date column or a :class:`datetime.date`."""
    later, earlier = (literal(d, Date) if isinstance(d, date) else d for d in (later, earlier))
    if _postgres():
        return later - earlier  # date - date is an integer there
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def as_text(value) -> ColumnElement[str]:
    return cast(value, String)


def date_text(column) -> ColumnElement[str]:
    """A Date column as YYYY-MM-DD text."""
    if _postgres():
        return func.to_char(column, "YYYY-MM-DD")
    return func.date(column)  # SQLite stores dates as that text already


def _local_day(stored, zone_name: str) -> str | None:
    """SQLite's ``marketplace_local_day``: the local day of a stored (naive UTC) timestamp."""
    if stored is None:
        return None
    moment = datetime.fromisoformat(str(stored)).replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(zone_name)).date().isoformat()


def local_day_text(column) -> ColumnElement[str]:
    """A UTC timestamp column as the YYYY-MM-DD of its day in the platform's time zone
    (:func:`marketplace.core.timeutil.local_date`, in SQL)."""
    name = zone().key
    if _postgres():
        return func.to_char(func.timezone(name, column), "YYYY-MM-DD")
    # SQLite has no time zones: the conversion is a function of this connection, done by zoneinfo.
    raw = db.session.connection().connection.driver_connection
    raw.create_function("marketplace_local_day", 2, _local_day, deterministic=True)
    return func.marketplace_local_day(column, name)


def json_params(**values) -> ColumnElement:
    """A JSON object built in SQL from text expressions: a notice's message parameters."""
    args = []
    for key, value in values.items():
        args += [literal(key, String), value]
    return func.json_build_object(*args) if _postgres() else func.json_object(*args)


def people(contracts: list, *, officers: bool, members: bool):
    """(contract_id, user_id) of each active officer of the agency and/or member of the organization
    of the contracts meeting ``contracts`` (conditions on ``Contract``): a subquery to join."""
    parts = []
    if officers:
        parts.append((User.role == "officer", User.agency_id == Contract.agency_id))
    if members:
        parts.append((User.role == "org_member", User.organization_id == Contract.organization_id))
    selects = [
        select(Contract.id.label("contract_id"), User.id.label("user_id"))
        .join(User, on)
        .where(role, User.active.is_(True), *contracts)
        for role, on in parts
    ]
    return (selects[0] if len(selects) == 1 else union_all(*selects)).subquery("people")


def notify_select(rows, kind: str, subject: str, body: str) -> int:
    """Insert one notification per row of ``rows`` (a SELECT of user_id, link, params) in one
    statement; queue their mails when mail is configured. ``subject`` and ``body`` are message ids.
    Returns how many."""
    last_id = None
    if mail.enabled():  # the new rows are read back for their mails: those with a higher id
        last_id = db.session.scalar(select(func.max(Notification.id))) or 0
    source = rows.subquery()
    inserted = db.session.execute(
        insert(Notification.__table__)
        .from_select(
            ["user_id", "kind", "subject", "body", "link", "params", "created_at"],
            select(
                source.c.user_id,
                literal(kind, String),
                literal(subject[:300], String),
                literal(body, String),
                source.c.link,
                source.c.params,
                literal(clock.now(), UTCDateTime()),
            ),
        )
        .execution_options(preserve_rowcount=True)  # an INSERT's rowcount is kept only on request
    ).rowcount
    if last_id is not None and inserted:
        _queue_mails(kind, last_id)
    return inserted


def _queue_mails(kind: str, after_id: int) -> None:
    """Queue the mails of the notifications of ``kind`` inserted after ``after_id`` (read back in
    batches: the mail carries what the inbox shows)."""
    rows = db.session.execute(
        select(User.email, Notification.subject, Notification.body, Notification.link, Notification.params)
        .join(User, User.id == Notification.user_id)
        .where(Notification.kind == kind, Notification.id > after_id)
        .order_by(Notification.id)
        .execution_options(yield_per=_MAIL_BATCH)
    )
    for email, subject, body, link, params in rows:
        queue_mail(email, subject, body, link, params)
