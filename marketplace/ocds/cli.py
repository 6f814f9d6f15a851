"""``flask export ocds``: a release package (or record package) of everything public, as one file."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from marketplace.export_cli import export_cli
from marketplace.ocds import services


@export_cli.command("ocds")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="File to write (UTF-8 JSON).",
)
@click.option("--records", is_flag=True, help="Write a record package (releases and compiled releases).")
def export_ocds_command(out_path: Path, records: bool):
    """Write the OCDS 1.1 open data of every published tender."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    kind = "records" if records else "releases"
    uri = f"{base}/api/v1/ocds/{kind}" if base else out_path.resolve().as_uri()
    tmp = out_path.with_name(out_path.name + ".part")
    with tmp.open("w", encoding="utf-8") as out:
        count = services.write_package(out, uri, records=records)
    tmp.replace(out_path)  # a reader never sees half a file
    click.echo(f"Wrote {count} {kind[:-1]}{'' if count == 1 else 's'} to {out_path}")
