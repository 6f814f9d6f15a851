"""The audit log's tables: the append-only events and the head of their hash chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

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
    # The summary is a message id; its parameters, when it has any (rendered in the reader's language).
    params: Mapped[dict | None] = mapped_column(JSON)
    # The tender an event belongs to, if any: bid events stay hidden until that tender's bids are opened.
    tender_id: Mapped[int | None] = mapped_column(ForeignKey("tenders.id"), index=True)
    # The hash chain. Empty from the INSERT until the ``seal-audit`` job links the committed event (a few
    # seconds; ``flask audit verify`` reports that unsealed tail and its age, docs/audit.md).
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
