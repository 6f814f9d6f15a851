"""The scheduled jobs' run log and the lock that makes a job run once across processes."""

from __future__ import annotations

import hashlib
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import JSON, CheckConstraint, Integer, String, Text, func, or_, select, update
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


def holder_name() -> str:
    """Who runs a job: host and process id (shown in the run log and on the lock row)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_xact_lock`` (Python's hash() is salted)."""
    return int.from_bytes(hashlib.sha256(f"marketplace.job:{name}".encode()).digest()[:8], "big", signed=True)


def uses_advisory_locks() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def try_lock(name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Claim the job's lock for the current transaction; False when another process holds it.

    PostgreSQL: a transaction-level advisory lock, released by the job's commit or rollback (a
    crashed process releases it too). Elsewhere: the ``job_locks`` row, claimed by a conditional
    UPDATE and committed at once so other processes see it; :func:`release` frees it and ``ttl``
    bounds how long a crashed holder keeps it.
    """
    if uses_advisory_locks():
        return bool(db.session.scalar(select(func.pg_try_advisory_xact_lock(advisory_key(name)))))
    if db.session.get(JobLock, name) is None:
        _insert_lock_row(name)
    claimed = db.session.execute(
        update(JobLock)
        .where(JobLock.name == name, or_(JobLock.locked_until.is_(None), JobLock.locked_until < now))
        .values(holder=holder, locked_until=now + ttl)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _insert_lock_row(name: str) -> None:
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    stmt = sqlite_insert(JobLock).values(name=name, holder="", locked_until=None)
    db.session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))


def release(name: str, holder: str) -> None:
    """Free the lock row in the current transaction (nothing to do for an advisory lock)."""
    if uses_advisory_locks():
        return
    db.session.execute(
        update(JobLock)
        .where(JobLock.name == name, JobLock.holder == holder)
        .values(locked_until=None)
        .execution_options(synchronize_session=False)
    )


def runs_query(job: str | None = None, status: str | None = None):
    """The run log, newest first."""
    stmt = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc())
    if job:
        stmt = stmt.where(JobRun.job == job)
    if status:
        stmt = stmt.where(JobRun.status == status)
    return stmt


def last_runs() -> dict[str, JobRun]:
    """job name → its most recent run."""
    latest = select(JobRun.job, func.max(JobRun.id).label("id")).group_by(JobRun.job).subquery()
    runs = db.session.scalars(select(JobRun).join(latest, JobRun.id == latest.c.id)).all()
    return {r.job: r for r in runs}
