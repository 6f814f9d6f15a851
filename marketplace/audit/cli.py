"""``flask export contracts``: contract summaries and histories as CSV, XLSX or JSON; ``flask export
worker``: the worker that writes the exports asked for on the web (background tasks on Redis)."""

from __future__ import annotations

import sys

import click
from flask import current_app

from marketplace.audit.export_columns import EXPORT_KINDS
from marketplace.audit.exports import FORMATS, export_contracts, record_export
from marketplace.audit.filters import parse_filter
from marketplace.core import tasks, transaction
from marketplace.core.errors import RuleViolation
from marketplace.export_cli import export_cli


@export_cli.command("contracts")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="File format.")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    help="The file to write ('-' writes to standard output).",
)
@click.option(
    "--kind",
    type=click.Choice(EXPORT_KINDS),
    default="contracts",
    show_default=True,
    help="CSV only: which records the file holds (one kind per CSV file). XLSX holds every kind as a "
    "sheet; JSON nests them in each contract.",
)
@click.option("--district", help="County code of the tender, e.g. 110101.")
@click.option("--agency", help="Agency id.")
@click.option("--organization", help="Organization id.")
@click.option("--category", help="Service category, e.g. elderly_care.")
@click.option("--from", "date_from", metavar="YYYY-MM-DD", help="Contract date on or after (local date).")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", help="Contract date on or before (local date).")
@click.option("--status", help="draft, active, completed or terminated.")
@transaction.command
def export_contracts_command(
    fmt, out, kind, district, agency, organization, category, date_from, date_to, status
):
    """Export contract summaries and histories.

    CSV files are UTF-8 with a byte-order mark (spreadsheet programs show Chinese correctly) and hold
    one kind of record (--kind). XLSX has one sheet per kind: contracts, milestones, payments,
    variations, service_record_totals, evaluations, history. JSON is one object whose "contracts"
    list nests the rest. The contract date is the day both parties signed (the drafting day while unsigned).
    The export is recorded in the audit log (actor "system")."""
    if kind != "contracts" and fmt != "csv":
        raise click.UsageError("--kind applies to CSV exports only (XLSX and JSON hold every kind).")
    try:
        f = parse_filter(
            {
                "district": district,
                "agency": agency,
                "organization": organization,
                "category": category,
                "from": date_from,
                "to": date_to,
                "status": status,
            }
        )
    except RuleViolation as exc:
        option = {"from": "--from", "to": "--to"}.get(exc.field or "", f"--{exc.field}")
        raise click.BadParameter(exc.message, param_hint=option) from None
    if out == "-":
        export_contracts(f, fmt, sys.stdout.buffer, kind)
    else:
        with open(out, "wb") as handle:
            export_contracts(f, fmt, handle, kind)
    record_export(f, fmt, kind, None, "cli")
    if out != "-":
        click.echo(f"Wrote {out}", err=True)


@export_cli.command("worker")
@click.option("--burst", is_flag=True, help="Write the exports waiting in the queue, then stop.")
def export_worker_command(burst):
    """Write the exports asked for on the web (XLSX, JSON, large CSV), from the Redis queue.

    Needs REDIS_URL; reads the queue EXPORT_QUEUE (default "exports"). Each export runs in this process
    (RQ's SimpleWorker, inside the app); run several workers for exports in parallel. Without REDIS_URL
    the web process writes each export itself, right after the request that asked for it."""
    if not current_app.config.get("REDIS_URL"):
        raise click.UsageError("REDIS_URL is not set: exports are written by the web process itself.")
    tasks.work([current_app.config["EXPORT_QUEUE"]], burst=burst)
