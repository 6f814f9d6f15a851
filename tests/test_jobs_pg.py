"""Two processes running the same job at once on PostgreSQL do the work once (an advisory lock).

These tests commit for real (other processes must see the data) and empty every table afterwards.
The child processes use the real clock, so the milestone is due yesterday in real local time.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from marketplace.contracts.models import Milestone
from marketplace.core.jobruns import JobRun, advisory_key
from marketplace.core.notifications import Notification
from marketplace.extensions import db
from tests import contract_factories as cf
from tests import factories
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="job lock tests need PostgreSQL: set TEST_DATABASE_URL")

ROOT = Path(__file__).resolve().parent.parent


def _overdue_milestone() -> tuple[int, int]:
    """An active contract whose milestone was due yesterday (real local time); (milestone id, recipients)."""
    world = factories.world()
    yesterday = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)
    contract, _org, _member = cf.contract_rows(world, milestones=[("并发逾期", yesterday, "280000.00")])
    db.session.commit()
    recipients = 2  # the agency's officer and the organization's member
    return contract.milestones[0].id, recipients


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": PG_URL, "MARKETPLACE_ENV": "development", "SCHEDULER_ENABLED": "0"}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "marketplace", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _counts(milestone_id: int) -> tuple[int, int | None]:
    db.session.remove()
    notes = db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.kind == "milestone.overdue")
    )
    return notes, db.session.get(Milestone, milestone_id).overdue_days


def test_a_process_holding_the_lock_makes_the_cli_skip(app, committed):
    milestone_id, recipients = _overdue_milestone()
    holder = sa.create_engine(PG_URL).connect()
    try:
        holder.execute(sa.select(sa.func.pg_advisory_lock(advisory_key("flag-overdue"))))
        r = _cli("jobs", "run-once", "flag-overdue")
        assert r.returncode == 0, r.stderr
        assert "flag-overdue: skipped, 0 changed" in r.stdout
        assert _counts(milestone_id) == (0, None)
        holder.execute(sa.select(sa.func.pg_advisory_unlock(advisory_key("flag-overdue"))))
    finally:
        holder.close()
    r = _cli("jobs", "run-once", "flag-overdue")
    assert r.returncode == 0 and "flag-overdue: ok, 1 changed" in r.stdout, (r.stdout, r.stderr)
    assert _counts(milestone_id) == (recipients, 1)
    r = _cli("jobs", "run-once", "flag-overdue")
    assert "flag-overdue: ok, 0 changed" in r.stdout, (r.stdout, r.stderr)
    assert _counts(milestone_id) == (recipients, 1)


def _worker(barrier, results, hold_seconds: float) -> None:
    """A separate process: its own app and connections, released at the barrier."""
    import time

    from marketplace import create_app
    from marketplace.jobs import registry, runner

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": PG_URL,
            "LOG_LEVEL": "WARNING",
            "SCHEDULER_ENABLED": False,
        }
    )
    original = registry.JOBS["flag-overdue"]

    def slow(now):
        details = original.run(now)
        time.sleep(hold_seconds)  # keep the transaction (and its lock) open a while
        return details

    registry.JOBS["flag-overdue"] = registry.Job("flag-overdue", slow, original.interval_setting, "")
    with app.app_context():
        barrier.wait(30)
        run = runner.run_job("flag-overdue")
        results.put((run.status, run.changed))


def _race(hold_seconds: float) -> list[tuple[str, int]]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(barrier, results, hold_seconds)) for _ in range(2)]
    for p in procs:
        p.start()
    outcome = sorted(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return outcome


def test_two_processes_at_once_do_the_work_once_while_one_holds_the_lock(app, committed):
    milestone_id, recipients = _overdue_milestone()
    outcome = _race(hold_seconds=2.0)
    assert outcome == [("ok", 1), ("skipped", 0)]
    assert _counts(milestone_id) == (recipients, 1)
    runs = db.session.scalars(select(JobRun).order_by(JobRun.status)).all()
    assert [(r.status, r.changed) for r in runs] == [("ok", 1)]  # the skipped tick wrote no row


def test_two_processes_started_together_never_double_the_work(app, committed):
    milestone_id, recipients = _overdue_milestone()
    outcome = _race(hold_seconds=0)
    # Either the second waits out nothing and finds the work done (ok, 0) or meets the lock (skipped).
    assert sorted(changed for _status, changed in outcome) == [0, 1]
    assert {status for status, _c in outcome} <= {"ok", "skipped"}
    assert _counts(milestone_id) == (recipients, 1)
