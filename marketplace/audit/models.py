"""The audit log's tables: the append-only events, the heads of the main chain and of every tender's
sealed ledger, and the published heads (docs/audit.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_object", "object_type", "object_id"),
        UniqueConstraint("tender_id", "ledger_seq"),
    )

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
    # How ``hash`` and ``ledger_hash`` are made (audit/hashing.py): 1 before migration 0019, 2 since;
    # set when the event is first sealed.
    chain_format: Mapped[int | None] = mapped_column()
    # The tender's sealed ledger: a bid event hidden until the opening is chained here first (per tender,
    # no main-chain position, so the main chain shows no gap), and enters the main chain at the opening.
    ledger_seq: Mapped[int | None] = mapped_column()
    ledger_prev_hash: Mapped[str | None] = mapped_column(String(64))
    ledger_hash: Mapped[str | None] = mapped_column(String(64))

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
    # HMAC of (seq, hash) with the chain key: moving the head back to an earlier event needs the key.
    mac: Mapped[str | None] = mapped_column(String(64))


class AuditLedgerHead(db.Model):
    """The newest link of one tender's sealed ledger (its hidden bid events), moved by the sealer."""

    __tablename__ = "audit_ledger_heads"

    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    mac: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditPublishedHead(db.Model):
    """A head of the main chain as it was published (append-only): on the transparency pages and in a
    signed file, so that deleting the newest events, or all of them, shows against it."""

    __tablename__ = "audit_published_heads"

    id: Mapped[int] = mapped_column(primary_key=True)
    published_at: Mapped[datetime] = mapped_column(nullable=False, index=True)
    seq: Mapped[int] = mapped_column(nullable=False, index=True)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # Ed25519 over the canonical statement (audit/published.py), base64; and the key's public half.
    signature: Mapped[str] = mapped_column(String(128), nullable=False)
    public_key: Mapped[str] = mapped_column(String(64), nullable=False)


class AppendOnlyError(RuntimeError):
    pass


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target):  # pragma: no cover - guard
    raise AppendOnlyError("audit events are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target):  # pragma: no cover - guard
    raise AppendOnlyError("audit events are append-only")
