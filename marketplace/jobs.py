"""APScheduler wiring: each job calls a service, commits, and records its run.

A job is a function of "now" returning what it changed (``{"changed": n, ...ids and counts}``).
:func:`run_job` runs one under a lock, so it runs once even when several app processes are up
(an advisory lock on PostgreSQL, the ``job_locks`` row elsewhere), and commits the work with its
``JobRun`` record in one transaction. A run that finds the lock taken is recorded as ``skipped``
(the other process does the work); a failing run is rolled back and recorded as ``error``.

Three ways to run them: inside the web process when ``SCHEDULER_ENABLED`` (``make run``),
standalone with ``flask --app marketplace jobs run``, once with ``flask jobs run-once NAME``.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import click
from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from marketplace import clock
from marketplace.core import jobruns
from marketplace.core.jobruns import JobRun
from marketplace.core.permissions import ADMIN, _role, require, rule
from marketplace.extensions import db

log = logging.getLogger("marketplace.jobs")

bp = Blueprint("jobs", __name__)


# --- the jobs ---------------------------------------------------------------------------------


def _open_bids(now: datetime) -> dict:
    """Open the bids of tenders whose deadline passed (one query finds them; opening is per tender)."""
    from marketplace.tenders.bids import services as bid_services
    from marketplace.tenders.models import OPEN, Tender

    tenders = db.session.scalars(
        select(Tender).where(Tender.status == OPEN, Tender.bid_deadline <= now).order_by(Tender.id)
    ).all()
    opened = [t.id for t in tenders if bid_services.open_if_due(t)]
    return {"changed": len(opened), "opened": opened}


def _finalize_awards(now: datetime) -> dict:
    """Make awards final once their challenge window closed with no open challenge."""
    from marketplace.tenders.committee import services as award_services
    from marketplace.tenders.committee.models import Award
    from marketplace.tenders.models import Tender

    tenders = db.session.scalars(
        select(Tender)
        .where(
            Tender.id.in_(
                select(Award.tender_id).where(Award.status == "notice", Award.challenge_deadline < now)
            )
        )
        .order_by(Tender.id)
    ).all()
    finalized = [t.id for t in tenders if award_services.finalize_if_due(t)]
    return {"changed": len(finalized), "finalized": finalized}


def _flag_overdue(now: datetime) -> dict:
    from marketplace.contracts import schedule
    from marketplace.core.timeutil import local_date

    return schedule.flag_overdue(local_date(now))


def _send_reminders(now: datetime) -> dict:
    from marketplace.contracts import schedule
    from marketplace.core.timeutil import local_date

    return schedule.send_reminders(local_date(now), int(current_app.config["REMINDER_DAYS"]))


def _contract_deadlines(now: datetime) -> dict:
    from marketplace.contracts import schedule

    return schedule.contract_deadlines(now)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[datetime], dict]
    interval_setting: str  # the config key holding its interval in seconds
    description: str


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("open-bids", _open_bids, "JOB_FAST_INTERVAL", _l("Open the bids of tenders past their deadline")),
        Job(
            "finalize-awards",
            _finalize_awards,
            "JOB_FAST_INTERVAL",
            _l("Make awards final at the end of the challenge window"),
        ),
        Job(
            "flag-overdue",
            _flag_overdue,
            "JOB_SLOW_INTERVAL",
            _l("Flag milestones past due and not met; notify once a day"),
        ),
        Job(
            "send-reminders",
            _send_reminders,
            "JOB_SLOW_INTERVAL",
            _l("Remind organizations of milestones due soon"),
        ),
        Job(
            "contract-deadlines",
            _contract_deadlines,
            "JOB_SLOW_INTERVAL",
            _l("Flag contracts unsigned after 30 days; announce contracts ending soon"),
        ),
    )
}


class UnknownJob(LookupError):
    pass


def run_job(name: str) -> JobRun:
    """Run one job now, under its lock; commit its work with its run record. Never raises for a
    failing job (the error is recorded and logged); raises :class:`UnknownJob` for a bad name."""
    job = JOBS.get(name)
    if job is None:
        raise UnknownJob(name)
    holder = jobruns.holder_name()
    started = clock.now()
    ttl = timedelta(seconds=int(current_app.config["JOB_LOCK_SECONDS"]))
    locked = False
    try:
        locked = jobruns.try_lock(name, holder, started, ttl)
        if not locked:
            run = JobRun(
                job=name,
                started_at=started,
                finished_at=clock.now(),
                status="skipped",
                changed=0,
                details={"reason": "locked: another process is running this job"},
                host=holder,
            )
            db.session.add(run)
            db.session.commit()
            log.info("job %s skipped: locked by another process", name)
            return run
        details = dict(job.run(started) or {})
        changed = int(details.pop("changed", 0))
        run = JobRun(
            job=name,
            started_at=started,
            finished_at=clock.now(),
            status="ok",
            changed=changed,
            details=details,
            host=holder,
        )
        db.session.add(run)
        jobruns.release(name, holder)
        db.session.commit()
        log.info("job %s ok: %d changed %s", name, changed, json.dumps(details, ensure_ascii=False))
        return run
    except Exception as exc:  # noqa: BLE001 - recorded in the run log, the scheduler keeps going
        db.session.rollback()
        log.exception("job %s failed", name)
        summary = "".join(traceback.format_exception(exc, limit=-8))[-4000:]
        run = JobRun(
            job=name,
            started_at=started,
            finished_at=clock.now(),
            status="error",
            changed=0,
            details={"exception": type(exc).__name__},
            error=summary,
            host=holder,
        )
        db.session.add(run)
        if locked:
            jobruns.release(name, holder)
        db.session.commit()
        return run


def describe(run: JobRun) -> str:
    details = json.dumps(run.details or {}, ensure_ascii=False, sort_keys=True)
    return f"{run.job}: {run.status}, {run.changed} changed {details}"


# --- command line -----------------------------------------------------------------------------

jobs_cli = AppGroup("jobs", help="Scheduled jobs: list, run once, or run on their intervals.")


@jobs_cli.command("list")
def list_command():
    """The jobs, their intervals and last runs."""
    last = jobruns.last_runs()
    for job in JOBS.values():
        interval = current_app.config[job.interval_setting]
        previous = last.get(job.name)
        seen = f"last {previous.status} at {previous.started_at:%Y-%m-%d %H:%M}Z" if previous else "never run"
        click.echo(f"{job.name:<20} every {interval}s  {seen}  — {job.description}")


@jobs_cli.command("run-once")
@click.argument("name")
def run_once_command(name):
    """Run the job NAME once now and print what it changed."""
    if name not in JOBS:
        click.echo(f"Error: no job named {name!r}; jobs: {', '.join(JOBS)}", err=True)
        sys.exit(2)
    run = run_job(name)
    click.echo(describe(run))
    if run.status == "error":
        click.echo(run.error or "", err=True)
        sys.exit(1)


@jobs_cli.command("run")
def run_command():
    """Run every job on its interval until interrupted (Ctrl-C)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from marketplace.extensions import scheduler as background

    if background.running:  # SCHEDULER_ENABLED in this process too: one scheduler is enough
        background.shutdown(wait=False)
    scheduler = BlockingScheduler(timezone="UTC")
    _add_jobs(scheduler, current_app._get_current_object(), first_delay=1)
    click.echo(f"Running {len(JOBS)} jobs; Ctrl-C to stop.")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


# --- the scheduler ----------------------------------------------------------------------------


def _job_in_app(app: Flask, name: str) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            try:
                run_job(name)
            except Exception:  # noqa: BLE001 - a broken database must not stop the scheduler
                log.exception("job %s could not run", name)

    return run


def _add_jobs(scheduler, app: Flask, first_delay: int = 15) -> None:
    start = datetime.now(UTC) + timedelta(seconds=first_delay)
    for i, job in enumerate(JOBS.values()):
        scheduler.add_job(
            _job_in_app(app, job.name),
            "interval",
            seconds=int(app.config[job.interval_setting]),
            id=job.name,
            name=job.name,
            next_run_time=start + timedelta(seconds=2 * i),  # once shortly after start, staggered
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )


def _should_start_scheduler(app: Flask) -> bool:
    from werkzeug.serving import is_running_from_reloader

    if not app.config.get("SCHEDULER_ENABLED") or app.config.get("TESTING"):
        return False
    # With the reloader (debug), the watching parent process loads the app too: only the child runs jobs.
    return not (app.debug and not is_running_from_reloader())


def init_app(app: Flask) -> None:
    """Register the ``jobs`` CLI group and, when SCHEDULER_ENABLED, start the scheduler."""
    from marketplace.core.notifications import install_mail_hooks
    from marketplace.extensions import scheduler

    install_mail_hooks()
    app.cli.add_command(jobs_cli)
    if _should_start_scheduler(app) and not scheduler.running:
        _add_jobs(scheduler, app)
        scheduler.start()
        log.info("scheduler started with %d jobs", len(JOBS))


# --- the run log (admins) ---------------------------------------------------------------------


@rule("jobs.admin")
def _jobs_admin(user, obj=None):
    return _role(user, ADMIN)


def _require_admin():
    if not current_user.is_authenticated:
        from marketplace.extensions import login_manager

        return login_manager.unauthorized()
    require(current_user, "jobs.admin")
    return None


@bp.route("/admin/jobs")
def runs():
    from marketplace.core.web import page_args

    refused = _require_admin()
    if refused is not None:
        return refused
    job = request.args.get("job", "").strip()
    status = request.args.get("status", "").strip()
    job = job if job in JOBS else ""
    status = status if status in ("ok", "error", "skipped", "running") else ""
    page, per_page = page_args()
    pagination = db.paginate(jobruns.runs_query(job, status), page=page, per_page=per_page, error_out=False)
    args = {k: v for k, v in {"job": job, "status": status}.items() if v}
    return render_template(
        "jobs/runs.html",
        pagination=pagination,
        args=args,
        jobs=JOBS,
        last=jobruns.last_runs(),
        form=FlaskForm(),
    )


@bp.route("/admin/jobs/<name>/run", methods=["POST"])
def run_now(name: str):
    refused = _require_admin()
    if refused is not None:
        return refused
    if name not in JOBS:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    run = run_job(name)
    if run.status == "ok":
        flash(_("Job %(name)s ran: %(n)d changed.", name=name, n=run.changed), "success")
    elif run.status == "skipped":
        flash(_("Job %(name)s is running in another process; try again shortly.", name=name), "warning")
    else:
        flash(_("Job %(name)s failed; see the run log.", name=name), "danger")
    return redirect(url_for("jobs.runs", job=name))
