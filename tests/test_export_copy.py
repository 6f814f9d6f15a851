"""CSV exports written by PostgreSQL (``COPY … TO STDOUT``, issue 16 goal 2) and formula injection in
every export format (issue 17 item 6)."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook

from marketplace import clock
from marketplace.audit import export_copy, exports, filters
from marketplace.audit import log as audit
from marketplace.audit.export_columns import neutral
from marketplace.audit.exports import export_contracts
from marketplace.contracts import variations
from marketplace.contracts.models import Payment
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from tests.test_history import delivered_contract

EVIL = '=HYPERLINK("http://evil","x")'


def _on_postgres() -> bool:
    return db.session.connection().dialect.name == "postgresql"


@pytest.fixture
def scene(world, db):
    return delivered_contract(world)


def _odd_events(contract, member):
    """Audit events of the contract whose texts test every rule of rendering a summary: translated
    message ids with parameters of each JSON type, ones only Python can format (floats, lists, a
    missing key, a lone %, %r), literal texts, and texts that would start a formula."""
    cases = [
        ("%(email)s joined", {"email": "new@example.org"}),  # translated in zh_CN
        ("%(email)s joined", {"email": "=1+1"}),  # a formula once filled in
        ("%(email)s joined", {"email": 7}),
        ("%(email)s joined", {"email": True}),
        ("%(email)s joined", {"email": None}),
        ("%(email)s joined", {"email": 2.5}),  # a float: Python's
        ("%(email)s joined", {"email": [1, "a"]}),  # a list: Python's
        ("%(email)s joined", {"other": "x"}),  # a missing key: Python's (falls back)
        ("%(num)d day overdue", {"num": 3}),
        ("%(num)d day overdue", {"num": -4}),
        ("%(num)d day overdue", {"num": False}),
        ("%(num)d day overdue", {"num": "three"}),  # %d of a string: Python's
        ("%(percent)d %% written. This page reloads itself every few seconds.", {"percent": 40}),
        ("50% done, %(what)s", {"what": "half"}),  # a lone %: Python's
        ("%(what)r as repr", {"what": "x"}),  # %r: Python's
        ("plain text, no placeholder", {"unused": 1}),
        ("100%% sure", {}),
        ("-5 degrees, a literal summary", None),
        ("@mention in a literal summary", None),
        ("\ttabbed summary", None),
        ("signed for the agency", None),
        ('Quote "marks", commas\nand a new line', {"x": "y"}),
    ]
    for summary, params in cases:
        audit.record(member, "contract.note", "contract", contract.id, summary, params=params)


@pytest.fixture
def varied(scene, world):
    """A contract with every kind of cell the exports write, odd ones included."""
    contract, org, member = scene
    officer = world["officer"]
    contract.title = EVIL + ', with "quotes"\nand a second line'
    org.name = "@Org, the " + org.name
    variations.request_variation(
        contract,
        {
            "value": "290000.00",
            "milestones": [{"id": contract.milestones[2].id, "amount": "122000.00"}],
            "reason": EVIL,
        },
        member,
    )
    # Paid more than the value: the remaining amount is negative, a number, never neutralized.
    db.session.add(
        Payment(
            contract_id=contract.id,
            paid_on=local_date(clock.now()),
            amount=contract.value + Decimal("1000.50"),
            reference="-BULK-1",
            recorded_at=clock.now(),
            recorded_by_id=officer.id,
        )
    )
    _odd_events(contract, member)
    db.session.flush()
    return contract


def _csv(kind: str, f=None) -> bytes:
    out = io.BytesIO()
    export_contracts(f or filters.ContractFilter(), "csv", out, kind)
    return out.getvalue()


def test_copy_writes_the_same_bytes_as_the_python_writer(app, varied, monkeypatch):
    """On PostgreSQL the database writes the CSV (COPY); it must be byte for byte what Python's csv
    writer writes from the same rows, in each language, for every kind COPY writes."""
    if not _on_postgres():
        pytest.skip("COPY is PostgreSQL's")
    rerendered = []
    real = export_copy._rerendered
    monkeypatch.setattr(
        export_copy, "_rerendered", lambda row, texts: rerendered.append(row) or real(row, texts)
    )
    f = filters.ContractFilter()
    for locale, rows in (("zh_CN", export_copy.CHUNK_ROWS), ("en", export_copy.CHUNK_ROWS), ("zh_CN", 1)):
        # One row per batch: most batches have no quoted field (their line ends replaced at once).
        monkeypatch.setattr(export_copy, "CHUNK_ROWS", rows)
        with force_locale(locale):
            by_copy = {kind: _csv(kind, f) for kind in export_copy.COPY_KINDS}
            with monkeypatch.context() as m:
                m.setattr(exports, "copy_available", lambda kind: False)
                by_python = {kind: _csv(kind, f) for kind in export_copy.COPY_KINDS}
        for kind in export_copy.COPY_KINDS:
            assert by_copy[kind] == by_python[kind], (locale, kind)
        history = by_copy["history"].decode("utf-8")
        assert "'=1+1" in history and "new@example.org" in history
        assert "'-5 degrees" in history and "'@mention" in history and "'\ttabbed" in history
        if locale == "zh_CN":
            assert "new@example.org已加入" in history
    # The rows only Python can render went through it (and nothing else did).
    assert 0 < len(rerendered) <= 3 * 7
    # Every contract kind COPY writes has rows here, so the comparison compared something.
    assert all(
        len(by_copy[kind].splitlines()) > 1 for kind in ("contracts", "milestones", "payments", "history")
    )


def test_copy_is_the_path_of_the_web_download_and_the_command(
    app, varied, client, login_as, monkeypatch, tmp_path
):
    if not _on_postgres():
        pytest.skip("COPY is PostgreSQL's")
    used = []
    real = export_copy.csv_rows
    monkeypatch.setattr(exports, "copy_rows", lambda *a, **k: used.append(a[0]) or real(*a, **k))
    login_as("auditor")
    r = client.post("/auditor/contracts/export.csv?kind=history", buffered=True)
    assert r.status_code == 200, r.data[:300]
    assert used == ["history"]
    assert b"'=1+1" in r.data
    with monkeypatch.context() as m:
        m.setattr(exports, "copy_available", lambda kind: False)
        by_python = client.post("/auditor/contracts/export.csv?kind=history", buffered=True).data
    assert by_python == r.data and used == ["history"]
    out = tmp_path / "contracts.csv"
    runner = app.test_cli_runner()
    r = runner.invoke(
        args=["export", "contracts", "--format", "csv", "--kind", "contracts", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert used == ["history", "contracts"] and b"'=HYPERLINK" in out.read_bytes()


def _cells(raw: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_formula_injection_neutralized_in_csv_a_string_in_xlsx_as_is_in_json(app, varied, tmp_path):
    """A variation reason ``=HYPERLINK(...)`` (and a title, a party, a payment reference) through the
    real export of each format."""
    contract = varied
    [variation] = _cells(_csv("variations"))
    assert variation["理由 Reason"] == "'" + EVIL
    [summary] = _cells(_csv("contracts"))
    assert summary["合同名称 Title"] == "'" + contract.title
    assert summary["承接机构 Organization"].startswith("'@Org, the ")
    # A negative amount is a number: not neutralized.
    paid = sum(p.amount for p in db.session.query(Payment).filter_by(contract_id=contract.id))
    assert summary["未支付 Remaining"] == f"{contract.value - paid:.2f}"
    assert summary["未支付 Remaining"].startswith("-")
    [payment] = [p for p in _cells(_csv("payments")) if p["凭证号 Reference"].endswith("BULK-1")]
    assert payment["凭证号 Reference"] == "'-BULK-1"
    history = _cells(_csv("history"))
    assert all(not row[key].startswith(("=", "+", "-", "@", "\t", "\r")) for row in history for key in row)

    # XLSX: the same value as a string cell, never a formula.
    path = tmp_path / "contracts.xlsx"
    exports.write_xlsx(filters.ContractFilter(), str(path))
    book = load_workbook(path)  # not read-only: data types are kept
    sheet = book["variations"]
    header = [c.value for c in sheet[1]]
    reason = sheet.cell(row=2, column=header.index("理由 Reason") + 1)
    assert reason.value == EVIL and reason.data_type == "s"
    title = book["contracts"].cell(row=2, column=3)
    assert title.value == contract.title and title.data_type == "s"
    assert all(c.data_type != "f" for ws in book.worksheets for row in ws.iter_rows() for c in row)
    contract_header = [c.value for c in book["contracts"][1]]
    remaining = book["contracts"].cell(row=2, column=contract_header.index("未支付 Remaining") + 1)
    assert remaining.data_type == "n" and remaining.value < 0

    # JSON is data: the value as it is.
    out = io.BytesIO()
    export_contracts(filters.ContractFilter(), "json", out)
    [document] = json.loads(out.getvalue())["contracts"]
    assert document["variations"][0]["reason"] == EVIL and document["title"] == contract.title


def test_neutral_only_touches_text_that_starts_a_formula():
    for value in ("=1", "+1", "-1", "@a", "\tx", "\rx"):
        assert neutral(value) == "'" + value
    for value in ("", "a=1", "1-2", None, 5, "'=x", " =x"):
        assert neutral(value) == value
