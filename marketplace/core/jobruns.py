"""The scheduled jobs' run log and the lock that makes a job run once across processes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import UTCDateTime
from marketplace.extensions import db


class JobRun(db.Model):
    """One run of a scheduled job: when, what it changed, or why it did not run."""

    __tablename__ = "job_runs"
    __table_args__ = (CheckConstraint("status IN ('running', 'ok', 'error', 'skipped')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="running")
    changed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    details: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(120), nullable=False, default="")


class JobLock(db.Model):
    """A row per job, locked (SELECT ... FOR UPDATE / a write on SQLite) by the process running it.

    PostgreSQL uses an advisory lock instead; this row is the portable fallback and a place to see
    who ran the job last."""

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
