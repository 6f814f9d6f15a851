"""The append-only audit log.

Every service verb calls :func:`record` inside its own transaction, so an event exists exactly when
the change it describes was committed. Rows are never updated or deleted by the application.

Events form a hash chain (see :mod:`marketplace.core.audit_chain`): when a transaction commits, its
events get the next positions (``seq``), the previous event's hash and their own hash, under a lock
that serialises the commits that append to the chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import JSON, ForeignKey, Index, Select, String, Text, event, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from marketplace import clock
from marketplace.core.errors import RuleViolation
from marketplace.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(nullable=False, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Kept as text too, so the event still names its actor if the account is renamed.
    actor_label: Mapped[str] = mapped_column(String(255), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    object_type: Mapped[str] = mapped_column(String(64), nullable=False)
    object_id: Mapped[str] = mapped_column(String(64), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    changes: Mapped[dict | None] = mapped_column(JSON)
    # The tender an event belongs to, if any: bid events stay hidden until that tender's bids are opened.
    tender_id: Mapped[int | None] = mapped_column(ForeignKey("tenders.id"), index=True)
    # The hash chain. Empty between the INSERT and the commit that links the event (only the inserting
    # transaction sees it so); a committed event without them was not written by the application.
    seq: Mapped[int | None] = mapped_column(index=True, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} {self.object_type}:{self.object_id}>"


class AuditChainHead(db.Model):
    """The newest link of the chain: one row, moved by every commit that appends events.

    Kept apart from the events so that deleting the newest events (which leaves a shorter chain that is
    consistent in itself) still shows, and so that new events continue the recorded chain, not what is
    left of it."""

    __tablename__ = "audit_chain_heads"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # always HEAD_ID
    seq: Mapped[int] = mapped_column(nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AppendOnlyError(RuntimeError):
    pass


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target):  # pragma: no cover - guard
    raise AppendOnlyError("audit events are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target):  # pragma: no cover - guard
    raise AppendOnlyError("audit events are append-only")


# Events inserted by a session and not linked yet, collected as they are flushed.
_UNLINKED = "marketplace.audit.unlinked"


@event.listens_for(AuditEvent, "after_insert")
def _collect_unlinked(mapper, connection, target):
    from sqlalchemy.orm import object_session

    session = object_session(target)
    if session is not None:
        session.info.setdefault(_UNLINKED, []).append(target)


@event.listens_for(Session, "before_commit")
def _link_on_commit(session):
    # As late as possible: the chain lock is held from here to the end of the transaction, so taking
    # it after every row lock the transaction needs keeps it short and out of lock-order deadlocks.
    # Hence not when a savepoint is released, only at the real commit.
    if session.in_nested_transaction():
        return
    if any(isinstance(obj, AuditEvent) for obj in session.new):
        session.flush()
    if session.info.get(_UNLINKED):
        from marketplace.core import audit_chain

        audit_chain.link_unlinked(session, session.info.pop(_UNLINKED))


def _jsonable(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record(
    actor,
    action: str,
    obj_type: str,
    obj_id: Any,
    summary: str,
    changes: dict | None = None,
    tender_id: int | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits)."""
    if actor is None or getattr(actor, "is_anonymous", False):
        actor_id, label = None, "system"
    else:
        actor_id, label = actor.id, actor.email
    if tender_id is None and obj_type == "tender":
        tender_id = int(obj_id)
    ev = AuditEvent(
        occurred_at=clock.now(),
        actor_id=actor_id,
        actor_label=label,
        action=action,
        object_type=obj_type,
        object_id=str(obj_id),
        summary=summary,
        changes=_jsonable(changes) if changes else None,
        tender_id=tender_id,
    )
    db.session.add(ev)
    return ev


def diff(before: dict, after: dict) -> dict:
    """Fields whose values differ, as ``{field: [old, new]}``."""
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


# --- the auditor's view of the log -------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    """Which events the audit log page lists. ``date_from``/``date_to`` are local dates, both included."""

    object_type: str = ""
    object_id: str = ""
    actor: str = ""  # part of the actor's email (or "system")
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def query_args(self) -> dict:
        """The filter as the page's query string (``from``/``to`` for the dates), empty values left out."""
        args = {
            "object_type": self.object_type,
            "object_id": self.object_id,
            "actor": self.actor,
            "action": self.action,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in args.items() if v}


# Filter dates outside this range are refused: a day at either end of ``date`` overflows ``datetime``
# once moved to UTC or to the next day (a 500, not a filter).
FIRST_FILTER_DATE = date(1900, 1, 1)
LAST_FILTER_DATE = date(9998, 12, 31)


def parse_local_date(value: str | None, label: str, field: str | None = None) -> date | None:
    """A YYYY-MM-DD filter date, or None when empty. Raises :class:`RuleViolation` on a bad value."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise RuleViolation(
            _("%(label)s must be a date written YYYY-MM-DD.", label=label), field=field
        ) from None
    if not FIRST_FILTER_DATE <= day <= LAST_FILTER_DATE:
        raise RuleViolation(
            _(
                "%(label)s must be between %(first)s and %(last)s.",
                label=label,
                first=FIRST_FILTER_DATE.isoformat(),
                last=LAST_FILTER_DATE.isoformat(),
            ),
            field=field,
        )
    return day


def parse_event_filter(args: Mapping) -> tuple[EventFilter, list[str]]:
    """The filter in ``args`` and a message for each value that was left out because it is wrong."""

    def text(name: str, limit: int) -> str:
        return (args.get(name) or "").strip()[:limit]

    errors = []
    dates = {}
    for name, label in (("from", _("The start date")), ("to", _("The end date"))):
        try:
            dates[name] = parse_local_date(text(name, 32), label)
        except RuleViolation as exc:
            errors.append(exc.message)
            dates[name] = None
    if dates["from"] and dates["to"] and dates["to"] < dates["from"]:
        errors.append(_("The end date cannot be before the start date."))
        dates["to"] = None
    f = EventFilter(
        object_type=text("object_type", 64),
        object_id=text("object_id", 64),
        actor=text("actor", 255),
        action=text("action", 64),
        date_from=dates["from"],
        date_to=dates["to"],
    )
    return f, errors


def _contains(column, fragment: str):
    escaped = fragment.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")


def events_query(f: EventFilter, visible=None) -> Select:
    """Matching events, newest link first; ``visible`` is a further condition (what the viewer may see)."""
    from marketplace.core.timeutil import start_of_local_day

    stmt = select(AuditEvent)
    if visible is not None:
        stmt = stmt.where(visible)
    if f.object_type:
        stmt = stmt.where(AuditEvent.object_type == f.object_type)
    if f.object_id:
        stmt = stmt.where(AuditEvent.object_id == f.object_id)
    if f.actor:
        stmt = stmt.where(_contains(AuditEvent.actor_label, f.actor))
    if f.action:
        stmt = stmt.where(AuditEvent.action == f.action)
    if f.date_from:
        stmt = stmt.where(AuditEvent.occurred_at >= start_of_local_day(f.date_from))
    if f.date_to:
        stmt = stmt.where(AuditEvent.occurred_at < start_of_local_day(f.date_to + timedelta(days=1)))
    # Events without seq (a transaction's own before it commits, or rows written past the application)
    # come first.
    return stmt.order_by(AuditEvent.seq.desc().nulls_first(), AuditEvent.id.desc())
