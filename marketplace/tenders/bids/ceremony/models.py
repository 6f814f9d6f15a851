"""The tender's opening key and its shares. No row holds a key in plain text: the private key exists
only in memory, while the ceremony decrypts the bids."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime
from marketplace.extensions import db


class TenderKey(db.Model):
    """Made when the tender is published. Opening needs the platform's part and ``threshold`` of the
    officers' shares."""

    __tablename__ = "tender_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, unique=True)
    public_key: Mapped[str] = mapped_column(String(64), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(16), nullable=False)
    # How many officers' shares, besides the platform's part, open the bids.
    threshold: Mapped[int] = mapped_column(Integer, nullable=False)
    # The platform's part, wrapped by the deployment's key (core.keyring).
    platform_part: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # The ceremony: begun at the opening time, then completed (the bids decrypted and the opening record
    # made) or failed (the window closed without enough shares).
    ceremony_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    shares: Mapped[list[TenderKeyShare]] = relationship(
        back_populates="key", cascade="all, delete-orphan", order_by="TenderKeyShare.position"
    )

    def __repr__(self) -> str:
        return f"<TenderKey {self.tender_id} {self.fingerprint}>"


class TenderKeyShare(db.Model):
    """One officer's share, sealed to the officer's opening key when the tender was published."""

    __tablename__ = "tender_key_shares"
    __table_args__ = (
        UniqueConstraint("tender_key_id", "user_id"),
        UniqueConstraint("tender_key_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_key_id: Mapped[int] = mapped_column(
        ForeignKey("tender_keys.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)  # Shamir's x
    key_fingerprint: Mapped[str] = mapped_column(String(16), nullable=False)  # the opening key sealed to
    sealed_share: Mapped[str] = mapped_column(Text, nullable=False)
    share_digest: Mapped[str] = mapped_column(String(64), nullable=False)  # SHA-256: a wrong share is named
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    contributed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The contributed share, wrapped by the platform's key until the ceremony completes; erased then.
    contribution: Mapped[str | None] = mapped_column(Text)

    key: Mapped[TenderKey] = relationship(back_populates="shares")
    user = relationship("User")

    def __repr__(self) -> str:
        return f"<TenderKeyShare {self.tender_key_id} {self.user_id}>"
