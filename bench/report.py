"""docs/benchmarks.md is written by several benchmarks: each owns one ``## section``."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def postgres_version(url: str) -> str:
    """The server's version (``15.20``), or "" when it cannot be reached."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SHOW server_version").scalar()
        engine.dispose()
        return str(version).split()[0]
    except sa.exc.SQLAlchemyError:
        return ""


def machine(postgres: str | None = None) -> str:
    cores = len(os.sched_getaffinity(0))
    text = f"{platform.machine()}, {cpu_model()}, {cores} cores, Python {platform.python_version()}"
    if postgres:
        text += f", PostgreSQL {postgres}"
    return text


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


def write_section(title: str, intro: str, table: str, postgres: str | None = None) -> None:
    """Replace the section ``## title`` (or append it) with ``intro``, the machine, the date and ``table``."""
    text = DOC.read_text("utf-8") if DOC.exists() else "# Benchmarks\n"
    stamp = f"{datetime.now(UTC):%Y-%m-%d}"
    body = f"## {title}\n\n{intro}\nMachine: {machine(postgres)}; run on {stamp}.\n\n{table}\n"
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
