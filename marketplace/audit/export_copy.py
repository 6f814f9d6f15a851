"""CSV exports written by PostgreSQL itself: ``COPY (SELECT …) TO STDOUT (FORMAT csv)``.

The fast path of a CSV export on PostgreSQL (issue 16, goal 2). The query is the kind's own
(:mod:`marketplace.audit.export_rows`, :mod:`marketplace.audit.export_history`) with every cell written
by the database exactly as the Python path writes it, so the file is byte for byte the same:

- text cells neutralized against formula injection (:func:`~marketplace.audit.export_columns.neutral`)
  and empty text written as NULL (COPY quotes an empty string, ``""``; Python's csv writer does not);
- the history's kind of step (:func:`marketplace.audit.history.kind_of`) as a CASE over the same table;
- an audit event's text (:meth:`marketplace.audit.export_history._Texts.render`) in the export's
  language: the summary's translation looked up in the catalogue (one JSON object, passed once), and
  for the message ids that have placeholders and are stored with parameters, the translated template
  with each parameter put in. A parameter the database cannot format as Python would (a float, a list,
  a translation that lost its placeholder, ...) leaves the cell NULL and the summary and parameters in a
  ninth column: Python renders that row (rare) and drops the column.

PostgreSQL ends rows with ``\\n``, the csv module with ``\\r\\n``: each batch of rows gets the Python line
end (one replace when no field in the batch is quoted, row by row otherwise). Memory stays flat: rows
go to the caller in batches as they come.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator

from sqlalchemy import String, Text, case, cast, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB

from marketplace.audit.export_columns import COLUMNS, FORMULA_STARTS, neutral
from marketplace.audit.export_history import _Texts, step_order, steps
from marketplace.audit.export_rows import matching, query
from marketplace.audit.export_sql import local_moment
from marketplace.audit.filters import ContractFilter
from marketplace.audit.history import _ACTION_KINDS, _PREFIX_KINDS
from marketplace.audit.models import AuditEvent
from marketplace.core.messages import has_labelled_params
from marketplace.extensions import db

# Kinds whose every cell the database writes (variations' terms are JSON re-serialised by Python).
COPY_KINDS = ("contracts", "milestones", "payments", "service_record_totals", "evaluations", "history")
CHUNK_ROWS = 2000  # rows handed on at a time
_PLACEHOLDER = re.compile(r"%\((\w+)\)([sd])|%%|%")
_INT = "^(0|-?[1-9][0-9]*)$"  # a JSON number Python reads as an int and prints the same way


def available(kind: str) -> bool:
    """Whether this export can be written by COPY: PostgreSQL, and a kind the database writes alone."""
    return kind in COPY_KINDS and db.session.connection().dialect.name == "postgresql"


# --- cells --------------------------------------------------------------------------------------------


def _csv_cell(column, typ: str):
    """A cell as Python's csv writer writes it: text neutralized, empty text as NULL (unquoted)."""
    if typ == "int":
        return column
    if typ != "text":
        return func.nullif(column, "")
    # ascii(): the first character's code point, compared as integers (cheaper than text).
    formula = func.ascii(column).in_([ord(c) for c in FORMULA_STARTS])
    starts = case((formula, literal("'") + column), else_=column)
    return func.nullif(starts, "")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _kind_sql(action) -> object:
    """:func:`marketplace.audit.history.kind_of` in SQL: the exact actions, then the prefixes in order."""
    prefixes = case(
        *((func.left(action, len(p)) == p, literal(kind)) for p, kind in _PREFIX_KINDS.items()),
        else_=literal("other"),
    )
    # The exact actions as one JSON object: a lookup per row rather than a comparison per action.
    exact = literal_column(_sql_text(json.dumps(_ACTION_KINDS)) + "::jsonb", JSONB)
    return func.coalesce(exact.op("->>")(action), prefixes)


class _Messages:
    """An audit event's summary rendered in SQL as :meth:`_Texts.render` renders it (NULL: ask Python)."""

    def __init__(self, texts: _Texts):
        self.texts = texts

    def catalogue(self) -> str:
        """The stored summaries whose translation differs from them, as a JSON object (SQL literal):
        the catalogue's message ids, narrowed to those in the audit log (one scan, hashed)."""
        found = {}
        for catalog in _catalogues(self.texts):
            for msgid in catalog:
                if isinstance(msgid, str) and msgid and msgid not in found:
                    text = self.texts.translate(msgid)
                    if text != msgid:
                        found[msgid] = text
        if found:
            stored = select(AuditEvent.summary).where(AuditEvent.summary.in_(list(found))).distinct()
            found = {msgid: found[msgid] for msgid in db.session.execute(stored).scalars()}
        return _sql_text(json.dumps(found, ensure_ascii=False)) + "::jsonb"

    def templates(self) -> list[str]:
        """The summaries stored with parameters whose translation has a ``%`` (most used first)."""
        rows = db.session.execute(
            select(AuditEvent.summary)
            .where(
                AuditEvent.params.is_not(None),
                func.json_typeof(AuditEvent.params) == "object",
                AuditEvent.summary.contains("%", autoescape=True),
            )
            .group_by(AuditEvent.summary)
            .order_by(func.count().desc())
        ).scalars()
        # A summary showing codes by their labels (core.messages) is rendered by Python.
        return [s for s in rows if "%" in self.texts.translate(s) and not has_labelled_params(s)]

    @staticmethod
    def _param(params: str, key: str, conversion: str) -> str:
        element, text = f"{params} -> {_sql_text(key)}", f"{params} ->> {_sql_text(key)}"
        number = f"WHEN 'number' THEN CASE WHEN {text} ~ '{_INT}' THEN {text} END"
        if conversion == "d":
            boolean = f"WHEN 'boolean' THEN CASE {text} WHEN 'true' THEN '1' ELSE '0' END"
            return f"(CASE json_typeof({element}) {number} {boolean} END)"
        boolean = f"WHEN 'boolean' THEN CASE {text} WHEN 'true' THEN 'True' ELSE 'False' END"
        return (
            f"(CASE json_typeof({element}) WHEN 'string' THEN {text} {number} {boolean} "
            "WHEN 'null' THEN 'None' END)"
        )

    def _filled(self, template: str, params: str) -> str:
        """``template % params`` as one SQL concatenation; NULL where Python would raise or differ."""
        parts, end = [], 0
        for match in _PLACEHOLDER.finditer(template):
            if match.start() > end:
                parts.append(_sql_text(template[end : match.start()]))
            end = match.end()
            if match.group(0) == "%%":
                parts.append("'%'")
            elif match.group(1):
                parts.append(self._param(params, match.group(1), match.group(2)))
            else:
                return "NULL"  # a lone % (or a conversion other than s and d): Python's
        if end < len(template):
            parts.append(_sql_text(template[end:]))
        return "(" + " || ".join(parts or ["''"]) + ")"

    def sql(self, summary: str, params: str):
        """The rendered text of an audit event whose summary and parameters are the SQL columns named
        ``summary`` and ``params``; NULL where Python must render it."""
        translated = f"coalesce(({self.catalogue()}) ->> {summary}, {summary})"
        filled = " ".join(
            f"WHEN {_sql_text(s)} THEN {self._filled(self.texts.translate(s), params)}"
            for s in self.templates()
        )
        no_percent = f"CASE WHEN strpos({translated}, '%') = 0 THEN {translated} END"
        with_params = f"CASE {summary} {filled} ELSE {no_percent} END" if filled else no_percent
        return literal_column(
            f"CASE WHEN {summary} IS NULL OR {summary} = '' THEN '' "
            f"WHEN {params} IS NULL OR json_typeof({params}) = 'null' OR {params}::text = '{{}}' "
            f"THEN {translated} WHEN json_typeof({params}) <> 'object' THEN NULL ELSE {with_params} END",
            String,
        )


def _catalogues(texts: _Texts) -> list:
    """The catalogues behind ``texts.translate`` (a catalogue and its fallbacks), as dicts."""
    found, translations = [], getattr(texts.translate, "__self__", None)
    while translations is not None:
        found.append(getattr(translations, "_catalog", {}))
        translations = getattr(translations, "_fallback", None)
    return found


# --- queries ------------------------------------------------------------------------------------------


def _query(kind: str, f: ContractFilter):
    stmt = query(kind, f)
    types = [typ for _key, _header, typ in COLUMNS[kind]]
    cells = [_csv_cell(c, typ) for c, typ in zip(stmt.selected_columns, types, strict=True)]
    return stmt.with_only_columns(*cells, maintain_column_froms=True)


def _history_query(f: ContractFilter, texts: _Texts):
    """The history kind's rows with every cell written, plus a ninth: the summary and parameters of an
    audit event whose text the database left to Python (NULL for every other row)."""
    u = steps(matching(f), texts)
    rendered = case(
        (u.c.kind.is_not(None), u.c.text),
        else_=_Messages(texts).sql("steps.summary", "steps.params"),
    )
    inner = (
        select(u, rendered.label("rendered"), func.coalesce(u.c.kind, _kind_sql(u.c.action)).label("step"))
        .offset(0)  # keeps the rendering in this subquery (computed once per row)
        .subquery("rows")
    )
    leftover = case(
        (
            inner.c.kind.is_(None) & inner.c.rendered.is_(None),
            cast(func.json_build_array(inner.c.summary, inner.c.params), Text),
        ),
    )
    return select(
        inner.c.contract_id,
        _csv_cell(inner.c.contract_reference, "text"),
        _csv_cell(local_moment(inner.c.at), "datetime"),
        _csv_cell(inner.c.step, "text"),
        _csv_cell(inner.c.action, "text"),
        _csv_cell(inner.c.party, "text"),
        _csv_cell(inner.c.account, "text"),
        _csv_cell(inner.c.rendered, "text"),
        leftover,
    ).order_by(*step_order(inner))


# --- the COPY -----------------------------------------------------------------------------------------


def _copy(stmt) -> Iterator:
    connection = db.session.connection()
    compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    sql = f"COPY ({compiled.string}) TO STDOUT (FORMAT csv, ENCODING 'UTF8')"
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor.copy(sql, compiled.construct_params()) as copy:
            yield from copy  # one row at a time
    finally:
        cursor.close()


def _rerendered(row: bytes, texts: _Texts) -> bytes:
    """A history row whose event text the database left to Python: rendered here, ninth column dropped."""
    fields = next(csv.reader(io.StringIO(row.decode("utf-8"), newline="")))
    summary, params = json.loads(fields[8])
    fields[7] = neutral(texts.render(summary, params))
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(fields[:8])
    return out.getvalue().encode("utf-8")


def csv_rows(kind: str, f: ContractFilter, progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The rows of a CSV export of ``kind`` (no BOM, no header), in chunks, written by the database.
    ``progress`` is told how many contracts are written after each chunk. Call inside
    :func:`~marketplace.audit.export_sql.formatting_session`."""
    history = kind == "history"
    texts = _Texts() if history else None
    stmt = _history_query(f, texts) if history else _query(kind, f)
    # A row ends with "\n" (",\n" in the history: its ninth column, NULL); Python's end is "\r\n".
    end = b",\n" if history else b"\n"
    batch: list = []
    if progress is None:
        for data in _copy(stmt):
            batch.append(data)
            if len(batch) >= CHUNK_ROWS:
                yield _converted(batch, end, texts)
                batch = []
        yield _converted(batch, end, texts)
        return
    contracts, last = 0, None
    for data in _copy(stmt):
        row = bytes(data)
        first = row[: row.index(b",")]
        if first != last:
            contracts, last = contracts + 1, first
        batch.append(row)
        if len(batch) >= CHUNK_ROWS:
            yield _converted(batch, end, texts)
            batch = []
            progress(contracts)
    yield _converted(batch, end, texts)
    progress(contracts)


def _converted(rows: list, end: bytes, texts: _Texts | None) -> bytes:
    """Rows as COPY wrote them, as Python's csv writer writes them. Without a quote in the whole batch no
    field is quoted, so no field holds a line break or a comma and every ``end`` ends a row: one
    replace does it. Otherwise row by row (a quoted field may hold ``end``)."""
    chunk = b"".join(rows)
    if b'"' not in chunk:
        return chunk.replace(end, b"\r\n")
    out = []
    for data in rows:
        row = bytes(data)
        out.append(row[: -len(end)] + b"\r\n" if row.endswith(end) else _rerendered(row, texts))
    return b"".join(out)
