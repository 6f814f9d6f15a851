"""The OCDS release feed's tables: every release once, at its feed position, and the position counter
(docs/ocds.md, "The release feed")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db

COUNTER_ID = 1


class FeedRelease(db.Model):
    """A release as it was published to the feed: its position (1, 2, 3, … in the order releases were
    positioned, never reused) and the release itself, as it stood then (releases never change)."""

    __tablename__ = "ocds_feed_releases"

    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    release_id: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    ocid: Mapped[str] = mapped_column(String(64), nullable=False)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, index=True)
    release: Mapped[dict] = mapped_column(JSON, nullable=False)
    # A release that ends its process (cancellation, failure, contract end): the fast pass of the
    # ``ocds-feed`` job leaves such a process to the slow sweep (``ocds-feed-sweep``).
    closing: Mapped[bool] = mapped_column(nullable=False, default=False)
    positioned_at: Mapped[datetime] = mapped_column(nullable=False)


class FeedCounter(db.Model):
    """One row (id 1): the last position given out. Positioning locks it, so positions are given, and
    committed, one transaction after the other."""

    __tablename__ = "ocds_feed_counter"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)
