"""Delivery pages through the client: who sees what, bad input is a 400 with nothing saved."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.contracts.delivery import milestones, records
from marketplace.contracts.models import Acceptance, Payment, ServiceRecord
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from tests import bid_factories as bf
from tests.contract_factories import contract_rows

IDENTITY_NUMBER = "11010119491001123X"


@pytest.fixture
def scene(world, db):
    contract, org, member = contract_rows(world)
    clock.advance(timedelta(days=10))
    db.session.commit()
    return contract, org, member


def _login(client, user):
    with client.session_transaction() as sess:
        sess.clear()
        if user is not None:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True


def today():
    return local_date(clock.now())


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_only_the_parties_auditors_and_admins_see_the_records(client, world, scene):
    contract, _org, member = scene
    _other_org, other_member = bf.organization("别家机构 Another org")
    db.session.commit()
    url = f"/contracts/{contract.id}/records"
    for user in (other_member, world["other_officer"], world["org_member"], world["evaluator"]):
        _login(client, user)
        assert client.get(url).status_code == 404, user.email
        assert client.get(f"/contracts/{contract.id}/payments").status_code == 404
        assert client.post(url, data={"activity_type": "home_visit"}).status_code == 404
    for user in (member, world["officer"], world["auditor"], world["admin"]):
        _login(client, user)
        assert client.get(url).status_code == 200, user.email
    _login(client, member)
    assert client.get("/contracts/999999/records").status_code == 404
    _login(client, None)
    assert client.get(url).status_code == 302  # to the sign-in page
    assert count(ServiceRecord) == 0


def test_member_logs_a_service_with_evidence(client, world, scene):
    contract, _org, member = scene
    target = contract.targets[0]
    _login(client, member)
    r = client.post(
        f"/contracts/{contract.id}/records",
        data={
            "service_date": (today() - timedelta(days=1)).isoformat(),
            "activity_type": "home_visit",
            "target_id": str(target.id),
            "quantity": "12",
            "beneficiaries": "12",
            "hours": "6.5",
            "notes": "探访独居老人",
            "documents": [(io.BytesIO(b"%PDF-1.4 sign-in sheet"), "签到表.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    rec = db.session.scalars(select(ServiceRecord)).one()
    assert rec.quantity == Decimal("12.00") and rec.hours == Decimal("6.50") and len(rec.documents) == 1
    page = client.get(f"/contracts/{contract.id}/records").get_data(as_text=True)
    assert "12.00 / 200" in page and "签到表.pdf" in page
    doc = rec.documents[0]
    r = client.get(f"/contracts/{contract.id}/records/{rec.id}/documents/{doc.id}")
    assert r.status_code == 200 and r.data == b"%PDF-1.4 sign-in sheet"
    assert client.get(f"/contracts/{contract.id}/records/{rec.id}/documents/{doc.id + 1}").status_code == 404
    filtered = client.get(f"/contracts/{contract.id}/records?activity=training&date_from=bad").get_data(
        as_text=True
    )
    assert "签到表.pdf" not in filtered
    # The officer reads the records but cannot log one.
    _login(client, world["officer"])
    assert client.get(f"/contracts/{contract.id}/records/{rec.id}/documents/{doc.id}").status_code == 200
    assert client.post(f"/contracts/{contract.id}/records", data={}).status_code == 403
    assert count(ServiceRecord) == 1


def test_identity_number_in_notes_is_a_400_and_nothing_is_saved(client, scene):
    contract, _org, member = scene
    _login(client, member)
    r = client.post(
        f"/contracts/{contract.id}/records",
        data={
            "service_date": today().isoformat(),
            "activity_type": "home_visit",
            "quantity": "1",
            "beneficiaries": "1",
            "hours": "1",
            "notes": f"王阿姨 {IDENTITY_NUMBER}",
        },
    )
    assert r.status_code == 400
    assert "identity number" in r.get_data(as_text=True)
    for bad in (
        {"quantity": "abc"},
        {"beneficiaries": "x"},
        {"service_date": "2026-13-45"},
        {"target_id": "99"},
    ):
        data = {"service_date": today().isoformat(), "activity_type": "home_visit", **bad}
        assert client.post(f"/contracts/{contract.id}/records", data=data).status_code == 400, bad
    assert count(ServiceRecord) == 0


def test_progress_report_page(client, scene):
    contract, _org, member = scene
    _login(client, member)
    url = f"/contracts/{contract.id}/reports"
    r = client.post(
        url, data={"period_start": today().isoformat(), "period_end": contract.term_start.isoformat()}
    )
    assert r.status_code == 400
    r = client.post(
        url,
        data={
            "period_start": contract.term_start.isoformat(),
            "period_end": today().isoformat(),
            "summary": "首月完成入户评估 40 户",
        },
    )
    assert r.status_code == 302
    assert "首月完成入户评估" in client.get(url).get_data(as_text=True)


def test_milestone_pages_submit_reject_accept(client, world, scene):
    contract, _org, member = scene
    first = contract.milestones[0]
    base = f"/contracts/{contract.id}/milestones/{first.id}"
    _login(client, member)
    assert client.get(f"{base}/submit").status_code == 200
    assert client.post(f"{base}/submit", data={"report": ""}).status_code == 400
    assert client.post(f"{base}/accept").status_code == 403
    r = client.post(
        f"{base}/submit",
        data={"report": "启动会已召开", "documents": [(io.BytesIO(b"%PDF-1.4 minutes"), "纪要.pdf")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert first.status == "submitted"

    _login(client, world["other_officer"])
    assert client.post(f"{base}/accept").status_code == 404
    _login(client, world["auditor"])
    page = client.get(base)
    assert page.status_code == 200 and "启动会已召开" in page.text and "纪要.pdf" in page.text
    assert f'action="{base}/accept"' not in page.text and f'action="{base}/reject"' not in page.text
    _login(client, world["officer"])  # the buyer's page offers both decisions on the submission
    page = client.get(base).text
    assert f'action="{base}/accept"' in page and f'action="{base}/reject"' in page
    _login(client, world["auditor"])
    assert client.post(f"{base}/accept").status_code == 403
    db.session.expire_all()
    assert first.status == "submitted"

    _login(client, world["officer"])
    assert client.post(f"{base}/reject", data={"reason": ""}).status_code == 400
    assert client.post(f"{base}/reject", data={"reason": "缺少签到表"}).status_code == 302
    db.session.expire_all()
    assert first.status == "rejected"
    assert client.post(f"{base}/accept").status_code == 400  # nothing submitted now

    _login(client, member)
    assert client.post(f"{base}/submit", data={"report": "补充签到表"}).status_code == 302
    _login(client, world["officer"])
    assert client.post(f"{base}/accept").status_code == 302
    db.session.expire_all()
    assert first.status == "accepted" and first.met_on == today()
    final = contract.milestones[-1]
    _login(client, member)
    client.post(f"/contracts/{contract.id}/milestones/{final.id}/submit", data={"report": "终期"})
    _login(client, world["officer"])
    r = client.post(f"/contracts/{contract.id}/milestones/{final.id}/accept")
    assert r.status_code == 400 and "final acceptance" in r.get_data(as_text=True)
    assert client.get(f"/contracts/{contract.id}/milestones/{first.id + 999}").status_code == 404


@pytest.mark.parametrize("amount", ["abc", "-1", "1e9", "", "0.001"])
def test_bad_payment_amount_is_a_400_and_nothing_is_saved(client, world, scene, amount):
    contract, _org, _member = scene
    _login(client, world["officer"])
    r = client.post(
        f"/contracts/{contract.id}/payments",
        data={"paid_on": today().isoformat(), "amount": amount, "reference": "PZ-1"},
    )
    assert r.status_code == 400
    body = r.get_data(as_text=True)
    assert "amount" in body.lower()
    if amount == "1e9":
        assert "¥280,000.00" in body  # the remaining value is stated
    assert count(Payment) == 0


def test_officer_records_a_payment_and_the_ledger_shows_it(client, world, scene):
    contract, _org, member = scene
    first = contract.milestones[0]
    milestones.submit_milestone(first, "done", [], member)
    milestones.accept_milestone(first, world["officer"])
    db.session.commit()
    _login(client, world["officer"])
    url = f"/contracts/{contract.id}/payments"
    r = client.post(
        url,
        data={
            "paid_on": today().isoformat(),
            "amount": "90000",
            "reference": "PZ-1",
            "milestone": str(first.id),
        },
    )
    assert r.status_code == 400 and "¥84,000.00" in r.get_data(as_text=True)
    r = client.post(
        url,
        data={
            "paid_on": today().isoformat(),
            "amount": "84000",
            "reference": "PZ-1",
            "milestone": str(first.id),
        },
    )
    assert r.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "¥84,000.00" in page and "¥196,000.00" in page  # paid and the balance


def test_auditor_reads_the_ledger_but_cannot_pay(client, world, scene):
    contract, _org, member = scene
    events = count(AuditEvent)
    for user in (world["auditor"], member):
        _login(client, user)
        assert client.get(f"/contracts/{contract.id}/payments").status_code == 200
        r = client.post(
            f"/contracts/{contract.id}/payments",
            data={"paid_on": today().isoformat(), "amount": "1000", "reference": "PZ-1"},
        )
        assert r.status_code == 403
    assert count(Payment) == 0 and count(AuditEvent) == events


def test_final_acceptance_page_and_public_result(client, world, scene):
    contract, _org, member = scene
    officer = world["officer"]
    first, second, final = contract.milestones
    for m in (first, second):
        milestones.submit_milestone(m, "done", [], member)
        milestones.accept_milestone(m, officer)
    milestones.submit_milestone(final, "终期报告", [], member)
    db.session.commit()
    public = f"/contracts/{contract.id}/acceptance"
    _login(client, None)
    assert client.get(public).status_code == 404  # nothing published yet
    assert client.get(f"/contracts/{contract.id}/acceptance/new").status_code == 302

    _login(client, member)
    assert client.get(f"/contracts/{contract.id}/acceptance/new").status_code == 403
    _login(client, officer)
    url = f"/contracts/{contract.id}/acceptance/new"
    assert client.get(url).status_code == 200
    r = client.post(url, data={"result": "passed", "summary": "合格"})
    assert r.status_code == 400 and "representative" in r.get_data(as_text=True)
    r = client.post(
        url,
        data={
            "result": "passed",
            "summary": "合格",
            "representatives-0-name": f"王阿姨{IDENTITY_NUMBER}",
        },
    )
    assert r.status_code == 400 and count(Acceptance) == 0
    r = client.post(
        url,
        data={
            "result": "passed",
            "summary": "服务对象满意",
            "representatives-0-name": "王阿姨",
            "representatives-0-community": "多福巷社区",
            "representatives-0-role": "服务对象",
            "representatives-1-name": "欧阳明",
            "representatives-1-community": "韶九社区",
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert contract.status == "completed" and final.status == "accepted"

    _login(client, None)
    r = client.get(public)
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "王*" in body and "欧*" in body and "多福巷社区" in body and "服务对象满意" in body
    assert "王阿姨" not in body and "欧阳明" not in body


def _partial(app, contract, user) -> str:
    """The delivery partial as the contract page includes it, for ``user``."""
    from flask import render_template
    from flask_login import login_user

    with app.test_request_context(f"/contracts/{contract.id}"):
        if user is not None:
            login_user(user)
        return render_template("contracts/_delivery.html", contract=contract)


def test_delivery_partial_shows_progress_milestones_and_ledger(app, world, scene):
    contract, _org, member = scene
    first, second, _final = contract.milestones
    target = contract.targets[0]
    records.log_service_record(
        contract,
        {"service_date": today(), "activity_type": "home_visit", "target_id": target.id, "quantity": "50"},
        [],
        member,
    )
    milestones.submit_milestone(first, "done", [], member)
    clock.advance(timedelta(days=30))  # the second milestone is not due; the first is submitted
    second.due_date = today() - timedelta(days=4)
    db.session.commit()

    html = _partial(app, contract, world["officer"])
    assert "50.00 / 200" in html and "25%" in html and 'data-percent="25"' in html
    assert f"/contracts/{contract.id}/milestones/{first.id}/accept" in html
    assert "Accept this milestone?" in html  # confirmation before accepting
    assert "4 days overdue" in html
    assert "¥280,000.00" in html  # the contract value in the ledger
    assert f"/contracts/{contract.id}/payments" in html

    html = _partial(app, contract, member)
    assert f"/milestones/{first.id}/accept" not in html
    assert f"/milestones/{second.id}/submit" in html

    html = _partial(app, contract, world["auditor"])
    assert "/accept" not in html and "/submit" not in html


DELIVERY_ENDPOINTS = (
    "contracts.records",
    "contracts.record_document",
    "contracts.reports",
    "contracts.milestone",
    "contracts.submit_milestone",
    "contracts.accept_milestone",
    "contracts.reject_milestone",
    "contracts.milestone_document",
    "contracts.new_acceptance",
    "contracts.acceptance",
    "contracts.payments",
)


@pytest.mark.parametrize("status", ["active", "draft"])
def test_every_delivery_route_with_every_role_never_500(app, client, world, db, status):
    from flask import url_for

    contract, _org, member = contract_rows(world, status=status)
    db.session.commit()
    ids = {"contract_id": contract.id, "milestone_id": contract.milestones[0].id, "record_id": 1, "doc_id": 1}
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in DELIVERY_ENDPOINTS:
            with app.test_request_context():
                urls.append((rule, url_for(rule.endpoint, **{a: ids[a] for a in rule.arguments})))
    assert len(urls) == len(DELIVERY_ENDPOINTS)
    users = [None, member] + [
        world[k] for k in ("officer", "other_officer", "org_member", "auditor", "admin")
    ]
    for user in users:
        _login(client, user)
        for rule, url in urls:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for data in ({}, {"amount": "x", "paid_on": "nope", "result": "maybe", "quantity": "NaN"}):
                    r = client.open(url, method=method, data=data)
                    assert r.status_code < 500, (getattr(user, "email", None), method, url, r.status_code)
    assert count(Payment) == 0 and count(ServiceRecord) == 0 and count(Acceptance) == 0
