"""The training clock's offset: one row, read by every process (web workers and the scheduler)."""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db

ROW_ID = 1


class TrainingClock(db.Model):
    """How far the platform's clock was moved forward, in seconds (a single row, id 1)."""

    __tablename__ = "training_clocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    offset_seconds: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
