"""``flask redflags compute [--full]``: run the red-flags job now (each indicator committed on its own
by the job runner, as the scheduler runs it)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from marketplace.jobs.runner import describe, run_job

redflags_cli = AppGroup("redflags", help="Red flags for auditors (docs/red-flags.md).")


@redflags_cli.command("compute")
@click.option(
    "--full", is_flag=True, help="Recompute every process, not only those changed since the last run."
)
def compute_command(full):
    """Compute the red flags now: the processes changed since the last run, or all with --full."""
    run = run_job("red-flags-full" if full else "red-flags")
    click.echo(describe(run))
    if run.status == "error":
        click.echo(run.error or "", err=True)
        sys.exit(1)
