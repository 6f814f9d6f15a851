"""Bulk import of service records on the organization's web page (issue 19): a preview of every row
with its errors, nothing stored until the whole file is valid and confirmed, the same file stored
once, XLSX merged cells and dates, CSV with a BOM and Chinese headers, the templates."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.auth.models import User
from marketplace.contracts.delivery import import_files, imports
from marketplace.contracts.delivery.models import ServiceImport
from marketplace.contracts.models import Contract, ServiceRecord
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from tests import bid_factories as bf
from tests import factories
from tests.conftest import PG_URL
from tests.contract_factories import contract_rows
from tests.test_contract_concurrency import _race

IDENTITY_NUMBER = "11010119491001123X"
EN_HEADER = ["Service date", "Activity", "Target", "Quantity", "Beneficiaries", "Hours", "Community", "Notes"]
ZH_HEADER = ["服务日期", "服务类型", "对应指标", "数量", "服务人数", "服务时长", "社区", "备注"]


@pytest.fixture
def scene(world, db):
    contract, org, member = contract_rows(world)
    clock.advance(timedelta(days=10))
    db.session.commit()
    return contract, org, member


def _login(client, user):
    with client.session_transaction() as sess:
        sess.clear()
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True


def day(offset: int) -> str:
    """A date ``offset`` days from today (local), ISO."""
    return (local_date(clock.now()) + timedelta(days=offset)).isoformat()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def csv_bytes(rows, header=EN_HEADER, bom=False, encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode(encoding)


def upload(client, contract, data: bytes, name="records.csv"):
    return client.post(
        f"/contracts/{contract.id}/records/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def confirm(client, contract):
    batch = db.session.scalars(select(ServiceImport).where(ServiceImport.contract_id == contract.id)).one()
    return client.post(f"/contracts/{contract.id}/records/import/{batch.id}/confirm", data={})


def test_mixed_valid_and_invalid_rows_store_nothing_and_name_every_error(client, scene):
    contract, _org, member = scene
    target = contract.targets[0]
    rows = [
        [day(-1), "home_visit", target.name, "3", "3", "2", "", "ok"],  # line 2: valid
        [day(3), "home_visit", "", "1", "1", "1", "", ""],  # line 3: in the future
        [day(-2), "Home visit (上门服务)", "", "1", "1", "1", "", f"visited {IDENTITY_NUMBER}"],  # line 4
        [day(-2), "上门服务", "", "1", "1", "1", "", "call 13812345678"],  # line 5: a phone number
        [day(-2), "juggling", "No such target", "abc", "-1", "", "", ""],  # line 6: four problems
        [day(-1), "day_care", "", "2", "2", "2", "", ""],  # line 7: valid
    ]
    _login(client, member)
    r = upload(client, contract, csv_bytes(rows))
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "5 of 6 rows have errors" not in page  # 4 rows are wrong
    assert "4 of 6 rows have errors" in page
    assert "cannot be in the future" in page
    assert "Remove the identity number" in page
    assert "Remove the phone number" in page
    assert "Choose an activity type from the list." in page
    assert "Choose a target of this contract." in page
    assert "Quantity must be a number." in page
    assert "Beneficiaries cannot be negative." in page
    preview = imports.check_file(contract, "records.csv", csv_bytes(rows))
    by_line = {r.line: r.errors for r in preview.rows}
    assert by_line[2] == {} and by_line[7] == {}
    assert set(by_line[3]) == {"service_date"}
    assert set(by_line[4]) == {"notes"} and set(by_line[5]) == {"notes"}
    assert set(by_line[6]) == {"activity_type", "target", "quantity", "beneficiaries"}
    assert count(ServiceRecord) == 0 and count(ServiceImport) == 0


def test_a_valid_file_is_stored_only_after_confirmation_and_only_once(client, scene):
    contract, _org, member = scene
    rows = [[day(-i), "home_visit", contract.targets[1].name, "1", "1", "1", "", ""] for i in range(1, 6)]
    data = csv_bytes(rows)
    _login(client, member)
    r = upload(client, contract, data)
    assert r.status_code == 200
    assert "All 5 rows are valid." in r.get_data(as_text=True)
    assert count(ServiceRecord) == 0 and count(ServiceImport) == 1  # staged, not stored
    r = confirm(client, contract)
    assert r.status_code == 302
    assert count(ServiceRecord) == 5
    batch = db.session.scalars(select(ServiceImport)).one()
    assert batch.is_stored and len(batch.record_ids) == 5
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "contract.service_imported")
        )
        == 1
    )
    # The same file again: nothing stored, and the page says so.
    r = upload(client, contract, data, name="again.csv")
    assert r.status_code == 409
    assert "already imported" in r.get_data(as_text=True)
    # Confirming the stored batch twice (a double click) stores nothing either.
    r = confirm(client, contract)
    assert r.status_code == 302
    assert count(ServiceRecord) == 5 and count(ServiceImport) == 1


def test_confirmation_checks_the_staged_rows_again(client, scene):
    contract, _org, member = scene
    data = csv_bytes([[day(0), "home_visit", "", "1", "1", "1", "", ""]])
    _login(client, member)
    assert upload(client, contract, data).status_code == 200
    batch = db.session.scalars(select(ServiceImport)).one()
    batch.rows = [{"line": 2, "values": {**batch.rows[0]["values"], "service_date": day(5)}}]
    db.session.commit()  # a staged row the client cannot change, changed here to prove it is re-checked
    r = confirm(client, contract)
    assert r.status_code == 400
    assert count(ServiceRecord) == 0


def test_xlsx_with_merged_cells_title_row_and_dates(client, scene):
    contract, _org, member = scene
    book = Workbook()
    sheet = book.active
    sheet.append(["XX街道居家养老服务记录表"])
    sheet.merge_cells("A1:H1")
    sheet.append(EN_HEADER)
    first = datetime.fromisoformat(day(-3))
    sheet.append([first, "home_visit", contract.targets[1].name, 2, 2, 1.5, None, "morning"])
    sheet.append([None, "day_care", None, 1, 4, 3, None, "afternoon"])
    sheet.append([None, "counselling", None, 1, 1, 0.5, None, None])
    sheet.merge_cells("A3:A5")  # one date for three services
    sheet.append([day(-2).replace("-", "/"), "培训", None, 1, 10, 2, None, None])  # a date string
    sheet.append([day(-1)[:4] + "年" + str(int(day(-1)[5:7])) + "月" + str(int(day(-1)[8:])) + "日", "other"])
    sheet["A3"].number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    book.save(out)
    read = import_files.read("records.xlsx", out.getvalue())
    assert read.errors == []
    assert [r.values["service_date"] for r in read.rows] == [day(-3)] * 3 + [day(-2), day(-1)]
    assert [r.line for r in read.rows] == [3, 4, 5, 6, 7]
    assert read.rows[0].values["hours"] == "1.5" and read.rows[0].values["quantity"] == "2"
    _login(client, member)
    assert upload(client, contract, out.getvalue(), "records.xlsx").status_code == 200
    assert confirm(client, contract).status_code == 302
    records = db.session.scalars(select(ServiceRecord).order_by(ServiceRecord.id)).all()
    assert [r.activity_type for r in records] == [
        "home_visit",
        "day_care",
        "counselling",
        "training",
        "other",
    ]
    assert records[0].target_id == contract.targets[1].id


def test_csv_with_a_bom_and_chinese_headers_and_gb18030(scene):
    contract, _org, _member = scene
    rows = [[day(-1), "上门服务", contract.targets[0].name, "2", "2", "1", "", "定期探访"]]
    for data in (csv_bytes(rows, ZH_HEADER, bom=True), csv_bytes(rows, ZH_HEADER, encoding="gb18030")):
        preview = imports.check_file(contract, "记录.csv", data)
        assert preview.valid, (preview.file_errors, [r.errors for r in preview.rows])
        assert preview.rows[0].data["activity_type"] == "home_visit"
        assert preview.rows[0].data["target"].id == contract.targets[0].id
        assert preview.rows[0].data["notes"] == "定期探访"


def test_columns_for_personal_data_refuse_the_file(scene):
    contract, _org, _member = scene
    data = csv_bytes([[day(-1), "home_visit", "张三"]], ["服务日期", "服务类型", "姓名"])
    preview = imports.check_file(contract, "records.csv", data)
    assert not preview.valid and preview.rows == []
    assert any("姓名" in e and "never residents" in e for e in preview.file_errors)
    missing = imports.check_file(contract, "records.csv", csv_bytes([["x"]], ["Notes", "Hours"]))
    assert any("Service date" in e and "missing" in e for e in missing.file_errors)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("records.pdf", b"%PDF-1.4"),
        ("records.xlsx", b"not a zip at all"),
        ("records.csv", b""),
        ("records.csv", b"\x00\x01\x02binary"),
        ("records.xlsx", b"PK\x03\x04broken"),
    ],
)
def test_bad_files_get_a_clear_message_and_change_nothing(client, scene, name, data):
    contract, _org, member = scene
    _login(client, member)
    r = upload(client, contract, data, name)
    assert r.status_code == 400
    assert "alert-danger" in r.get_data(as_text=True)
    assert count(ServiceImport) == 0


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_template_round_trips(client, scene, language, fmt):
    contract, _org, member = scene
    _login(client, member)
    r = client.get(f"/contracts/{contract.id}/records/import/template.{fmt}?lang={language}")
    assert r.status_code == 200
    header = ZH_HEADER if language == "zh" else EN_HEADER
    if fmt == "csv":
        assert r.data.startswith("\ufeff".encode())
        assert r.data.decode("utf-8-sig").splitlines()[0].split(",") == header
    else:
        assert [c.value for c in load_workbook(io.BytesIO(r.data)).worksheets[0][1]] == header
    # The template as downloaded (its example row) is a valid file in its own right.
    preview = imports.check_file(contract, f"template.{fmt}", r.data)
    assert preview.valid, (preview.file_errors, [r.errors for r in preview.rows])
    assert preview.rows[0].data["target"].id == contract.targets[0].id
    assert count(ServiceImport) == 0  # downloading wrote nothing


def test_who_may_import(client, world, scene):
    contract, _org, member = scene
    _other_org, other_member = bf.organization("别家机构 Another org")
    db.session.commit()
    data = csv_bytes([[day(-1), "home_visit", "", "1", "1", "1", "", ""]])
    url = f"/contracts/{contract.id}/records/import"
    for user in (other_member, world["org_member"]):
        _login(client, user)
        assert client.get(url).status_code == 404
        assert upload(client, contract, data).status_code == 404
    for user in (world["officer"], world["auditor"]):
        _login(client, user)
        assert client.get(url).status_code == 403
        assert upload(client, contract, data).status_code == 403
    _login(client, member)
    assert client.get(url).status_code == 200
    assert count(ServiceImport) == 0
    page = client.get(f"/contracts/{contract.id}/records").get_data(as_text=True)
    assert url in page  # reachable from the records page


# --- two confirmations at the same moment (PostgreSQL: real commits, one connection each) -------------


@pytest.mark.skipif(not PG_URL, reason="concurrency tests need PostgreSQL: set TEST_DATABASE_URL")
def test_two_confirmations_of_one_file_store_it_once(app, committed):
    world = factories.world()
    contract, _org, member = contract_rows(world)
    clock.advance(timedelta(days=10))
    rows = [[day(-i), "home_visit", "", "1", "1", "1", "", ""] for i in range(1, 4)]
    preview = imports.preview_file(contract, "records.csv", csv_bytes(rows), member)
    assert preview.valid
    db.session.commit()
    contract_id, member_id = contract.id, member.id
    batch_id = db.session.scalar(select(ServiceImport.id))

    def confirm_once():
        c, user = db.session.get(Contract, contract_id), db.session.get(User, member_id)
        batch = db.session.get(ServiceImport, batch_id)
        return lambda: imports.confirm_import(c, batch, user)

    outcomes = _race(app, confirm_once, confirm_once)
    assert sorted(o == "won" for o in outcomes) == [False, True], outcomes
    assert any("already imported" in o for o in outcomes if o != "won")
    assert count(ServiceRecord) == 3


def test_an_xlsx_that_unpacks_too_large_is_refused_before_it_is_parsed(scene, monkeypatch):
    contract, _org, _member = scene
    book = Workbook()
    book.active.append(EN_HEADER)
    book.active.append([day(-1), "home_visit"])
    out = io.BytesIO()
    book.save(out)
    assert imports.check_file(contract, "records.xlsx", out.getvalue()).valid
    monkeypatch.setattr(import_files, "MAX_UNPACKED_BYTES", 1000)
    monkeypatch.setattr(import_files, "load_workbook", None)  # never reached
    preview = imports.check_file(contract, "records.xlsx", out.getvalue())
    assert preview.file_errors and "more than 2000 rows" in preview.file_errors[0]


def test_the_import_page_in_chinese_offers_the_template_in_the_readers_language(client, scene):
    contract, _org, member = scene
    _login(client, member)
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    page = client.get(f"/contracts/{contract.id}/records/import", headers=zh).get_data(as_text=True)
    assert "服务日期" in page and "Service date" in page  # the columns, in both languages
    r = client.get(f"/contracts/{contract.id}/records/import/template.csv", headers=zh)
    assert r.data.decode("utf-8-sig").splitlines()[0].split(",") == ZH_HEADER
    r = client.get(f"/contracts/{contract.id}/records/import/template.csv", headers={"Accept-Language": "en"})
    assert r.data.decode("utf-8-sig").splitlines()[0].split(",") == EN_HEADER
    assert client.get(f"/contracts/{contract.id}/records/import/template.pdf").status_code == 404


def test_a_staged_upload_nobody_confirmed_is_dropped_later_a_stored_one_is_kept(scene):
    contract, _org, member = scene
    first = csv_bytes([[day(-1), "home_visit", "", "1", "1", "1", "", ""]])
    second = csv_bytes([[day(-2), "day_care", "", "1", "1", "1", "", ""]])
    stored = csv_bytes([[day(-3), "training", "", "1", "1", "1", "", ""]])
    imports.preview_file(contract, "first.csv", first, member)
    imports.preview_file(contract, "stored.csv", stored, member)
    kept = db.session.scalar(select(ServiceImport).where(ServiceImport.filename == "stored.csv"))
    imports.confirm_import(contract, kept, member)
    clock.advance(imports.STAGED_FOR + timedelta(minutes=1))
    imports.preview_file(contract, "second.csv", second, member)
    assert sorted(db.session.scalars(select(ServiceImport.filename))) == ["second.csv", "stored.csv"]
