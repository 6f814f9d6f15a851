"""The ``prune-operational`` job: delete the operational rows nobody needs any more, set-based.

- the scheduled jobs' run log (``job_runs``) older than ``JOB_RUN_RETENTION_DAYS``;
- notifications already read, created more than ``NOTIFICATION_RETENTION_DAYS`` ago (an unread one
  stays, however old: nobody has seen it yet). A notification is a copy of an event for its reader,
  not a procurement file: the 15-year rule covers the documents and the audit log, never touched here;
- background export tasks the ``expire-exports`` job already expired (their file is gone) more than
  ``EXPORT_TASK_RETENTION_DAYS`` ago; that job stays the one that deletes files;
- sign-in throttle rows whose lock has passed and whose last failure is more than a day old (a
  failure after that starts the count again, as a success does).

One DELETE per table, whatever the number of rows. The counts per table are the run's details (the
run log records them) and a log line.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_

from marketplace.audit.export_tasks import EXPIRED, ExportTask
from marketplace.auth.models import LoginThrottle
from marketplace.core.jobruns import JobRun
from marketplace.core.notifications import Notification
from marketplace.extensions import db

log = logging.getLogger("marketplace.jobs")

THROTTLE_IDLE = timedelta(days=1)


def _days(setting: str) -> timedelta:
    return timedelta(days=int(current_app.config[setting]))


def _delete(stmt) -> int:
    return db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount or 0


def prune(now: datetime) -> dict:
    """Delete what is past its retention as of ``now``; returns the counts per table."""
    counts = {
        "job_runs": _delete(delete(JobRun).where(JobRun.started_at < now - _days("JOB_RUN_RETENTION_DAYS"))),
        "notifications": _delete(
            delete(Notification).where(
                Notification.read_at.is_not(None),
                Notification.created_at < now - _days("NOTIFICATION_RETENTION_DAYS"),
            )
        ),
        "export_tasks": _delete(
            delete(ExportTask).where(
                ExportTask.status == EXPIRED,
                ExportTask.file_path.is_(None),
                ExportTask.expires_at < now - _days("EXPORT_TASK_RETENTION_DAYS"),
            )
        ),
        "login_throttles": _delete(
            delete(LoginThrottle).where(
                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
                LoginThrottle.last_failure_at < now - THROTTLE_IDLE,
            )
        ),
    }
    total = sum(counts.values())
    if total:
        log.info("pruned %d operational row(s): %s", total, counts)
    return {"changed": total, **counts}
