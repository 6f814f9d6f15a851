"""The append-only audit log.

Every service verb calls :func:`record` inside its own transaction, so an event exists exactly when
the change it describes was committed. Rows are never updated or deleted by the application.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from marketplace import clock
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

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} {self.object_type}:{self.object_id}>"


class AppendOnlyError(RuntimeError):
    pass


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target):  # pragma: no cover - guard
    raise AppendOnlyError("audit events are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target):  # pragma: no cover - guard
    raise AppendOnlyError("audit events are append-only")


def _jsonable(value: Any) -> Any:
    from datetime import date
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
