"""Correcting a service record keeps its history (issue 20): each correction is a new version, the
replaced one stays on the record's page and in the contract's history and audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import history as timeline
from marketplace.audit.models import AuditEvent
from marketplace.contracts.delivery import corrections, records
from marketplace.contracts.delivery.models import ServiceRecordVersion
from marketplace.core.errors import RuleViolation
from marketplace.core.schemas import InputErrors
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from tests.contract_factories import contract_rows


def day(offset: int):
    return local_date(clock.now()) + timedelta(days=offset)


@pytest.fixture
def logged(world, db):
    contract, _org, member = contract_rows(world)
    clock.advance(timedelta(days=10))
    record = records.log_service_record(
        contract,
        {"service_date": day(-2), "activity_type": "home_visit", "target_id": contract.targets[0].id,
         "quantity": "12", "beneficiaries": 12, "hours": "6"},
        [],
        member,
    )  # fmt: skip
    db.session.commit()
    return contract, member, record


def _form(record, **changes) -> dict:
    data = {
        "service_date": record.service_date.isoformat(),
        "activity_type": record.activity_type,
        "target_id": str(record.target_id or ""),
        "quantity": str(record.quantity),
        "beneficiaries": str(record.beneficiaries),
        "hours": str(record.hours),
        "community_code": "",
        "notes": record.notes,
    }
    return {**data, **changes}


def _login(client, user):
    with client.session_transaction() as sess:
        sess.clear()
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True


def test_a_correction_is_a_new_version_and_the_old_one_is_kept(logged, world):
    contract, member, record = logged
    raw = {"service_date": day(-2), "activity_type": "home_visit", "target_id": contract.targets[0].id,
           "quantity": "10", "beneficiaries": 10, "hours": "6"}  # fmt: skip
    corrections.correct_service_record(record, raw, "两位老人当天未在家", member)
    clock.advance(timedelta(hours=1))
    corrections.correct_service_record(record, {**raw, "hours": "5"}, "时长记错", member)
    db.session.commit()
    versions = corrections.history(record)
    assert [v.number for v in versions] == [1, 2, 3]
    assert [str(v.values["quantity"]) for v in versions] == ["12.00", "10.00", "10.00"]
    assert [str(v.values["hours"]) for v in versions] == ["6.00", "6.00", "5.00"]
    assert [v.reason for v in versions] == ["两位老人当天未在家", "时长记错", ""]
    assert versions[-1].is_current and versions[1].entered_at == versions[0].replaced_at
    assert str(record.quantity) == "10.00" and str(record.hours) == "5.00"
    assert corrections.current_versions([record.id]) == {record.id: 3}
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "contract.service_corrected").order_by(AuditEvent.id)
    ).all()
    assert [e.changes["version"] for e in events] == [2, 3]
    assert events[0].changes["changes"]["quantity"] == ["12.00", "10.00"]
    assert events[0].object_id == str(contract.id)
    # The contract's history (the auditors' timeline) shows each correction with its reason.
    texts = [e.text for e in timeline.history(contract)]
    assert any("corrected" in t and "两位老人当天未在家" in t for t in texts), texts


def test_a_correction_is_checked_as_a_new_record(logged, world):
    contract, member, record = logged
    raw = {"service_date": day(3), "activity_type": "nope", "notes": "13812345678"}
    with pytest.raises(InputErrors) as caught:
        corrections.correct_service_record(record, raw, "", member)
    assert {"service_date", "activity_type", "notes", "reason"} <= set(caught.value.errors)
    db.session.rollback()
    same = {"service_date": record.service_date, "activity_type": "home_visit", "target_id": record.target_id,
            "quantity": "12", "beneficiaries": 12, "hours": "6"}  # fmt: skip
    with pytest.raises(RuleViolation, match="Nothing was changed"):
        corrections.correct_service_record(record, same, "no change", member)
    db.session.rollback()
    with pytest.raises(RuleViolation):
        corrections.correct_service_record(
            record, {**same, "quantity": "1"}, "by the buyer", world["officer"]
        )
    db.session.rollback()
    assert db.session.scalar(select(ServiceRecordVersion.id)) is None


def test_the_record_page_shows_the_versions_and_takes_a_correction(client, world, logged):
    contract, member, record = logged
    page_url = f"/contracts/{contract.id}/records/{record.id}"
    _login(client, member)
    r = client.get(page_url)
    assert r.status_code == 200 and "Correct this record" in r.get_data(as_text=True)
    r = client.post(page_url, data=_form(record, quantity="9", reason=""))
    assert r.status_code == 400 and "Reason for the correction is required." in r.get_data(as_text=True)
    r = client.post(page_url, data=_form(record, quantity="9", reason="少记了三次"))
    assert r.status_code == 302
    page = client.get(page_url).get_data(as_text=True)
    assert "少记了三次" in page and "12.00" in page and "9.00" in page
    listing = client.get(f"/contracts/{contract.id}/records").get_data(as_text=True)
    assert "corrected (v2)" in listing
    # The buyer's officer sees the history but may not correct; another organization sees nothing.
    _login(client, world["officer"])
    r = client.get(page_url)
    assert r.status_code == 200 and "少记了三次" in r.get_data(as_text=True)
    assert "Correct this record" not in r.get_data(as_text=True)
    assert client.post(page_url, data=_form(record, quantity="1", reason="x")).status_code == 403
    _login(client, world["org_member"])
    assert client.get(page_url).status_code == 404
    assert client.get(f"/contracts/{contract.id}/records/999999").status_code == 404
    db.session.expire_all()
    assert str(record.quantity) == "9.00"
