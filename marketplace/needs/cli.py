"""``flask needs``: load grids from CSV (as the districts are loaded), and assign grid workers."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import GRID_WORKER
from marketplace.core.transaction import command
from marketplace.extensions import db
from marketplace.needs import services
from marketplace.needs.models import Grid

needs_cli = AppGroup("needs", help="Residents' needs: grids and grid workers (docs/needs.md).")


@needs_cli.command("load-grids")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@command
def load_grids(path: Path) -> None:
    """Create or update grids from a CSV file: code,name,community_code,households,population,workers
    (workers: grid workers' emails separated by ';'). One bad row changes nothing."""
    try:
        counts = services.load_grids(path.read_text(encoding="utf-8-sig"), None)
    except (RuleViolation, UnicodeDecodeError) as exc:
        click.echo(getattr(exc, "message", str(exc)), err=True)
        sys.exit(2)
    click.echo(f"grids: {counts['created']} created, {counts['updated']} updated")


@needs_cli.command("assign")
@click.argument("email")
@click.argument("grid_code")
@command
def assign(email: str, grid_code: str) -> None:
    """Make the grid worker EMAIL a worker of the grid GRID_CODE."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    grid = db.session.scalar(select(Grid).where(Grid.code == grid_code))
    if user is None or user.role != GRID_WORKER:
        click.echo(f"{email}: no grid worker account with this email", err=True)
        sys.exit(2)
    if grid is None:
        click.echo(f"{grid_code}: no such grid", err=True)
        sys.exit(2)
    if user not in grid.workers:
        grid.workers.append(user)
    click.echo(f"{email} works in grid {grid_code}")
