"""A red flag raised on a process (tender) by one indicator, and each indicator's watermark.

A flag is never deleted: when a recomputation no longer finds it, it is *cleared* (``cleared_at``),
and it comes back (``cleared_at`` emptied) if the indicator finds it again. An auditor's review is
recorded on the flag and as an audit event; it does not remove the flag.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime
from marketplace.extensions import db


class RedFlag(db.Model):
    __tablename__ = "red_flags"
    __table_args__ = (
        UniqueConstraint("tender_id", "indicator"),
        Index("ix_red_flags_indicator_cleared", "indicator", "cleared_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, index=True)
    indicator: Mapped[str] = mapped_column(String(40), nullable=False)
    # The contract the evidence is in (contract-stage indicators), for the link to its history.
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    # The figures that raised the flag (amounts as strings, times in ISO 8601 UTC).
    figures: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    first_flagged_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_note: Mapped[str | None] = mapped_column(Text)

    tender = relationship("Tender")
    reviewed_by = relationship("User")

    @property
    def is_active(self) -> bool:
        return self.cleared_at is None

    def __repr__(self) -> str:
        return f"<RedFlag {self.indicator} tender {self.tender_id}>"


class RedFlagWatermark(db.Model):
    """Up to when one indicator has been computed: the next incremental run looks at the processes
    changed since ``computed_through``."""

    __tablename__ = "red_flag_watermarks"

    indicator: Mapped[str] = mapped_column(String(40), primary_key=True)
    computed_through: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_full_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
