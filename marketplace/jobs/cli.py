"""``flask jobs``: list the jobs, run one now, or run them all on their intervals."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from marketplace.core import jobruns
from marketplace.jobs import scheduler
from marketplace.jobs.registry import JOBS
from marketplace.jobs.runner import describe, run_job

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
    """Run the job NAME once now and print what it changed (the run commits its own work)."""
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
    scheduler.run_blocking(current_app._get_current_object())
