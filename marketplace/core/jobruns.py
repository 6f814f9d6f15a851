"""The scheduled jobs' run log and the lock that makes a job run once across processes."""

from __future__ import annotations

import hashlib
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import JSON, CheckConstraint, Integer, String, Text, func, or_, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import UTCDateTime
from marketplace.extensions import db

DETAIL_IDS = 20  # ids (or keys) listed in a run's details: the first ones; counts cover the rest


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


class Claim:
    """A job's lock, held from :func:`claim` until :meth:`release`, across the run's transactions.

    PostgreSQL: a session-level advisory lock on a connection of its own (a crashed process's
    connection closes and frees it). Elsewhere: the ``job_locks`` row, claimed by a conditional UPDATE
    that the caller commits at once so other processes see it; ``ttl`` bounds how long a crashed
    holder keeps it.
    """

    def __init__(self, name: str, holder: str, connection=None):
        self.name, self.holder, self._connection = name, holder, connection

    def release(self) -> None:
        """Free the lock. The row's UPDATE joins the current transaction: the caller commits it."""
        if self._connection is not None:
            try:
                self._connection.execute(select(func.pg_advisory_unlock(advisory_key(self.name))))
            finally:
                self._connection.close()
                self._connection = None
            return
        db.session.execute(
            update(JobLock)
            .where(JobLock.name == self.name, JobLock.holder == self.holder)
            .values(locked_until=None)
            .execution_options(synchronize_session=False)
        )


def claim(name: str, holder: str, now: datetime, ttl: timedelta) -> Claim | None:
    """The job's lock, or None when another process holds it (see :class:`Claim`)."""
    if uses_advisory_locks():
        # AUTOCOMMIT: the lock belongs to the connection, not to a transaction of the job's.
        connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = connection.scalar(select(func.pg_try_advisory_lock(advisory_key(name))))
        except BaseException:
            connection.close()
            raise
        if not got:
            connection.close()
            return None
        return Claim(name, holder, connection)
    if db.session.get(JobLock, name) is None:
        _insert_lock_row(name)
    claimed = db.session.execute(
        update(JobLock)
        .where(JobLock.name == name, or_(JobLock.locked_until.is_(None), JobLock.locked_until < now))
        .values(holder=holder, locked_until=now + ttl)
        .execution_options(synchronize_session=False)
    ).rowcount
    return Claim(name, holder) if claimed == 1 else None


def _insert_lock_row(name: str) -> None:
    stmt = sqlite_insert(JobLock).values(name=name, holder="", locked_until=None)
    db.session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))


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
