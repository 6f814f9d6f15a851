"""Export cells formatted by the database, and the session set up for it.

The export queries return every cell already as it is written (money as text with two decimals, dates
ISO, moments ISO 8601 in the display zone with their offset), so a CSV row goes from the cursor straight
into the csv writer. PostgreSQL formats with ``to_char`` in the display zone, set for the export's
transaction only (``set_config(..., true)``, restored when the export ends); SQLite has no time zones,
so the two moment formats are small Python functions registered on its connection.

``stream(stmt)`` runs a query with a server-side cursor: rows arrive in partitions of ``YIELD_ROWS``
and none is kept. While an export reads, PostgreSQL also plans for every row (not the first few) and
sorts in memory (``WORK_MEM``), for that transaction only.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Integer, String, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from marketplace.core.timeutil import zone
from marketplace.extensions import db

YIELD_ROWS = 2000  # rows per fetch from the server-side cursor
_CURSORS = itertools.count(1)
WORK_MEM = "256MB"  # PostgreSQL's sort memory while an export reads (its own transaction only)


class _Cell(FunctionElement):
    type = String()
    inherit_cache = True


class local_moment(_Cell):  # noqa: N801 - SQL function names read as lower case
    """A UTC moment as ISO 8601 in the display zone, to the second, with its offset."""

    name = "mp_local_moment"
    inherit_cache = True


class local_day(_Cell):  # noqa: N801
    """The display zone's date of a UTC moment, ISO."""

    name = "mp_local_day"
    inherit_cache = True


class iso_date(_Cell):  # noqa: N801
    """A date column as ISO text."""

    name = "mp_iso_date"
    inherit_cache = True


class month_of(_Cell):  # noqa: N801
    """A date column as YYYY-MM."""

    name = "mp_month_of"
    inherit_cache = True


class money(_Cell):  # noqa: N801
    """An amount as text with two decimals (NULL stays NULL)."""

    name = "mp_money"
    inherit_cache = True


class money_grouped(_Cell):  # noqa: N801
    """A (positive) amount with thousands separators and two decimals: 1,234.50."""

    name = "mp_money_grouped"
    inherit_cache = True


class array_length(_Cell):  # noqa: N801
    """The length of a JSON array; 0 for NULL or anything else."""

    type = Integer()
    name = "mp_array_length"
    inherit_cache = True


def _arg(element, compiler, **kw) -> str:
    return compiler.process(list(element.clauses)[0], **kw)


@compiles(local_moment, "postgresql")
def _pg_moment(element, compiler, **kw):
    return f"to_char({_arg(element, compiler, **kw)}, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')"


@compiles(local_day, "postgresql")
@compiles(iso_date, "postgresql")
def _pg_day(element, compiler, **kw):
    return f"to_char({_arg(element, compiler, **kw)}, 'YYYY-MM-DD')"


@compiles(month_of, "postgresql")
def _pg_month(element, compiler, **kw):
    return f"to_char({_arg(element, compiler, **kw)}, 'YYYY-MM')"


@compiles(money, "postgresql")
def _pg_money(element, compiler, **kw):
    return f"CAST(ROUND({_arg(element, compiler, **kw)}, 2) AS TEXT)"


@compiles(money_grouped, "postgresql")
def _pg_money_grouped(element, compiler, **kw):
    return f"to_char({_arg(element, compiler, **kw)}, 'FM999,999,999,999,990.00')"


@compiles(array_length, "postgresql")
def _pg_array_length(element, compiler, **kw):
    arg = _arg(element, compiler, **kw)
    return f"(CASE WHEN json_typeof({arg}) = 'array' THEN json_array_length({arg}) ELSE 0 END)"


@compiles(local_moment, "sqlite")
def _sqlite_moment(element, compiler, **kw):
    return f"mp_local_moment({_arg(element, compiler, **kw)})"


@compiles(local_day, "sqlite")
def _sqlite_local_day(element, compiler, **kw):
    return f"mp_local_day({_arg(element, compiler, **kw)})"


@compiles(iso_date, "sqlite")
def _sqlite_iso_date(element, compiler, **kw):
    return _arg(element, compiler, **kw)  # stored as YYYY-MM-DD


@compiles(month_of, "sqlite")
def _sqlite_month(element, compiler, **kw):
    return f"substr({_arg(element, compiler, **kw)}, 1, 7)"


@compiles(money, "sqlite")
def _sqlite_money(element, compiler, **kw):
    arg = _arg(element, compiler, **kw)
    return f"(CASE WHEN {arg} IS NULL THEN NULL ELSE printf('%.2f', {arg}) END)"


@compiles(money_grouped, "sqlite")
def _sqlite_money_grouped(element, compiler, **kw):
    cents = f"CAST(round({_arg(element, compiler, **kw)} * 100) AS INTEGER)"
    return f"printf('%,d.%02d', {cents} / 100, {cents} % 100)"


@compiles(array_length, "sqlite")
def _sqlite_array_length(element, compiler, **kw):
    return f"coalesce(json_array_length({_arg(element, compiler, **kw)}), 0)"


def _sqlite_functions(connection) -> None:
    """The display zone's moment formats, as functions of the SQLite connection (stored naive UTC text)."""
    tz = zone()

    def moment(value):
        if value is None:
            return None
        return datetime.fromisoformat(value).replace(tzinfo=UTC).astimezone(tz).isoformat(timespec="seconds")

    def day(value):
        if value is None:
            return None
        return datetime.fromisoformat(value).replace(tzinfo=UTC).astimezone(tz).date().isoformat()

    raw = connection.connection.driver_connection
    raw.create_function("mp_local_moment", 1, moment, deterministic=True)
    raw.create_function("mp_local_day", 1, day, deterministic=True)


@contextmanager
def formatting_session():
    """Set up the session's connection for the formatting functions while an export reads."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        _sqlite_functions(connection)
        yield
        return
    previous = connection.scalar(select(func.current_setting("TimeZone")))
    _set(connection, "TimeZone", str(zone()))
    # A server-side cursor is planned for its first rows (cursor_tuple_fraction 0.1: nested loops);
    # an export reads every row, so plan for all of them (hash joins, one sort).
    _set(connection, "cursor_tuple_fraction", "1")
    # The history kind sorts a few rows per contract step by step: in memory rather than on disk.
    _set(connection, "work_mem", WORK_MEM)
    yield
    # Put the zone back for the rest of the transaction (after an error it is rolled back anyway).
    _set(connection, "TimeZone", previous)


def _set(connection, name: str, value: str) -> None:
    """A PostgreSQL setting for the current transaction only (``SET LOCAL``)."""
    connection.execute(select(func.set_config(name, value, literal_column("true"))))


def stream(stmt) -> Iterator[list]:
    """The rows of ``stmt`` in partitions of ``YIELD_ROWS``, from a server-side cursor; none is kept.

    On PostgreSQL the statement runs on psycopg's own named cursor (rows come as plain tuples, parsed
    in C: no result object per row); its parameters are plain values psycopg adapts (numbers, text,
    aware moments). SQLite streams through SQLAlchemy (``yield_per``)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        yield from _server_cursor(connection, stmt)
        return
    result = connection.execute(stmt.execution_options(yield_per=YIELD_ROWS))
    try:
        yield from result.partitions()
    finally:
        result.close()


def _server_cursor(connection, stmt) -> Iterator[list]:
    compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    # A name of its own: a JSON export reads several kinds at once.
    cursor = connection.connection.driver_connection.cursor(name=f"mp_export_{next(_CURSORS)}")
    try:
        cursor.execute(compiled.string, compiled.construct_params())
        while part := cursor.fetchmany(YIELD_ROWS):
            yield part
    finally:
        cursor.close()
