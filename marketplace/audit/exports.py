"""Contract exports as CSV, XLSX and JSON, written as the rows come (memory stays flat).

- CSV: UTF-8 with a byte-order mark (so spreadsheet programs read the Chinese text correctly), one
  kind of record per file (``contracts`` summaries by default; ``history``, ``milestones``,
  ``payments``, ``variations``, ``service_record_totals`` or ``evaluations``). Amounts as text with
  two decimals.
- XLSX: a write-only workbook (openpyxl streams each sheet to disk), one sheet per kind; amounts and
  counts are number cells, dates date cells.
- JSON: one object ``{"exported_at", "filter", "contracts": [...]}`` written contract by contract,
  each with its milestones, payments, variations, monthly service totals and history nested.

Times are ISO 8601 in the display zone with their offset; dates ISO. Every export is an audit event.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.audit.export_columns import COLUMNS, EXPORT_KINDS
from marketplace.audit.export_rows import contract_documents, rows
from marketplace.audit.filters import ContractFilter
from marketplace.core.messages import N_
from marketplace.core.timeutil import to_local

FORMATS = ("csv", "xlsx", "json")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BOM = "\ufeff"
FLUSH_ROWS = 200  # rows per chunk of a streamed CSV


def local_iso(moment: datetime | None) -> str:
    """A stored UTC moment as ISO 8601 in the display zone (with its offset)."""
    return to_local(moment).isoformat(timespec="seconds") if moment else ""


def filename(fmt: str, kind: str = "contracts") -> str:
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    name = "contracts" if fmt != "csv" or kind == "contracts" else f"contracts-{kind}"
    return f"{name}-{stamp}.{fmt}"


def _text(value, typ: str):
    """A cell as text (CSV) or a JSON value."""
    if value is None:
        return ""
    if typ == "money":
        return f"{Decimal(value):.2f}"
    if isinstance(value, datetime):
        return local_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _json_value(value):
    if value is None:
        return None
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return local_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


# --- CSV ----------------------------------------------------------------------------------------------


def csv_chunks(f: ContractFilter, kind: str = "contracts") -> Iterator[bytes]:
    """A CSV file of one kind of record, as UTF-8 chunks, starting with the byte-order mark."""
    columns = COLUMNS[kind]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([header for _key, header, _typ in columns])
    n = 0
    for row in rows(kind, f):
        writer.writerow([_text(row.get(key), typ) for key, _header, typ in columns])
        n += 1
        if n % FLUSH_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


# --- JSON ---------------------------------------------------------------------------------------------


def json_chunks(f: ContractFilter) -> Iterator[bytes]:
    """The JSON document, one contract at a time."""
    head = {"exported_at": local_iso(clock.now()), "filter": f.as_dict()}
    yield (json.dumps(head, ensure_ascii=False)[:-1] + ', "contracts": [').encode("utf-8")
    first = True
    for document in contract_documents(f):
        text = json.dumps(_json_value(document), ensure_ascii=False)
        yield (("\n" if first else ",\n") + text).encode("utf-8")
        first = False
    yield b"\n]}\n"


# --- XLSX ---------------------------------------------------------------------------------------------


def write_xlsx(f: ContractFilter, out: BinaryIO | str) -> int:
    """The workbook, one sheet per kind, written with openpyxl's write-only mode. Returns the number of
    contracts."""
    # openpyxl is heavy and only this export needs it: imported when a workbook is written.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    contracts = 0
    for kind in EXPORT_KINDS:
        ws = wb.create_sheet(kind)
        columns = COLUMNS[kind]
        header = []
        for _key, title, _typ in columns:
            cell = WriteOnlyCell(ws, value=title)
            cell.font = Font(bold=True)
            header.append(cell)
        ws.append(header)
        ws.freeze_panes = "A2"
        for row in rows(kind, f):
            values = []
            for key, _title, typ in columns:
                value = row.get(key)
                if value is None or value == "":
                    values.append(None)
                elif typ == "money":
                    cell = WriteOnlyCell(ws, value=Decimal(value).quantize(Decimal("0.01")))
                    cell.number_format = "#,##0.00"
                    values.append(cell)
                elif isinstance(value, datetime):
                    values.append(local_iso(value))
                elif isinstance(value, date):
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = "yyyy-mm-dd"
                    values.append(cell)
                else:
                    values.append(value)
            ws.append(values)
            contracts += kind == "contracts"
    wb.save(out)
    return contracts


# --- the export as an audited act ---------------------------------------------------------------------


def record_export(f: ContractFilter, fmt: str, kind: str, actor, via: str) -> None:
    """The audit event of an export: who (``system`` from the command line), which filter, which format.
    The caller commits."""
    what = kind if fmt == "csv" else "all"
    audit.record(
        actor,
        "export.contracts",
        "export",
        "contracts",
        N_("exported contracts as %(format)s (%(kind)s) via %(via)s"),
        {"filter": f.as_dict(), "format": fmt, "kind": what, "via": via},
        params={"format": fmt, "kind": what, "via": via},
    )


def export_contracts(f: ContractFilter, fmt: str, out: BinaryIO, kind: str = "contracts") -> None:
    """Write the export to a binary file object, streaming. Raises ValueError on an unknown format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if kind not in EXPORT_KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if fmt == "xlsx":
        write_xlsx(f, out)
        return
    chunks = csv_chunks(f, kind) if fmt == "csv" else json_chunks(f)
    for chunk in chunks:
        out.write(chunk)
