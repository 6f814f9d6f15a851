"""Contract exports as CSV, XLSX and JSON, written as the rows come (memory stays flat).

- CSV: UTF-8 with a byte-order mark (so spreadsheet programs read the Chinese text correctly), one
  kind of record per file (``contracts`` summaries by default; ``history``, ``milestones``,
  ``payments``, ``variations``, ``service_record_totals`` or ``evaluations``). Amounts as text with
  two decimals. Written by PostgreSQL itself (COPY) where it can, byte for byte as Python writes it.
  A text cell that would start a formula (``=``, ``+``, ``-``, ``@``, tab, CR) gets a leading ``'``.
- XLSX: a write-only workbook (openpyxl streams each sheet to disk), one sheet per kind; amounts and
  counts are number cells, dates date cells, text string cells (never a formula).
- JSON: one object ``{"exported_at", "filter", "contracts": [...]}`` written contract by contract,
  each with its milestones, payments, variations, monthly service totals and history nested.

Times are ISO 8601 in the display zone with their offset; dates ISO. The rows come from one set-based
query per kind, their cells formatted by the database (:mod:`marketplace.audit.export_rows`). Every
export is an audit event. A ``progress`` callback, when given, is told how many contracts are written
(per sheet for XLSX: up to ``units(f, fmt)``) after each batch of rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.audit.export_columns import COLUMNS, EXPORT_KINDS, FORMULA_STARTS, neutral, text_positions
from marketplace.audit.export_copy import available as copy_available
from marketplace.audit.export_copy import csv_rows as copy_rows
from marketplace.audit.export_rows import keys, partitions
from marketplace.audit.export_sql import formatting_session
from marketplace.audit.filters import ContractFilter, count
from marketplace.core.messages import N_
from marketplace.core.timeutil import to_local

FORMATS = ("csv", "xlsx", "json")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BOM = "\ufeff"

Progress = Callable[[int], None] | None


def local_iso(moment: datetime | None) -> str:
    """A stored UTC moment as ISO 8601 in the display zone (with its offset)."""
    return to_local(moment).isoformat(timespec="seconds") if moment else ""


def filename(fmt: str, kind: str = "contracts") -> str:
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    name = "contracts" if fmt != "csv" or kind == "contracts" else f"contracts-{kind}"
    return f"{name}-{stamp}.{fmt}"


def units(f: ContractFilter, fmt: str) -> int:
    """What ``progress`` counts up to: the matching contracts, once per sheet of a workbook."""
    return count(f) * (len(EXPORT_KINDS) if fmt == "xlsx" else 1)


class _Covered:
    """Counts the contracts a stream of rows (ordered by contract id, first cell) has reached."""

    def __init__(self, progress: Progress, start: int = 0):
        self.progress, self.start, self.done, self.last = progress, start, 0, None

    def __call__(self, part: list) -> None:
        if self.progress is None:
            return
        for row in part:
            if row[0] != self.last:
                self.done += 1
                self.last = row[0]
        self.progress(self.start + self.done)


# --- CSV ----------------------------------------------------------------------------------------------


def csv_chunks(f: ContractFilter, kind: str = "contracts", progress: Progress = None) -> Iterator[bytes]:
    """A CSV file of one kind of record, as UTF-8 chunks, starting with the byte-order mark. On
    PostgreSQL the database writes the rows (``COPY … TO STDOUT``, :mod:`marketplace.audit.export_copy`);
    elsewhere they go from the database cursor into the csv writer, a partition at a time. The two
    write the same bytes."""
    if kind not in EXPORT_KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([header for _key, header, _typ in COLUMNS[kind]])
    if copy_available(kind):
        yield buffer.getvalue().encode("utf-8")
        with formatting_session():
            yield from copy_rows(kind, f, progress)
    else:
        yield from python_csv_chunks(f, kind, progress, buffer)
    if progress is not None:  # done: the contracts with no rows of this kind (no history yet) count too
        progress(count(f))


def python_csv_chunks(
    f: ContractFilter, kind: str, progress: Progress = None, buffer: io.StringIO | None = None
) -> Iterator[bytes]:
    """The rows of a CSV file written by Python's csv module (SQLite, and the variations kind), text
    cells neutralized against formula injection; after what ``buffer`` already holds (the BOM and
    header), if given."""
    buffer = buffer or io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    texts = text_positions(kind)
    covered = _Covered(progress)
    with formatting_session():
        for part in partitions(kind, f):
            writer.writerows(_neutralized(part, texts))
            covered(part)
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _neutralized(part: list, positions: tuple[int, ...]) -> list:
    """The rows with their text cells (at ``positions``) neutralized against formula injection."""
    out = []
    for row in part:
        if any(type(row[i]) is str and row[i][:1] in FORMULA_STARTS for i in positions):
            row = list(row)
            for i in positions:
                row[i] = neutral(row[i])
        out.append(row)
    return out


# --- JSON ---------------------------------------------------------------------------------------------


def _grouped(kind: str, f: ContractFilter) -> Iterator[tuple[int, list[dict]]]:
    """(contract id, its rows of ``kind`` as dicts without the contract's id and reference), in id order."""
    names = keys(kind)[2:]
    current, rows = None, []
    for part in partitions(kind, f):
        for row in part:
            if row[0] != current:
                if current is not None:
                    yield current, rows
                current, rows = row[0], []
            rows.append(dict(zip(names, row[2:], strict=True)))
    if current is not None:
        yield current, rows


def contract_documents(f: ContractFilter) -> Iterator[dict]:
    """Each matching contract with its milestones, payments, variations, monthly service totals and
    history nested: one ordered stream per kind, merged by contract id."""
    names = keys("contracts")
    nested = {kind: _grouped(kind, f) for kind in EXPORT_KINDS[1:]}
    ahead: dict[str, tuple[int, list] | None] = {kind: next(it, None) for kind, it in nested.items()}
    for part in partitions("contracts", f):
        for row in part:
            document = dict(zip(names, row, strict=True))
            for kind, it in nested.items():
                head = ahead[kind]
                if head is not None and head[0] == document["id"]:
                    document[kind] = head[1]
                    ahead[kind] = next(it, None)
                else:
                    document[kind] = []
            yield document


def json_chunks(f: ContractFilter, progress: Progress = None) -> Iterator[bytes]:
    """The JSON document, one contract at a time."""
    head = {"exported_at": local_iso(clock.now()), "filter": f.as_dict()}
    yield (json.dumps(head, ensure_ascii=False)[:-1] + ', "contracts": [').encode("utf-8")
    first, done = True, 0
    with formatting_session():
        for document in contract_documents(f):
            text = json.dumps(document, ensure_ascii=False)
            yield (("\n" if first else ",\n") + text).encode("utf-8")
            first = False
            done += 1
            if progress is not None and done % 500 == 0:
                progress(done)
    if progress is not None:
        progress(done)
    yield b"\n]}\n"


# --- XLSX ---------------------------------------------------------------------------------------------


# Per column type: the formatted cell as an XLSX value and its number format (amounts and dates).
_XLSX_CELLS = {"money": (Decimal, "#,##0.00"), "date": (date.fromisoformat, "yyyy-mm-dd")}


def _string_cell(ws, cell_type, value):
    """A text value as a string cell: openpyxl would store one starting with ``=`` as a formula, which
    the spreadsheet program would run (formula injection); anything else goes in as it is."""
    if type(value) is not str or not value.startswith("="):
        return value
    cell = cell_type(ws, value=value)
    cell.data_type = "s"
    return cell


def write_xlsx(f: ContractFilter, out: BinaryIO | str, progress: Progress = None) -> int:
    """The workbook, one sheet per kind, written with openpyxl's write-only mode. Returns the number of
    contracts."""
    # openpyxl is heavy and only this export needs it: imported when a workbook is written.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    contracts = 0
    per_sheet = count(f) if progress is not None else 0
    with formatting_session():
        for index, kind in enumerate(EXPORT_KINDS):
            ws = wb.create_sheet(kind)
            header = []
            for _key, title, _typ in COLUMNS[kind]:
                cell = WriteOnlyCell(ws, value=title)
                cell.font = Font(bold=True)
                header.append(cell)
            ws.append(header)
            ws.freeze_panes = "A2"
            converters = [_XLSX_CELLS.get(typ) for _key, _title, typ in COLUMNS[kind]]
            covered = _Covered(progress, index * per_sheet)
            for part in partitions(kind, f):
                for row in part:
                    values = []
                    for value, typed in zip(row, converters, strict=True):
                        if value is None or value == "":
                            values.append(None)
                        elif typed is None:
                            values.append(_string_cell(ws, WriteOnlyCell, value))
                        else:
                            cell = WriteOnlyCell(ws, value=typed[0](value))
                            cell.number_format = typed[1]
                            values.append(cell)
                    ws.append(values)
                covered(part)
            if progress is not None:  # the sheet is done: its contracts without rows are covered too
                progress((index + 1) * per_sheet)
                contracts += len(part) if kind == "contracts" else 0
    wb.save(out)
    return contracts


# --- the export as an audited act ---------------------------------------------------------------------


def record_export(f: ContractFilter, fmt: str, kind: str, actor, via: str, export_id: int | None = None):
    """The audit event of an export: who (``system`` from the command line), which filter, which format;
    for a background export, its id. The caller commits."""
    what = kind if fmt == "csv" else "all"
    changes = {"filter": f.as_dict(), "format": fmt, "kind": what, "via": via}
    if export_id is not None:
        changes["export_id"] = export_id
    return audit.record(
        actor,
        "export.contracts",
        "export",
        export_id if export_id is not None else "contracts",
        N_("exported contracts as %(format)s (%(kind)s) via %(via)s"),
        changes,
        params={"format": fmt, "kind": what, "via": via},
    )


def export_contracts(
    f: ContractFilter, fmt: str, out: BinaryIO, kind: str = "contracts", progress: Progress = None
) -> None:
    """Write the export to a binary file object, streaming. Raises ValueError on an unknown format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if kind not in EXPORT_KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if fmt == "xlsx":
        write_xlsx(f, out, progress)
        return
    chunks = csv_chunks(f, kind, progress) if fmt == "csv" else json_chunks(f, progress)
    for chunk in chunks:
        out.write(chunk)
