"""Background exports: an XLSX, JSON or large CSV export asked for on the web is written by a worker.

An :class:`ExportTask` row records who asked, for what (kind, format, filter), how far the worker got
and where the file is. Its life: ``queued`` (the request) → ``running`` → ``done`` (the file is under
``EXPORT_FOLDER`` in the instance folder, never under static/) or ``failed``; ``expired`` once
``EXPORT_RETENTION_HOURS`` after it finished the ``expire-exports`` job deletes the file. Only the
auditor who asked may see its page and fetch the file — not other auditors, and not admins either:
the file is that auditor's own copy of what they exported, and its request, completion, each download
and its deletion are audit events that admins and other auditors can read in the audit log.

The verbs here change rows and record audit events; they never commit (the request, the worker's edge
in :mod:`marketplace.audit.export_worker` or the job does).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import get_locale
from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.audit.exports import filename, record_export
from marketplace.audit.filters import ContractFilter, parse_filter
from marketplace.core.db import UTCDateTime
from marketplace.core.messages import N_
from marketplace.core.permissions import can
from marketplace.extensions import db

QUEUED, RUNNING, DONE, FAILED, EXPIRED = "queued", "running", "done", "failed", "expired"
STATUSES = (QUEUED, RUNNING, DONE, FAILED, EXPIRED)
FINISHED = (DONE, FAILED, EXPIRED)


class ExportTask(db.Model):
    __tablename__ = "export_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)  # the CSV kind; "contracts" otherwise
    format: Mapped[str] = mapped_column(String(10), nullable=False)
    filters: Mapped[dict] = mapped_column(JSON, nullable=False)  # ContractFilter.query_args()
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=QUEUED)
    # Progress: contracts written (once per sheet of a workbook) of the total.
    progress_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    download_name: Mapped[str] = mapped_column(String(120), nullable=False)
    file_path: Mapped[str | None] = mapped_column(String(200))  # relative to EXPORT_FOLDER
    size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the file (or a task that never ran) is deleted: EXPORT_RETENTION_HOURS after it finished.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    error: Mapped[str | None] = mapped_column(Text)

    def contract_filter(self) -> ContractFilter:
        """The filter as the request parsed it (stored as its query arguments)."""
        return parse_filter(self.filters)

    def owned_by(self, user) -> bool:
        """Whether ``user`` may see this export's page and fetch its file: the auditor who asked, only."""
        return bool(getattr(user, "is_authenticated", False)) and user.id == self.owner_id

    def state(self, now: datetime | None = None) -> str:
        """The status as of ``now``: a finished export past its time is expired even before the job ran
        (pages show it so; GET never writes)."""
        if self.status in (DONE, FAILED) and self.expires_at <= (now or clock.now()):
            return EXPIRED
        return self.status

    def downloadable(self, now: datetime | None = None) -> bool:
        return self.state(now) == DONE and bool(self.file_path)

    def percent(self) -> int:
        if self.status == DONE:
            return 100
        if not self.progress_total:
            return 0
        return min(99, int(100 * self.progress_done / self.progress_total))


LANGUAGE_KEY = "lang"  # kept with the filter's query arguments (not a filter: parse_filter ignores it)


def retention() -> timedelta:
    return timedelta(hours=int(current_app.config["EXPORT_RETENTION_HOURS"]))


def folder() -> Path:
    """Where export files are written: ``EXPORT_FOLDER`` (relative to the instance folder if relative)."""
    return Path(current_app.instance_path) / current_app.config["EXPORT_FOLDER"]


def file_of(task: ExportTask) -> Path | None:
    return folder() / task.file_path if task.file_path else None


def _record(actor, action: str, task: ExportTask, summary: str, changes: dict | None = None) -> None:
    params = {"id": task.id, "format": task.format, "kind": task.kind}
    audit.record(actor, action, "export", task.id, summary, changes or params, params=params)


def request_export(f: ContractFilter, fmt: str, kind: str, actor) -> ExportTask:
    """Queue an export for ``actor`` (an auditor or admin: the caller checked ``audit.view``) and record
    it: the same ``export.contracts`` event as an immediate export, with the export's id. The worker is
    handed the task once the transaction commits (:func:`marketplace.core.tasks.enqueue`)."""
    if not can(actor, "audit.view"):  # the policy's rule, checked again where the row is made
        raise PermissionError("only auditors and admins export")
    now = clock.now()
    task = ExportTask(
        owner_id=actor.id,
        kind=kind if fmt == "csv" else "contracts",
        format=fmt,
        # The language of the person asking: the worker writes the code labels in it (issue 20).
        filters={
            **f.query_args(),
            LANGUAGE_KEY: str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
        },
        status=QUEUED,
        download_name=filename(fmt, kind),
        created_at=now,
        expires_at=now + retention(),
    )
    db.session.add(task)
    db.session.flush()
    record_export(f, fmt, kind, actor, "web", export_id=task.id)
    return task


def start(task: ExportTask, total: int) -> bool:
    """The worker takes a queued task. False when it is not queued (taken, or expired meanwhile)."""
    if task.status != QUEUED:
        return False
    task.status = RUNNING
    task.started_at = clock.now()
    task.progress_total = total
    return True


def complete(task: ExportTask, file_path: str, size: int) -> None:
    now = clock.now()
    task.status = DONE
    task.file_path = file_path
    task.size = size
    task.progress_done = task.progress_total
    task.finished_at = now
    task.expires_at = now + retention()
    _record(
        None,
        "export.completed",
        task,
        N_("export %(id)s (%(format)s, %(kind)s) is ready"),
        {"id": task.id, "size": size, "owner_id": task.owner_id},
    )


def fail(task: ExportTask, error: str) -> None:
    now = clock.now()
    task.status = FAILED
    task.error = error[-2000:]
    task.finished_at = now
    task.expires_at = now + retention()
    _record(
        None,
        "export.failed",
        task,
        N_("export %(id)s (%(format)s, %(kind)s) failed"),
        {"id": task.id, "error": task.error[-300:], "owner_id": task.owner_id},
    )


def record_download(task: ExportTask, actor) -> None:
    """The owner fetched the file (the caller checked :meth:`ExportTask.owned_by` and ``downloadable``)."""
    _record(actor, "export.downloaded", task, N_("downloaded export %(id)s (%(format)s, %(kind)s)"))


def due_for_expiry(now: datetime, after: int | None = None, limit: int = 500) -> tuple[list[int], int | None]:
    """The next ``limit`` exports past their time still to mark expired (and whose file to delete), in
    id order after ``after``; and where the next batch starts (None after the last)."""
    stmt = select(ExportTask.id).where(ExportTask.status != EXPIRED, ExportTask.expires_at <= now)
    if after is not None:
        stmt = stmt.where(ExportTask.id > after)
    ids = list(db.session.scalars(stmt.order_by(ExportTask.id).limit(limit)))
    return ids, (ids[-1] if len(ids) == limit else None)


def expire(task_id: int, now: datetime | None = None) -> bool:
    """Delete an export's file and mark it expired (idempotent: False when there was nothing to do).
    A task that finishes gets a new expiry then; one still queued or running by now (it began
    ``EXPORT_RETENTION_HOURS`` ago) was lost with its worker, and its partial file goes too."""
    task = db.session.get(ExportTask, task_id)
    if task is None or task.status == EXPIRED or task.expires_at > (now or clock.now()):
        return False
    path = file_of(task)
    task.status = EXPIRED
    task.file_path = None
    _record(
        None,
        "export.deleted",
        task,
        N_("export %(id)s (%(format)s, %(kind)s) expired; its file was deleted"),
        {"id": task.id, "owner_id": task.owner_id},
    )
    db.session.flush()
    if path is not None:
        # After the row is changed: a failing delete raises and the job item rolls back, to retry.
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".part").unlink(missing_ok=True)
    return True


def recent_exports(user, limit: int = 20) -> list[ExportTask]:
    """The user's own exports, newest first (the exports page)."""
    return list(
        db.session.scalars(
            select(ExportTask)
            .where(ExportTask.owner_id == user.id)
            .order_by(ExportTask.id.desc())
            .limit(limit)
        )
    )
