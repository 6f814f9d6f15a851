"""Writing a background export: the export task's transaction edge (like ``jobs/runner.py`` for a job).

:func:`run_export` is what the task queue runs (:mod:`marketplace.core.tasks`: an RQ worker, or this
process after the request's commit). It commits three times, each a unit of its own:

1. the task taken (``running``, with the number of contracts to write), so its page shows it;
2. the file written, in a read-only transaction (on SQLite it begins deferred, so writers elsewhere
   are not held up), to ``EXPORT_FOLDER/<id>-<random>.<format>.part``, renamed when complete;
   meanwhile, on an RQ worker, the progress is saved every ``EXPORT_PROGRESS_SECONDS`` on a
   connection of its own (the status page polls it);
3. the outcome: ``done`` with the file's size, or ``failed`` with the error (the partial file deleted),
   and its audit event.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
import traceback

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import update

from marketplace.audit import export_tasks
from marketplace.audit.export_tasks import ExportTask
from marketplace.audit.exports import export_contracts, units
from marketplace.audit.filters import parse_filter
from marketplace.core import replica, transaction
from marketplace.extensions import db

log = logging.getLogger("marketplace.exports")


class _Progress:
    """Saves how far the export got, at most every ``EXPORT_PROGRESS_SECONDS``, on its own connection
    (the export's transaction commits nothing until it is done). Never fails the export."""

    def __init__(self, task_id: int, every: float):
        self.task_id, self.every, self.last = task_id, every, time.monotonic()

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        try:
            transaction.commit_beside(
                update(ExportTask).where(ExportTask.id == self.task_id).values(progress_done=done)
            )
        except Exception:  # noqa: BLE001 - a progress bar is not worth an export
            log.warning("export %s: progress not saved", self.task_id, exc_info=True)


def _take(task_id: int) -> tuple | None:
    """Mark the task running (commit); its filter, format, kind and file as they were taken. The row is
    locked meanwhile, so a task handed out twice is written once."""
    task = db.session.get(ExportTask, task_id, with_for_update=True)
    if task is None:
        db.session.rollback()
        return None
    try:
        total = units(task.contract_filter(), task.format)
    except Exception as exc:  # noqa: BLE001 - e.g. a district removed since: the export fails, recorded
        db.session.rollback()
        _finish_failed(task_id, exc)
        return None
    if not export_tasks.start(task, total):
        db.session.rollback()
        return None
    task.file_path = f"{task.id}-{secrets.token_hex(8)}.{task.format}"
    taken = (dict(task.filters), task.format, task.kind, task.file_path)
    transaction.commit_task_step()
    return taken


def _finish_failed(task_id: int, exc: BaseException) -> None:
    task = db.session.get(ExportTask, task_id)
    if task is not None:
        export_tasks.fail(task, "".join(traceback.format_exception_only(exc)).strip())
        task.file_path = None
    transaction.commit_task_step()


def run_export(task_id: int) -> str:
    """Write one queued export and record how it ended. Returns the task's status ("missing" when there
    is no such task). Never raises for a failing export: the failure is recorded on the task."""
    taken = _take(task_id)
    if taken is None:
        found = db.session.get(ExportTask, task_id)
        status = found.status if found is not None else "missing"
        db.session.rollback()
        return status
    filters, fmt, kind, file_path = taken
    language = filters.pop(export_tasks.LANGUAGE_KEY, None) or current_app.config["BABEL_DEFAULT_LOCALE"]
    final = export_tasks.folder() / file_path
    partial = final.with_name(final.name + ".part")
    every = float(current_app.config["EXPORT_PROGRESS_SECONDS"])
    progress = _Progress(task_id, every) if current_app.config.get("REDIS_URL") else None
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        with transaction.reading(), replica.reads(), force_locale(language), open(partial, "wb") as out:
            export_contracts(parse_filter(filters), fmt, out, kind, progress=progress)
            db.session.rollback()  # the read-only transaction ends
        os.replace(partial, final)
        task = db.session.get(ExportTask, task_id)
        export_tasks.complete(task, file_path, final.stat().st_size)
        transaction.commit_task_step()
        return task.status
    except Exception as exc:  # noqa: BLE001 - recorded on the task
        db.session.rollback()
        log.exception("export %s failed", task_id)
        for path in (partial, final):
            path.unlink(missing_ok=True)
        _finish_failed(task_id, exc)
        return export_tasks.FAILED
