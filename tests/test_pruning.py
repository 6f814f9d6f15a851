"""The prune-operational job (issue 18): old operational rows go, recent and unread ones stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit.export_tasks import DONE, EXPIRED, ExportTask
from marketplace.audit.models import AuditEvent
from marketplace.auth.models import LoginThrottle
from marketplace.core.jobruns import JobRun
from marketplace.core.notifications import Notification
from marketplace.extensions import db as _db
from marketplace.jobs import registry, runner


def _count(model, *where) -> int:
    return _db.session.scalar(select(func.count()).select_from(model).where(*where))


def _populate(db, world, now):
    days = timedelta(days=1)
    user = world["officer"]
    for age, status in ((100, "ok"), (10, "ok")):
        db.session.add(JobRun(job="old" if age > 90 else "new", started_at=now - age * days, status=status))
    for label, age, read in (("old-read", 400, True), ("old-unread", 400, False), ("new-read", 30, True)):
        db.session.add(
            Notification(
                user_id=user.id,
                kind="test",
                subject=label,
                created_at=now - age * days,
                read_at=now - (age - 1) * days if read else None,
            )
        )
    for label, age, status, path in (
        ("old-expired", 100, EXPIRED, None),
        ("new-expired", 10, EXPIRED, None),
        ("old-done", 100, DONE, "x.csv"),  # not expired yet by its job: left to expire-exports
    ):
        db.session.add(
            ExportTask(
                owner_id=user.id,
                kind="contracts",
                format="csv",
                filters={},
                status=status,
                download_name=label,
                file_path=path,
                created_at=now - age * days,
                expires_at=now - age * days,
            )
        )
    for key, last, locked in (
        ("idle", now - 2 * days, now - 2 * days),
        ("never-locked", now - 2 * days, None),
        ("recent", now - timedelta(hours=2), None),
        ("still-locked", now - 2 * days, now + timedelta(minutes=5)),
    ):
        db.session.add(LoginThrottle(key=key, failures=3, last_failure_at=last, locked_until=locked))
    db.session.commit()


def test_prune_deletes_old_rows_keeps_recent_and_unread_and_is_idempotent(app, world, db):
    now = clock.now()
    audit_before = _count(AuditEvent)
    _populate(db, world, now)

    run = runner.run_job("prune-operational")
    assert run.status == "ok", run.error
    assert run.details == {"job_runs": 1, "notifications": 1, "export_tasks": 1, "login_throttles": 2}
    assert run.changed == 5
    db.session.expire_all()
    assert {r.job for r in db.session.scalars(select(JobRun))} >= {"new", "prune-operational"}
    assert _count(JobRun, JobRun.job == "old") == 0
    assert sorted(db.session.scalars(select(Notification.subject).where(Notification.kind == "test"))) == [
        "new-read",
        "old-unread",
    ]
    assert sorted(db.session.scalars(select(ExportTask.download_name))) == ["new-expired", "old-done"]
    assert sorted(db.session.scalars(select(LoginThrottle.key))) == ["recent", "still-locked"]
    assert _count(AuditEvent) == audit_before  # the audit log is never pruned

    again = runner.run_job("prune-operational")
    assert again.status == "ok" and again.changed == 0 and again.id is None  # idle: no row


def test_retention_is_configurable(app, world, db, monkeypatch):
    now = clock.now()
    _populate(db, world, now)
    monkeypatch.setitem(app.config, "JOB_RUN_RETENTION_DAYS", 5)
    monkeypatch.setitem(app.config, "NOTIFICATION_RETENTION_DAYS", 10)
    counts = registry.get("prune-operational").run(now)
    db.session.commit()
    assert counts["job_runs"] == 2 and counts["notifications"] == 2  # unread stays even so
    assert _count(Notification, Notification.kind == "test", Notification.read_at.is_(None)) == 1


def test_prune_is_registered_on_its_own_interval(app):
    job = registry.get("prune-operational")
    assert job.due is None and job.interval_setting == "JOB_PRUNE_INTERVAL"
    assert app.config["JOB_RUN_RETENTION_DAYS"] == 90 and app.config["NOTIFICATION_RETENTION_DAYS"] == 365
