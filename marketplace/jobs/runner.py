"""Running one job: the job's transaction edge.

:func:`run_job` claims the job's lock (so it runs once even when several processes are up), then
commits each due item on its own: a failing item is rolled back alone, recorded on the run with its
error, and the others go on (the next run tries it again). A set-based job is one unit. A per-item
job's due items are listed a batch of ``DUE_BATCH`` at a time. The run's record (``JobRun``) is
committed last, with a summary: counts and at most the first ``DETAIL_IDS`` keys (and failures),
never every id; only the first ``DETAIL_IDS`` failures are logged one by one. A run that finds the
lock taken (another process is running the job for this tick) writes nothing: it is logged at DEBUG
and returns an unsaved ``skipped`` run, so several schedulers leave no row per tick.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import datetime, timedelta

from flask import current_app

from marketplace import clock
from marketplace.core import jobruns
from marketplace.core.jobruns import DETAIL_IDS, JobRun
from marketplace.extensions import db
from marketplace.jobs.registry import Job, get

log = logging.getLogger("marketplace.jobs")

DUE_BATCH = 500  # due items listed at a time by a per-item job (a keyset: no run holds every id)


def _record(name: str, holder: str, started: datetime, status: str, changed: int, details: dict, error=None):
    run = JobRun(
        job=name,
        started_at=started,
        finished_at=clock.now(),
        status=status,
        changed=changed,
        details=details,
        error=error,
        host=holder,
    )
    db.session.add(run)
    return run


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc, limit=-8))[-4000:]


class _Outcome:
    """What a run did, in bounded memory: counts, the first DETAIL_IDS keys changed and failures."""

    def __init__(self, job: Job):
        self.job, self.changed, self.details = job, 0, {}
        self.changed_keys: list = []
        self.failures: list = []  # the first DETAIL_IDS (key, exception)
        self.failed = 0

    def add(self, key, result) -> None:
        if isinstance(result, dict):
            result = dict(result)
            self.changed += int(result.pop("changed", 0))
            self.details.update(result)
        elif result:
            self.changed += 1
            if len(self.changed_keys) < DETAIL_IDS:
                self.changed_keys.append(key)

    def fail(self, key, exc: BaseException) -> None:
        self.failed += 1
        if len(self.failures) < DETAIL_IDS:
            self.failures.append((key, exc))
            log.error("job %s failed on %r", self.job.name, key, exc_info=exc)

    @property
    def first_error(self) -> BaseException | None:
        return self.failures[0][1] if self.failures else None

    def summary(self) -> dict:
        details = dict(self.details)
        if self.job.due is not None:
            details[self.job.label] = self.changed_keys
            if self.changed > DETAIL_IDS:
                details[f"{self.job.label}_count"] = self.changed
        if self.failures:
            details["exception"] = type(self.first_error).__name__
            details["failed"] = [
                {"item": key, "error": f"{type(exc).__name__}: {exc}"[:300]} for key, exc in self.failures
            ]
            details["failed_count"] = self.failed
        return details


def _run_one(job: Job, started: datetime, key, outcome: _Outcome) -> None:
    try:
        result = job.run(started) if job.due is None else job.run(started, key)
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - recorded on the run; the other items go on
        db.session.rollback()
        outcome.fail(key, exc)
        return
    outcome.add(key, result)


def _run_units(job: Job, started: datetime) -> _Outcome:
    outcome = _Outcome(job)
    if job.due is None:
        _run_one(job, started, None, outcome)
        return outcome
    after = None
    while True:
        try:
            keys, after_next = job.due(started, after, DUE_BATCH)
            db.session.commit()  # end the read; each item gets its own transaction
        except Exception as exc:
            if after is None:
                raise  # nothing done yet: the run failed (recorded by run_job)
            db.session.rollback()  # the items done so far stay done and recorded
            outcome.fail(f"due after {after}", exc)
            return outcome
        for key in keys:
            _run_one(job, started, key, outcome)
        if after_next is None:
            return outcome
        after = after_next


def run_job(name: str) -> JobRun:
    """Run one job now under its lock. Never raises for a failing job or item (the error is recorded
    and logged); raises :class:`~marketplace.jobs.registry.UnknownJob` for a bad name."""
    job = get(name)
    holder = jobruns.holder_name()
    started = clock.now()
    ttl = timedelta(seconds=int(current_app.config["JOB_LOCK_SECONDS"]))
    claim = None
    try:
        claim = jobruns.claim(name, holder, started, ttl)
        db.session.commit()  # the lock row (SQLite) must be seen by the other processes now
        if claim is None:
            log.debug("job %s skipped: locked by another process", name)
            return JobRun(  # not saved: a tick another process has taken leaves no row
                job=name,
                started_at=started,
                finished_at=clock.now(),
                status="skipped",
                changed=0,
                details={"reason": "locked: another process is running this job"},
                host=holder,
            )
        outcome = _run_units(job, started)
    except Exception as exc:  # noqa: BLE001 - the lock or the due-list query failed
        db.session.rollback()
        log.exception("job %s failed", name)
        run = _record(name, holder, started, "error", 0, {"exception": type(exc).__name__}, _error_text(exc))
        if claim is not None:
            claim.release()
        db.session.commit()
        return run
    if not job.record_idle and not outcome.changed and not outcome.failures:
        claim.release()
        db.session.commit()
        return JobRun(
            job=name, started_at=started, finished_at=clock.now(), status="ok", changed=0, host=holder
        )
    status = "error" if outcome.failures else "ok"
    error = _error_text(outcome.first_error) if outcome.failures else None
    run = _record(name, holder, started, status, outcome.changed, outcome.summary(), error)
    claim.release()
    db.session.commit()
    log.info(
        "job %s %s: %d changed %s", name, status, outcome.changed, json.dumps(run.details, ensure_ascii=False)
    )
    return run


def describe(run: JobRun) -> str:
    details = json.dumps(run.details or {}, ensure_ascii=False, sort_keys=True)
    return f"{run.job}: {run.status}, {run.changed} changed {details}"
