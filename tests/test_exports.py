"""Contract exports: CSV (UTF-8 with BOM), XLSX (a sheet per kind), JSON; filters; the audit event.

The set-based exports write exactly what the exports before issue 16 wrote: ``tests/legacy_exports.py``
is a frozen copy of that implementation, and every kind, format and filter is compared byte for byte
(cell for cell for XLSX) on the same data, on SQLite and PostgreSQL. The demo data has random parts
(opening keys, expert draws), so the reference is computed, not stored.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from itertools import zip_longest

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit import filters
from marketplace.audit import history as timeline
from marketplace.audit.export_columns import EXPORT_KINDS
from marketplace.audit.exports import export_contracts, write_xlsx
from marketplace.audit.models import AuditEvent
from marketplace.contracts import variations
from marketplace.contracts.models import Acceptance, Contract, Payment
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from tests import legacy_exports as legacy
from tests.test_history import delivered_contract


def _events():
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.contracts").order_by(AuditEvent.id)
    ).all()


@pytest.fixture
def demo(app, db):
    r = app.test_cli_runner().invoke(args=["seed", "demo"])
    assert r.exit_code == 0, r.output
    return db.session.scalars(select(Contract).order_by(Contract.id)).all()


@pytest.fixture
def scene(world, db):
    return delivered_contract(world)


@pytest.fixture(autouse=True)
def _export_folder(app, tmp_path, monkeypatch):
    """Background exports write under the test's own folder."""
    monkeypatch.setitem(app.config, "EXPORT_FOLDER", str(tmp_path / "exports"))


# --- the same output as before issue 16 -----------------------------------------------------------


def _assert_same_as_legacy(f: filters.ContractFilter) -> None:
    for kind in EXPORT_KINDS:
        new = io.BytesIO()
        export_contracts(f, "csv", new, kind)
        assert new.getvalue().decode("utf-8") == b"".join(legacy.csv_chunks(f, kind)).decode("utf-8"), kind
    with force_locale("zh_CN"):  # the default language: texts and parties translated, as before
        new = io.BytesIO()
        export_contracts(f, "csv", new, "history")
        old = b"".join(legacy.csv_chunks(f, "history")).decode("utf-8")
        assert new.getvalue().decode("utf-8") == old and ("系统" in old or not old.count("\n") > 1)
    new = io.BytesIO()
    export_contracts(f, "json", new)
    assert new.getvalue().decode("utf-8") == b"".join(legacy.json_chunks(f)).decode("utf-8")
    new, old = io.BytesIO(), io.BytesIO()
    write_xlsx(f, new)
    legacy.write_xlsx(f, old)
    new_book, old_book = load_workbook(new, read_only=True), load_workbook(old, read_only=True)
    assert new_book.sheetnames == old_book.sheetnames
    for kind in EXPORT_KINDS:
        assert list(new_book[kind].iter_rows(values_only=True)) == list(
            old_book[kind].iter_rows(values_only=True)
        ), kind


def test_every_kind_and_format_equals_the_previous_exports_on_the_demo_data(app, demo):
    _assert_same_as_legacy(filters.ContractFilter())
    agency = demo[0].agency_id
    _assert_same_as_legacy(filters.parse_filter({"agency": str(agency), "status": "active"}))
    _assert_same_as_legacy(filters.parse_filter({"category": demo[-1].tender.category}))
    # A CSV row holds Chinese text, amounts and local times: at least one of each in the demo.
    out = io.BytesIO()
    export_contracts(filters.ContractFilter(), "csv", out, "history")
    assert "+08:00" in out.getvalue().decode("utf-8") and len(out.getvalue().splitlines()) > 50


def test_odd_rows_export_as_before(app, scene, world):
    """What the demo lacks: a payment loaded without an audit event of its own, a final acceptance with
    recipient representatives, a title that needs CSV quoting, and an unfiltered second run."""
    contract, _org, member = scene
    officer = world["officer"]
    contract.title = 'Title, with "quotes"\nand a second line'
    variations.request_variation(
        contract,
        {
            "value": "290000.00",
            "milestones": [{"id": contract.milestones[2].id, "amount": "122000.00"}],
            "reason": "工期调整, Schedule change",
        },
        member,
    )
    db.session.add(
        Payment(
            contract_id=contract.id,
            paid_on=local_date(clock.now()),
            amount=Decimal("1234.56"),
            reference="BULK-1",
            recorded_at=clock.now(),
            recorded_by_id=officer.id,
        )
    )
    db.session.add(
        Acceptance(
            contract_id=contract.id,
            result="passed",
            summary="验收通过",
            recipient_representatives=[{"name": "王阿姨"}, {"name": "李叔叔"}],
            accepted_at=clock.now(),
            accepted_by_id=officer.id,
        )
    )
    db.session.flush()
    _assert_same_as_legacy(filters.ContractFilter())
    out = io.BytesIO()
    export_contracts(filters.ContractFilter(), "csv", out, "history")
    assert "BULK-1" in out.getvalue().decode("utf-8")
    [variation] = list(csv.DictReader(io.StringIO(_csv(filters.ContractFilter(), "variations"))))
    assert json.loads(variation["变更内容 Changes"])["value"] == "290000.00"
    rows = list(csv.DictReader(io.StringIO(_csv(filters.ContractFilter(), "contracts"))))
    assert rows[0]["服务对象代表人数 Recipient representatives"] == "2"
    assert rows[0]["合同名称 Title"] == contract.title


def _csv(f, kind) -> str:
    out = io.BytesIO()
    export_contracts(f, "csv", out, kind)
    return out.getvalue().decode("utf-8-sig")


def test_progress_counts_the_contracts_written(app, demo):
    from marketplace.audit.exports import units

    f = filters.ContractFilter()
    for fmt, kind in (("csv", "contracts"), ("csv", "history"), ("json", "contracts"), ("xlsx", "contracts")):
        seen: list[int] = []
        export_contracts(f, fmt, io.BytesIO(), kind, progress=seen.append)
        assert seen and seen[-1] == units(f, fmt), (fmt, kind)
        assert seen == sorted(seen)
    assert units(f, "xlsx") == len(EXPORT_KINDS) * len(demo)


def test_csv_of_the_demo_data_has_a_bom_and_readable_chinese(app, demo, tmp_path):
    out = tmp_path / "contracts.csv"
    r = app.test_cli_runner().invoke(args=["export", "contracts", "--format", "csv", "--out", str(out)])
    assert r.exit_code == 0, r.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[1] == "合同编号 Reference"
    assert len(body) == len(demo) >= 2
    titles = {row[2] for row in body}
    assert titles == {c.title for c in demo}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in titles)
    value = header.index("合同金额 Value")
    assert body[0][value] == f"{demo[0].value:.2f}"
    # The export is an audit event of its own: the system, the filter, the format.
    ev = _events()[-1]
    assert ev.actor_label == "system" and ev.changes == {
        "filter": {},
        "format": "csv",
        "kind": "contracts",
        "via": "cli",
    }


def test_csv_history_kind_lists_the_timeline(app, scene, tmp_path):
    contract, _org, _member = scene
    out = tmp_path / "history.csv"
    r = app.test_cli_runner().invoke(
        args=["export", "contracts", "--format", "csv", "--kind", "history", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    kinds = [row["环节 Kind"] for row in rows if row["合同编号 Contract reference"] == contract.reference]
    assert kinds[0] == "draft" and kinds[-1] == "payment" and "opening" in kinds


def test_csv_evaluations_kind_lists_the_rounds_of_the_demo(app, demo, tmp_path):
    out = tmp_path / "evaluations.csv"
    r = app.test_cli_runner().invoke(
        args=["export", "contracts", "--format", "csv", "--kind", "evaluations", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    # The demo's two rounds, in contract order; the red-flag cases of the demo add archived ones after them.
    assert [(row["评价阶段 Stage"], row["状态 Status"]) for row in rows][:2] == [
        ("in_progress", "declared"),
        ("ex_post", "submitted"),
    ]
    finished = rows[1]
    assert finished["等级 Grade"] in {"excellent", "good", "fair", "poor"}
    assert finished["总分 Total score"] and finished["提交时间 Submitted"]
    assert rows[0]["总分 Total score"] == "" and rows[0]["等级 Grade"] == ""
    # The rounds are part of the contract's history too.
    evaluated = next(c for c in demo if c.reference == finished["合同编号 Contract reference"])
    kinds = [e.kind for e in timeline.history(evaluated)]
    assert kinds.count("performance") == 3  # assigned, independence declared, submitted


def test_xlsx_has_one_sheet_per_kind_with_numbers(app, scene, tmp_path):
    contract, _org, _member = scene
    out = tmp_path / "contracts.xlsx"
    r = app.test_cli_runner().invoke(args=["export", "contracts", "--format", "xlsx", "--out", str(out)])
    assert r.exit_code == 0, r.output
    wb = load_workbook(out, read_only=True)
    assert wb.sheetnames == list(EXPORT_KINDS)
    rows = list(wb["contracts"].iter_rows(values_only=True))
    assert rows[0][1] == "合同编号 Reference"
    row = dict(zip_longest(rows[0], rows[1]))  # read-only mode drops trailing empty cells
    assert row["合同编号 Reference"] == contract.reference
    assert row["合同金额 Value"] == 280000 and row["已支付 Paid"] == 84000
    assert row["服务对象代表人数 Recipient representatives"] == 0
    payments = list(wb["payments"].iter_rows(values_only=True))
    assert len(payments) == 2 and payments[1][4] == 84000
    assert len(list(wb["milestones"].iter_rows(values_only=True))) == 4
    assert len(list(wb["service_record_totals"].iter_rows(values_only=True))) == 2
    assert len(list(wb["history"].iter_rows(values_only=True))) > 10


def test_json_parses_and_nests_the_records(app, scene, tmp_path):
    contract, _org, _member = scene
    buffer = io.BytesIO()
    export_contracts(filters.ContractFilter(), "json", buffer)
    doc = json.loads(buffer.getvalue().decode("utf-8"))
    assert doc["filter"] == {}
    [c] = [c for c in doc["contracts"] if c["id"] == contract.id]
    assert c["value"] == "280000.00" and c["paid_total"] == "84000.00"
    assert [m["status"] for m in c["milestones"]] == ["accepted", "pending", "pending"]
    assert c["payments"][0]["reference"] == "GK-0001"
    assert c["service_record_totals"][0]["beneficiaries"] == 5
    assert c["history"][-1]["kind"] == "payment"
    assert c["term_start"] == contract.term_start.isoformat()


def test_filters_select_contracts(app, scene, world, tmp_path):
    contract, org, _member = scene

    def ids(**args):
        buffer = io.BytesIO()
        export_contracts(filters.parse_filter(args), "json", buffer)
        return [c["id"] for c in json.loads(buffer.getvalue())["contracts"]]

    start = local_date(contract.activated_at).isoformat()
    assert ids() == [contract.id]
    assert ids(district="110101", agency=str(world["agency"].id), organization=str(org.id)) == [contract.id]
    assert ids(category="elderly_care", status="active", **{"from": start, "to": start}) == [contract.id]
    assert ids(agency=str(world["other_agency"].id)) == []
    assert ids(status="completed") == []
    assert ids(category="childcare") == []
    assert ids(**{"from": "2030-01-01"}) == []
    assert ids(**{"to": "2020-01-01"}) == []


def test_cli_refuses_bad_arguments_with_exit_2(app, db, tmp_path):
    runner = app.test_cli_runner()
    out = str(tmp_path / "x.csv")
    base = ["export", "contracts", "--out", out]
    for extra in (
        ["--format", "pdf"],
        ["--format", "csv", "--from", "2026-13-01"],
        ["--format", "csv", "--to", "yesterday"],
        ["--format", "csv", "--status", "lost"],
        ["--format", "csv", "--agency", "abc"],
        ["--format", "csv", "--district", "999999"],
        ["--format", "csv", "--category", "nonsense"],
        ["--format", "csv", "--from", "2026-05-01", "--to", "2026-04-01"],
        ["--format", "csv", "--to", "9999-12-31"],
        ["--format", "csv", "--agency", "2147483648"],
        ["--format", "csv", "--district", "11\x000101"],
        ["--format", "xlsx", "--kind", "history"],
        ["--format", "csv", "--kind", "secrets"],
    ):
        r = runner.invoke(args=base + extra)
        assert r.exit_code == 2, (extra, r.output)
    r = runner.invoke(args=["export", "contracts", "--format", "csv", "--out", out, "--from", "2026-13-01"])
    assert "YYYY-MM-DD" in r.output and "--from" in r.output
    assert _events() == []
    r = runner.invoke(args=["export", "contracts", "--help"])
    assert "--kind" in r.output and "byte-order mark" in r.output


def test_web_exports_stream_and_are_audited(scene, client, login_as, world):
    contract, org, _member = scene
    db.session.commit()
    auditor = login_as("auditor")
    r = client.post(f"/auditor/contracts/export.csv?organization={org.id}&status=active", buffered=True)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert r.data.startswith(b"\xef\xbb\xbf") and contract.reference.encode() in r.data
    ev = _events()[-1]
    assert ev.actor_id == auditor.id
    assert ev.changes["filter"] == {"organization_id": org.id, "status": "active"}
    assert ev.changes["format"] == "csv" and ev.changes["via"] == "web"

    # JSON and XLSX are written in the background (here, in-process after the request's commit): the
    # request answers with the export's page, which offers the file to the auditor who asked.
    r = client.post("/auditor/contracts/export.json?status=completed")
    assert r.status_code == 303 and "/auditor/exports/" in r.headers["Location"]
    page = client.get(r.headers["Location"])
    assert page.status_code == 200 and "Refresh" not in page.headers
    r = client.post(r.headers["Location"] + "/download", buffered=True)
    assert r.status_code == 200 and json.loads(r.data)["contracts"] == []
    r = client.post("/auditor/contracts/export.xlsx")
    assert r.status_code == 303
    r = client.post(r.headers["Location"] + "/download", buffered=True)
    assert r.status_code == 200
    assert load_workbook(io.BytesIO(r.data), read_only=True).sheetnames == list(EXPORT_KINDS)
    r = client.post("/auditor/contracts/export.csv?kind=history", buffered=True)
    assert r.status_code == 200 and "环节 Kind".encode() in r.data
    assert len(_events()) == 4
    assert [e.changes.get("export_id") is not None for e in _events()] == [False, True, True, False]

    assert client.post("/auditor/contracts/export.pdf").status_code == 404
    assert client.post("/auditor/contracts/export.csv?from=soon", buffered=True).status_code == 400
    assert client.post("/auditor/contracts/export.csv?kind=secrets", buffered=True).status_code == 400
    assert client.post("/auditor/contracts/export.csv?to=9999-12-31", buffered=True).status_code == 400
    assert client.post("/auditor/contracts/export.json?from=0001-01-01", buffered=True).status_code == 400
    assert len(_events()) == 4
    assert client.get("/auditor/exports").status_code == 200
    for who in ("officer", "org_member", "evaluator", "other_officer"):
        login_as(who)
        assert client.post("/auditor/contracts/export.csv", buffered=True).status_code == 403, who
    assert len(_events()) == 4
    assert db.session.scalar(select(func.count()).select_from(Contract)) == 1


def test_junk_district_is_refused_without_a_lookup(app, db, monkeypatch):
    """A district that is not a code of digits never reaches the database (PostgreSQL refuses NUL)."""
    from marketplace.core.errors import RuleViolation

    looked_up = []
    monkeypatch.setattr(db.session, "get", lambda *a, **k: looked_up.append(a))
    for junk in ("11\x000101", "abc", "1" * 40):
        with pytest.raises(RuleViolation) as exc:
            filters.parse_filter({"district": junk})
        assert exc.value.field == "district"
    assert looked_up == []
