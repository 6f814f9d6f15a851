"""What the time limits cannot derive from the event timestamps: the reminders already sent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import UTCDateTime
from marketplace.extensions import db


class TimeLimitReminder(db.Model):
    """One reminder sent before a time limit passed: one per limit and due day (never twice)."""

    __tablename__ = "time_limit_reminders"
    __table_args__ = (UniqueConstraint("tender_id", "code", "subject_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    # The challenge answered (challenge_answer); 0 for the limits of the tender itself.
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
