"""Command-line verbs: ``users create``, ``seed demo``, ``districts load``, ``calendar load``.

Each command is one transaction (``core.transaction.command``): it commits when the command returns,
or rolls back when it fails or exits non-zero.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from marketplace.core import transaction
from marketplace.core.errors import RuleViolation
from marketplace.extensions import db

users_cli = AppGroup("users", help="Manage accounts.")
seed_cli = AppGroup("seed", help="Load demo data.")
districts_cli = AppGroup("districts", help="Administrative-division reference data.")
calendar_cli = AppGroup("calendar", help="Working-day calendar.")
keys_cli = AppGroup("keys", help="The platform's wrapping key for sealed bids (docs/bidding.md).")


def _fail(message: str) -> None:
    """Print the error and exit 1: the command's edge rolls back."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@users_cli.command("create")
@click.option("--email", required=True)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["officer", "org_member", "evaluator", "auditor", "admin", "grid_worker"]),
)
@click.option("--password", required=True)
@click.option("--name", default="")
@click.option("--agency", default=None, help="Agency id or exact name (officers only).")
@transaction.command
def create_user_command(email, role, password, name, agency):
    from marketplace.auth import services

    agency_obj = None
    if agency:
        agency_obj = services.find_agency(agency)
        if agency_obj is None:
            _fail(f"no agency {agency!r}")
    try:
        user = services.create_user(email=email, role=role, password=password, name=name, agency=agency_obj)
    except RuleViolation as exc:
        _fail(exc.message)
    click.echo(f"Created {user.role} {user.email} (id {user.id})")


@users_cli.command("deactivate")
@click.option("--email", required=True)
@transaction.command
def deactivate_user_command(email):
    from marketplace.auth import services

    user = services.find_user_by_email(email)
    if user is None:
        _fail(f"no user {email!r}")
    services.set_active(user, False, actor=None)
    click.echo(f"Deactivated {user.email}")


@seed_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@transaction.command
def seed_demo_command(if_empty):
    from marketplace import demo

    if if_empty and demo.has_data():
        click.echo("Database already has data; demo not loaded.")
        return
    summary = demo.load_demo()
    click.echo("Demo data loaded: " + ", ".join(f"{k} {v}" for k, v in summary.items()))


@seed_cli.command("logins")
def seed_logins_command():
    from marketplace import demo

    click.echo(demo.logins_text())


@districts_cli.command("load")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@transaction.command
def districts_load_command(csv_file: Path):
    """Load divisions from a CSV with columns code,name,name_en,level,parent_code."""
    from marketplace.core import districts

    try:
        rows = districts.read_csv(csv_file.read_text("utf-8-sig"))
        n = districts.load(rows)
    except (ValueError, KeyError) as exc:
        _fail(f"bad districts file: {exc}")
    click.echo(f"Loaded {n} divisions.")


@calendar_cli.command("load")
@transaction.command
def calendar_load_command():
    """Insert the bundled official holiday rows that are missing."""
    from marketplace.core import calendar

    n = calendar.load_bundled()
    click.echo(f"Added {n} calendar days.")


@calendar_cli.command("set")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("kind", type=click.Choice(["holiday", "workday", "normal"]))
@click.argument("name", default="")
@transaction.command
def calendar_set_command(day, kind, name):
    """Mark DAY as a public holiday, a make-up working day (调休), or back to normal.

    For the next year's official notice when it is published (e.g. 2027-01-01 holiday 元旦).
    """
    from marketplace.core import calendar

    row = db.session.get(calendar.CalendarDay, day.date())
    if kind == "normal":
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(calendar.CalendarDay(day=day.date(), kind=kind, name=name))
    else:
        row.kind, row.name = kind, name or row.name
    from marketplace.audit import log as audit

    audit.record(None, "calendar.set", "calendar_day", day.date().isoformat(), f"{kind} {name}".strip())
    click.echo(f"{day.date().isoformat()}: {kind}")


@keys_cli.command("new")
def keys_new_command():
    """Print a new wrapping key, to put first in BID_KEY_WRAPPING_KEYS (never stored by the platform)."""
    from marketplace.core.keyring import new_key

    click.echo(new_key())


@keys_cli.command("rotate")
@transaction.command
def keys_rotate_command():
    """Re-wrap every wrapped value with the first key of BID_KEY_WRAPPING_KEYS (one transaction)."""
    from marketplace.core.keyring import KeyringError
    from marketplace.tenders.bids.ceremony.rotation import rotate_wrapping_key

    try:
        result = rotate_wrapping_key()
    except KeyringError as exc:
        _fail(f"{exc}: keep every key still in use in BID_KEY_WRAPPING_KEYS; nothing was changed.")
    click.echo(
        f"Re-wrapped {result.platform_parts} platform part(s), {result.contributions} contribution(s), "
        f"{result.attachment_keys} draft attachment key(s) with the newest key. The older keys can be "
        "removed from BID_KEY_WRAPPING_KEYS."
    )


def register(app: Flask) -> None:
    import marketplace.audit.cli  # noqa: F401 - adds ``export contracts``
    import marketplace.ocds.cli  # noqa: F401 - adds ``export ocds``
    from marketplace.audit.chain_cli import audit_cli
    from marketplace.backup import backup_cli
    from marketplace.export_cli import export_cli

    for group in (users_cli, seed_cli, districts_cli, calendar_cli, keys_cli, export_cli, audit_cli):
        app.cli.add_command(group)
    app.cli.add_command(backup_cli)
