"""Notices to many people made in the database: digests written by one INSERT … SELECT … GROUP BY.

The scheduled contract jobs (``contracts.schedule``) change many milestones or contracts at once and
tell each person concerned ONCE per run (a :class:`Digest`: "5 milestones overdue in 3 contracts",
the contracts named, the earliest date, a link), not once per milestone: an agency with thousands of
contracts gets one notification a day, not thousands. The rows are not read into Python: on
PostgreSQL the UPDATE returns the changed rows into a CTE that feeds the INSERT of the digests, one
statement; SQLite runs the same predicate in an INSERT … SELECT and then the UPDATE. Only when mail
is configured are the new rows read back, streamed, to queue their mails (sent after the commit, as
:func:`marketplace.core.notifications.notify` does).

The SQL here is written for both PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from marketplace import clock
from marketplace.auth.models import User
from marketplace.core import mail
from marketplace.core.db import UTCDateTime
from marketplace.core.jobruns import DETAIL_IDS
from marketplace.core.notifications import Notification, queue_mail
from marketplace.core.timeutil import zone
from marketplace.extensions import db

_MAIL_BATCH = 1000  # rows fetched at a time when the mails are queued
DIGEST_LINES = 10  # contracts named in a digest, one per line; the others are counted


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


def text_list(value, separator: str, *order_by) -> ColumnElement[str]:
    """The values of a group joined by ``separator``, in the order ``order_by``. PostgreSQL orders
    inside the aggregate; SQLite (before 3.44) cannot and joins the rows in the order they arrive, so
    callers read from :func:`in_order`."""
    if _postgres():
        return func.string_agg(value, literal(separator, String)).aggregate_order_by(*order_by)
    return func.group_concat(value, literal(separator, String))


def in_order(source: FromClause, *order_by) -> FromClause:
    """``source`` in the order ``order_by`` for :func:`text_list` on SQLite (as it is on PostgreSQL)."""
    if _postgres():
        return source
    return select(source).order_by(*(source.c[name] for name in order_by)).subquery()


# --- digests: one notification per person and run -----------------------------------------------------


@dataclass(frozen=True)
class Digest:
    """One notification per person (the agency's officers and/or the organization's members) and run,
    about every contract of theirs a job changed: counts, the earliest date, the first DIGEST_LINES
    contracts named one per line, and a link (the contract when there is one, else ``link``).

    ``subject`` and the bodies are message ids; their parameters: ``items`` (milestones or contracts),
    ``contracts``, ``earliest`` (YYYY-MM-DD), ``list`` (the lines), ``more`` (contracts not named; the
    body used then is ``body_more``) and ``extra``."""

    kind: str
    subject: str
    body: str
    body_more: str
    officers: bool
    members: bool
    link: str = "/dashboard"
    extra: dict = field(default_factory=dict)  # more parameters, constant text


@dataclass(frozen=True)
class PerContract:
    """How a job's changed rows (a FROM with the job's columns) read per contract: ``items`` selects one
    row per contract (contract_id, agency_id, organization_id, first: its date, a Date or YYYY-MM-DD
    text, weight: how many rows), ``lines`` one line of text naming them (contract_id, line), called
    only with the rows of the contracts a digest names."""

    items: Callable[[FromClause], Select]
    lines: Callable[[FromClause], Select]


def digest_rows(changed: FromClause, per_contract: PerContract, digest: Digest) -> Select:
    """SELECT user_id, body, link, params: one row per person of the parties of the contracts of
    ``changed``. The contracts are ranked per party by their date; only the first DIGEST_LINES of each
    party get their line written."""
    items = per_contract.items(changed).cte("items")
    roles = []
    if digest.officers:
        roles.append((1, "officer", items.c.agency_id, User.agency_id))
    if digest.members:
        roles.append((2, "org_member", items.c.organization_id, User.organization_id))
    parties = [
        select(
            literal(code).label("role"),
            party.label("party"),
            items.c.contract_id,
            items.c.first,
            items.c.weight,
        )
        for code, _role, party, _user in roles
    ]
    party = (parties[0] if len(parties) == 1 else union_all(*parties)).cte("parties")
    key = (party.c.role, party.c.party)
    per_party = (
        select(
            *key,
            func.count().label("contracts"),
            func.sum(party.c.weight).label("items"),
            func.min(party.c.first).label("earliest"),
            func.min(party.c.contract_id).label("contract_id"),
        )
        .group_by(*key)
        .subquery("per_party")
    )
    # Only the contracts up to each party's DIGEST_LINES-th date are ranked (a sort of a few rows, not
    # of every contract): contracts per day, their running count, the first day reaching the limit.
    per_day = select(*key, party.c.first, func.count().label("n")).group_by(*key, party.c.first).subquery()
    running = func.sum(per_day.c.n).over(
        partition_by=(per_day.c.role, per_day.c.party), order_by=per_day.c.first
    )
    days = select(per_day, running.label("running")).subquery()
    cutoff = (
        select(
            days.c.role,
            days.c.party,
            func.coalesce(
                func.min(case((days.c.running >= DIGEST_LINES, days.c.first))), func.max(days.c.first)
            ).label("last"),
        )
        .group_by(days.c.role, days.c.party)
        .subquery("cutoff")
    )
    rank = func.row_number().over(partition_by=key, order_by=(party.c.first, party.c.contract_id))
    ranked = (
        select(party, rank.label("rank"))
        .join(cutoff, and_(cutoff.c.role == party.c.role, cutoff.c.party == party.c.party))
        .where(party.c.first <= cutoff.c.last)
        .subquery("ranked")
    )
    named = select(ranked).where(ranked.c.rank <= DIGEST_LINES).cte("named")
    lines = per_contract.lines(
        select(changed).where(changed.c.contract_id.in_(select(named.c.contract_id))).subquery("of_named")
    ).subquery("lines")
    listed = in_order(
        select(named.c.role, named.c.party, named.c.rank, lines.c.line)
        .join_from(named, lines, lines.c.contract_id == named.c.contract_id)
        .subquery("listed"),
        "role",
        "party",
        "rank",
    )
    listing = (
        select(listed.c.role, listed.c.party, text_list(listed.c.line, "\n", listed.c.rank).label("list"))
        .group_by(listed.c.role, listed.c.party)
        .subquery("listing")
    )
    body = case(
        (per_party.c.contracts > DIGEST_LINES, literal(digest.body_more, String)),
        else_=literal(digest.body, String),
    )
    one = literal("/contracts/", String) + as_text(per_party.c.contract_id)
    link = case((per_party.c.contracts == 1, one), else_=literal(digest.link, String))
    params = {
        "items": as_text(per_party.c["items"]),
        "contracts": as_text(per_party.c.contracts),
        "earliest": as_text(per_party.c.earliest),
        "list": listing.c.list,
        "more": as_text(per_party.c.contracts - DIGEST_LINES),
        **{key: literal(str(value), String) for key, value in digest.extra.items()},
    }
    on_user = or_(
        *(
            and_(per_party.c.role == code, User.role == role, user == per_party.c.party)
            for code, role, _party, user in roles
        )
    )
    return (
        select(
            User.id.label("user_id"),
            body.label("body"),
            link.label("link"),
            json_params(**params).label("params"),
        )
        .select_from(per_party)
        .join(listing, and_(listing.c.role == per_party.c.role, listing.c.party == per_party.c.party))
        .join(User, on_user)
        .where(User.active.is_(True))
    )


def _insert(rows: Select, digest: Digest):
    source = rows.subquery("digests")
    return insert(Notification.__table__).from_select(
        ["user_id", "kind", "subject", "body", "link", "params", "created_at"],
        select(
            source.c.user_id,
            literal(digest.kind, String),
            literal(digest.subject[:300], String),
            source.c.body,
            source.c.link,
            source.c.params,
            literal(clock.now(), UTCDateTime()),
        ),
    )


@dataclass
class Changed:
    """What :func:`update_and_notify` did: rows changed, of them those listed (named in the digests),
    the first DETAIL_IDS ids of those, and the notifications written."""

    rows: int = 0
    listed: int = 0
    first: list = field(default_factory=list)
    notifications: int = 0


def update_and_notify(
    model,
    where: list,
    values: dict,
    columns: dict[str, ColumnElement],
    per_contract: PerContract,
    digest: Digest,
    listed: ColumnElement[bool] | None = None,
) -> Changed:
    """UPDATE the rows of ``model`` meeting ``where`` with ``values``, and notify the parties with one
    :class:`Digest` each about the changed rows meeting ``listed`` (default: all).

    ``columns`` (name: expression over ``model``; ``id`` and ``contract_id`` among them) are what
    ``per_contract`` reads; they and ``listed`` must not read a column the UPDATE sets (they are
    evaluated on the row after the UPDATE on PostgreSQL, before it on SQLite).

    PostgreSQL: one statement, ``WITH touched AS (UPDATE … RETURNING …), inserted AS (INSERT INTO
    notifications SELECT … FROM touched … GROUP BY …) SELECT counts``: the rows are found once.
    SQLite: the counts (one bounded SELECT), the INSERT … SELECT and the UPDATE, all three with the
    same ``where``."""
    listed = listed if listed is not None else literal(True)
    labelled = [e.label(name) for name, e in {**columns, "listed": listed}.items()]
    stmt = update(model).where(*where).values(**values).execution_options(synchronize_session=False)
    last_id = None
    if mail.enabled():  # the new rows are read back for their mails: those with a higher id
        last_id = db.session.scalar(select(func.max(Notification.id))) or 0
    if _postgres():
        done = _update_returning(stmt.returning(*labelled), per_contract, digest)
    else:
        done = _select_insert_update(model, where, labelled, stmt, per_contract, digest)
    if last_id is not None and done.notifications:
        _queue_mails(digest.kind, last_id)
    return done


# The statement groups every changed row by contract and party in hash tables (about 6 MB for 50,000
# overdue milestones, over the default 4 MB: they would spill to disk); and no JIT, whose compilation
# costs more than it saves on this one-off statement.
_PG_SETTINGS = "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off"


def _update_returning(stmt, per_contract: PerContract, digest: Digest) -> Changed:
    db.session.execute(text(_PG_SETTINGS))  # until the end of the job's transaction
    touched = stmt.cte("touched")
    chosen = select(touched).where(touched.c.listed).subquery("chosen")
    inserted = _insert(digest_rows(chosen, per_contract, digest), digest)
    inserted = inserted.returning(Notification.id).cte("inserted")
    first = select(touched.c.id).where(touched.c.listed).order_by(touched.c.id).limit(DETAIL_IDS).subquery()
    counts = select(
        func.count().label("rows"), func.count().filter(touched.c.listed).label("listed")
    ).subquery()
    rows, chosen_n, first_ids, notes = db.session.execute(
        select(
            counts.c.rows,
            counts.c.listed,
            select(func.array_agg(first.c.id).aggregate_order_by(first.c.id)).scalar_subquery(),
            select(func.count()).select_from(inserted).scalar_subquery(),
        ).select_from(counts)
    ).one()
    return Changed(rows, chosen_n, list(first_ids or []), notes)


def _select_insert_update(model, where, labelled, stmt, per_contract: PerContract, digest: Digest) -> Changed:
    source = select(*labelled).select_from(model).where(*where).subquery("touched")
    later = case((source.c.listed, 0), else_=1)
    top = db.session.execute(
        select(
            source.c.id,
            later.label("later"),
            func.count().over().label("total"),
            func.sum(1 - later).over().label("chosen"),
        )
        .order_by(later, source.c.id)
        .limit(DETAIL_IDS)
    ).all()
    if not top:
        return Changed()
    done = Changed(int(top[0].total), int(top[0].chosen), [r.id for r in top if not r.later])
    if done.listed:
        chosen = select(source).where(source.c.listed).subquery("chosen")
        rows = digest_rows(chosen, per_contract, digest)
        db.session.execute(_insert(rows, digest))
        # The statement begins with WITH, so the driver keeps no rowcount: ask SQLite.
        done.notifications = db.session.scalar(select(func.changes()))
    db.session.execute(stmt)
    return done


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
