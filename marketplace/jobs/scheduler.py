"""APScheduler wiring: each job runs on its interval in an app context of its own.

Three ways to run them: inside the web process when ``SCHEDULER_ENABLED`` (``make run``),
standalone with ``flask --app marketplace jobs run``, once with ``flask jobs run-once NAME``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import click
from flask import Flask
from sqlalchemy.orm import configure_mappers
from werkzeug.serving import is_running_from_reloader

from marketplace.core import heartbeat
from marketplace.extensions import scheduler as background
from marketplace.jobs.registry import JOBS
from marketplace.jobs.runner import run_job

log = logging.getLogger("marketplace.jobs")


def job_in_app(app: Flask, name: str) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            try:
                run_job(name)
            except Exception:  # noqa: BLE001 - a broken database must not stop the scheduler
                log.exception("job %s could not run", name)

    return run


def add_jobs(scheduler, app: Flask, first_delay: int = 15) -> None:
    start = datetime.now(UTC) + timedelta(seconds=first_delay)
    for i, job in enumerate(JOBS.values()):
        scheduler.add_job(
            job_in_app(app, job.name),
            "interval",
            seconds=int(app.config[job.interval_setting]),
            id=job.name,
            name=job.name,
            next_run_time=start + timedelta(seconds=2 * i),  # once shortly after start, staggered
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )


def heartbeat_in_app(app: Flask) -> Callable[[], None]:
    """The scheduler says it is alive (``/readyz``): a Redis key with a time to live, each minute."""

    def beat() -> None:
        try:
            heartbeat.beat(app.config["REDIS_URL"], int(app.config["SCHEDULER_HEARTBEAT_MAX_AGE"]))
        except Exception:  # noqa: BLE001 - Redis away must not stop the jobs
            log.exception("scheduler heartbeat could not be written")

    return beat


def add_heartbeat(scheduler, app: Flask) -> None:
    if not app.config.get("REDIS_URL"):
        return  # /readyz reads the newest job run instead
    scheduler.add_job(
        heartbeat_in_app(app),
        "interval",
        seconds=heartbeat.INTERVAL_SECONDS,
        id="heartbeat",
        name="heartbeat",
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )


def should_start(app: Flask) -> bool:
    if not app.config.get("SCHEDULER_ENABLED") or app.config.get("TESTING"):
        return False
    # With the reloader (debug), the watching parent process loads the app too: only the child runs jobs.
    return not (app.debug and not is_running_from_reloader())


def prepare() -> None:
    """What a process that runs the jobs does once, at its start: configure the ORM mappers, which the
    first ORM statement would otherwise do (about half a second) inside the first job's run."""
    configure_mappers()


def run_blocking(app: Flask) -> None:
    """``flask jobs run``: the jobs in this process, in the foreground, until Ctrl-C."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    if background.running:  # SCHEDULER_ENABLED in this process too: one scheduler is enough
        background.shutdown(wait=False)
    scheduler = BlockingScheduler(timezone="UTC")
    prepare()
    add_jobs(scheduler, app, first_delay=1)
    add_heartbeat(scheduler, app)
    click.echo(f"Running {len(JOBS)} jobs; Ctrl-C to stop.")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


def start_in_process(app: Flask) -> None:
    """When SCHEDULER_ENABLED (``make run``), run the jobs in a thread of this process."""
    if should_start(app) and not background.running:
        prepare()
        add_jobs(background, app)
        add_heartbeat(background, app)
        background.start()
        log.info("scheduler started with %d jobs", len(JOBS))
