"""docs/benchmarks.md is written by several benchmarks: each owns one ``## section``."""

from __future__ import annotations

import platform
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine() -> str:
    cores = len(__import__("os").sched_getaffinity(0))
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}"


def fresh_pg_database(server: str, name: str) -> str:
    """Drop and create the database ``name`` on the PostgreSQL server of URL ``server``; its URL."""
    import sqlalchemy as sa

    url = sa.engine.make_url(server)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def write_section(title: str, intro: str, table: str) -> None:
    """Replace the section ``## title`` (or append it) with ``intro``, the machine and ``table``."""
    text = DOC.read_text("utf-8") if DOC.exists() else "# Benchmarks\n"
    body = f"## {title}\n\n{intro}\nMachine: {machine()}.\n\n{table}\n"
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip() == f"## {title}"), None)
    if start is None:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        text = (
            "\n".join(lines[:start])
            + "\n"
            + body
            + ("\n" + "\n".join(lines[end:]) if end < len(lines) else "")
        )
    DOC.write_text(text.rstrip("\n") + "\n", "utf-8")
