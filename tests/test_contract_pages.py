"""The contract pages through the client: drafting form, who sees what, signatures, variations,
termination, documents and the public summary."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.contracts import terms
from marketplace.contracts.models import Contract, ContractDocument, Variation
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from tests import bid_factories as bf
from tests.contract_factories import contract_rows, final_award


def _login(client, user):
    with client.session_transaction() as sess:
        sess.clear()
        if user is not None:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True


def _draft_form(amounts=("84000.00", "84000.00", "112000.00"), **overrides):
    start = local_date(clock.now()) + timedelta(days=1)
    end = terms.term_limit(start, 12)
    dues = [start + timedelta(days=30), start + timedelta(days=150), end]
    data = {
        "title": "居家养老上门服务合同",
        "term_start": start.isoformat(),
        "term_end": end.isoformat(),
        "term_justification": "",
        "scope": "上门服务",
        "targets-0-name": "服务老人",
        "targets-0-unit": "人",
        "targets-0-quantity": "200",
        "targets-1-name": "上门服务",
        "targets-1-unit": "次",
        "targets-1-quantity": "1200",
    }
    for i, (due, amount) in enumerate(zip(dues, amounts, strict=True)):
        data[f"milestones-{i}-deliverable"] = f"阶段 {i + 1}"
        data[f"milestones-{i}-kind"] = "delivery"
        data[f"milestones-{i}-due_date"] = due.isoformat()
        data[f"milestones-{i}-amount"] = amount
        if i == len(amounts) - 1:
            data[f"milestones-{i}-is_final"] = "y"
    data.update(overrides)
    return data


@pytest.fixture
def scene(world, db):
    tender, award, org, member = final_award(world)
    db.session.commit()
    return tender, award, org, member


@pytest.fixture
def active(world, db):
    contract, org, member = contract_rows(world)
    db.session.commit()
    return contract, org, member


@pytest.fixture
def draft(world, db):
    contract, org, member = contract_rows(world, status="draft")
    db.session.commit()
    return contract, org, member


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- drafting -------------------------------------------------------------------------------------------


def test_draft_form_happy_path(client, login_as, scene):
    tender, _award, org, _member = scene
    login_as("officer")
    r = client.get(f"/tenders/{tender.id}")
    assert b"Draft the contract" in r.data
    r = client.get(f"/tenders/{tender.id}/contract/new")
    assert r.status_code == 200 and "¥280,000.00" in r.text
    assert r.text.count('name="milestones-') >= 8 * 5 and r.text.count('name="targets-') >= 5 * 3
    r = client.post(f"/tenders/{tender.id}/contract/new", data=_draft_form())
    assert r.status_code == 302
    contract = db.session.scalar(select(Contract).where(Contract.tender_id == tender.id))
    assert r.headers["Location"].endswith(f"/contracts/{contract.id}")
    assert contract.organization_id == org.id and contract.value == Decimal("280000.00")
    assert [t.name for t in contract.targets] == ["服务老人", "上门服务"]  # blank rows ignored
    assert len(contract.milestones) == 3 and contract.milestones[-1].is_final
    r = client.get(f"/contracts/{contract.id}")
    assert r.status_code == 200 and "HT-" in r.text and "Sign the contract" in r.text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"milestones-2-amount": "111000.00"}, "¥1,000.00 less than the contract value"),
        ({"milestones-1-due_date": ""}, "Milestone row 2: fill in the deliverable"),
        ({"targets-0-quantity": "abc"}, "Not a valid decimal value"),
        ({"milestones-0-amount": "NaN"}, "Enter a number"),
        ({"term_end": "2031-01-01", "milestones-2-due_date": "2030-12-31"}, "at most 36 months"),
        ({"term_end": "not a date"}, "Not a valid date value"),
        ({"milestones-2-is_final": ""}, "exactly one milestone as the final one"),
    ],
)
def test_draft_form_bad_input_is_400_and_saves_nothing(client, login_as, scene, overrides, message):
    tender, *_ = scene
    login_as("officer")
    r = client.post(f"/tenders/{tender.id}/contract/new", data=_draft_form(**overrides))
    assert r.status_code == 400, r.text
    assert message in r.text
    assert _count(Contract, Contract.tender_id == tender.id) == 0


def test_draft_form_is_refused_to_others(client, scene, world):
    tender, _award, _org, member = scene
    for who in (world["other_officer"], member, world["auditor"]):
        _login(client, who)
        assert client.get(f"/tenders/{tender.id}/contract/new").status_code == 403
        assert client.post(f"/tenders/{tender.id}/contract/new", data=_draft_form()).status_code == 403
    assert _count(Contract, Contract.tender_id == tender.id) == 0


def test_draft_form_explains_why_the_award_is_not_final(client, login_as, scene):
    tender, award, *_ = scene
    award.status, award.final_at = "notice", None
    db.session.commit()
    clock.set_now(award.challenge_deadline - timedelta(days=1))
    login_as("officer")
    r = client.get(f"/tenders/{tender.id}/contract/new")
    assert r.status_code == 200 and "not final yet" in r.text and 'name="title"' not in r.text
    r = client.post(f"/tenders/{tender.id}/contract/new", data=_draft_form())
    assert r.status_code == 400 and "not final yet" in r.text
    assert _count(Contract, Contract.tender_id == tender.id) == 0


def test_edit_draft_then_frozen_after_a_signature(client, login_as, draft, world):
    contract, _org, member = draft
    login_as("officer")
    r = client.get(f"/contracts/{contract.id}/edit")
    assert r.status_code == 200 and "启动与需求评估" in r.text
    r = client.post(f"/contracts/{contract.id}/edit", data=_draft_form())
    assert r.status_code == 302
    db.session.expire_all()
    assert contract.title == "居家养老上门服务合同"
    _login(client, member)
    assert client.post(f"/contracts/{contract.id}/sign").status_code == 302
    _login(client, world["officer"])
    r = client.post(f"/contracts/{contract.id}/edit", data=_draft_form(title="changed"))
    assert r.status_code == 302
    db.session.expire_all()
    assert contract.title == "居家养老上门服务合同"


def test_a_term_at_the_end_of_the_calendar_is_a_form_error_not_a_500(client, login_as, draft):
    contract, *_ = draft
    login_as("officer")
    for start, error in (
        ("9999-06-01", "between 1900-01-01 and 9998-12-31"),  # year 9999 overflows date arithmetic
        ("9997-06-01", "between 1900-01-01 and 9998-12-31"),  # the term's end, 9999-12-31, is refused
    ):
        r = client.post(
            f"/contracts/{contract.id}/edit",
            data=_draft_form(term_start=start, term_end="9999-12-31"),
        )
        assert r.status_code == 400 and error in r.text
    db.session.expire_all()
    assert contract.term_start.year < 9000


# --- who sees what ----------------------------------------------------------------------------------------


def test_non_parties_get_404_and_auditors_read_only(client, active, world):
    contract, _org, member = active
    outsider = bf.organization("别家机构")[1]
    db.session.commit()
    for who in (world["other_officer"], outsider, world["org_member"], world["evaluator"]):
        _login(client, who)
        assert client.get(f"/contracts/{contract.id}").status_code == 404
        assert client.post(f"/contracts/{contract.id}/sign").status_code == 404
    for who in (world["officer"], member, world["auditor"], world["admin"]):
        _login(client, who)
        assert client.get(f"/contracts/{contract.id}").status_code == 200
    _login(client, None)
    assert client.get(f"/contracts/{contract.id}").status_code == 302  # sign in first
    assert client.get("/contracts/999999").status_code == 302


def test_auditor_cannot_sign_and_nothing_changes(client, draft, world):
    contract, *_ = draft
    events = _count(AuditEvent)
    _login(client, world["auditor"])
    assert client.post(f"/contracts/{contract.id}/sign").status_code == 403
    assert (
        client.post(
            f"/contracts/{contract.id}/terminate", data={"reason": "x", "amount_paid": "0"}
        ).status_code
        == 403
    )
    db.session.expire_all()
    assert (
        contract.officer_signed_at is None and contract.org_signed_at is None and contract.status == "draft"
    )
    assert _count(AuditEvent) == events


def test_signing_through_the_page(client, draft, world):
    contract, _org, member = draft
    _login(client, world["officer"])
    r = client.get(f"/contracts/{contract.id}")
    assert "data-confirm=" in r.text  # asked by static/page-actions.js
    client.post(f"/contracts/{contract.id}/sign")
    r = client.post(f"/contracts/{contract.id}/sign", follow_redirects=True)
    assert "already signed" in r.text
    _login(client, member)
    r = client.post(f"/contracts/{contract.id}/sign", follow_redirects=True)
    assert "the contract is active" in r.text
    db.session.expire_all()
    assert contract.status == "active"


def test_contracts_list(client, active, world):
    contract, _org, member = active
    for who, seen in (
        (world["officer"], True),
        (member, True),
        (world["auditor"], True),
        (world["other_officer"], False),
    ):
        _login(client, who)
        r = client.get("/contracts")
        assert r.status_code == 200 and (contract.reference in r.text) is seen
        assert ">Contracts</a>" in r.text
    _login(client, world["officer"])
    r = client.get("/contracts?status=draft")
    assert contract.reference not in r.text and "No contracts with this status" in r.text
    assert client.get("/contracts?status=nonsense&page=abc").status_code == 200
    _login(client, world["evaluator"])
    assert client.get("/contracts").status_code == 403


# --- variations and termination ----------------------------------------------------------------------------


def test_variation_request_and_decision_through_the_pages(client, active, world):
    contract, _org, member = active
    final = contract.milestones[-1]
    _login(client, member)
    r = client.get(f"/contracts/{contract.id}/variations/new")
    assert r.status_code == 200 and "¥28,000.00" in r.text
    data = {"reason": "服务人数增加", "value": "308000.01", f"amount_{final.id}": "140000.01"}
    r = client.post(f"/contracts/{contract.id}/variations/new", data=data)
    assert r.status_code == 400 and "capped at 10%" in r.text
    assert _count(Variation, Variation.contract_id == contract.id) == 0
    data = {"reason": "服务人数增加", "value": "308000.00", f"amount_{final.id}": "140000.00"}
    assert client.post(f"/contracts/{contract.id}/variations/new", data=data).status_code == 302
    v = db.session.scalar(select(Variation).where(Variation.contract_id == contract.id))
    # The requester cannot decide; the auditor neither.
    for who in (member, world["auditor"]):
        _login(client, who)
        assert (
            client.post(
                f"/contracts/{contract.id}/variations/{v.id}/decide", data={"decision": "approve"}
            ).status_code
            == 403
        )
    _login(client, world["officer"])
    r = client.post(f"/contracts/{contract.id}/variations/{v.id}/decide", data={"decision": "reject"})
    assert r.status_code == 400 and "required" in r.text
    r = client.post(f"/contracts/{contract.id}/variations/{v.id}/decide", data={"decision": "approve"})
    assert r.status_code == 302
    db.session.expire_all()
    assert contract.value == Decimal("308000.00") and v.status == "approved"
    r = client.get(f"/contracts/{contract.id}")
    assert "¥308,000.00" in r.text and "¥280,000.00" in r.text  # current and original, history


def test_a_pending_variation_blocks_another_request_on_the_pages(client, active, world):
    contract, _org, member = active
    final = contract.milestones[-1]
    _login(client, member)
    assert "Request a variation" in client.get(f"/contracts/{contract.id}").text
    data = {"reason": "服务人数增加", "value": "281000.00", f"amount_{final.id}": "113000.00"}
    assert client.post(f"/contracts/{contract.id}/variations/new", data=data).status_code == 302
    assert "Request a variation" not in client.get(f"/contracts/{contract.id}").text
    r = client.get(f"/contracts/{contract.id}/variations/new", follow_redirects=True)
    assert "Another variation is waiting for a decision" in r.text  # the service's reason, not a copy


def test_termination_page(client, active, world):
    contract, *_ = active
    _login(client, world["officer"])
    assert client.get(f"/contracts/{contract.id}/terminate").status_code == 200
    r = client.post(
        f"/contracts/{contract.id}/terminate",
        data={"reason": "服务中断", "amount_paid": "280000.01", "confirm": "y"},
    )
    assert r.status_code == 400 and "cannot exceed" in r.text
    db.session.expire_all()
    assert contract.status == "active"
    r = client.post(
        f"/contracts/{contract.id}/terminate",
        data={"reason": "服务中断", "amount_paid": "1000", "confirm": "y"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert contract.status == "terminated"


# --- documents and the public summary --------------------------------------------------------------


def _upload(client, contract, name, public):
    data = {"document": (io.BytesIO(f"%PDF-1.4 {name}".encode()), name)}
    if public:
        data["public"] = "y"
    return client.post(f"/contracts/{contract.id}/documents", data=data, content_type="multipart/form-data")


def test_documents_and_public_summary(client, active, world):
    contract, *_ = active
    _login(client, world["officer"])
    assert _upload(client, contract, "signed.pdf", True).status_code == 302
    assert _upload(client, contract, "internal.pdf", False).status_code == 302
    r = _upload(client, contract, "virus.exe", False)
    assert r.status_code == 400 and "not accepted" in r.text
    public, private = (
        db.session.scalar(select(ContractDocument).where(ContractDocument.filename == name))
        for name in ("signed.pdf", "internal.pdf")
    )
    _login(client, None)
    r = client.get(f"/contracts/{contract.id}/summary")
    assert r.status_code == 200 and "signed.pdf" in r.text and "internal.pdf" not in r.text
    assert client.get(f"/contracts/{contract.id}/documents/{public.id}").status_code == 200
    assert client.get(f"/contracts/{contract.id}/documents/{private.id}").status_code == 404
    _login(client, world["auditor"])
    assert client.get(f"/contracts/{contract.id}/documents/{private.id}").status_code == 200
    assert _upload(client, contract, "x.pdf", True).status_code == 403


def test_public_summary_is_404_for_a_draft(client, draft):
    contract, *_ = draft
    assert client.get(f"/contracts/{contract.id}/summary").status_code == 404
    assert client.get("/contracts/999999/summary").status_code == 404


def test_org_profile_lists_contracts_won(client, active):
    contract, org, _member = active
    r = client.get(f"/orgs/{org.id}")
    assert r.status_code == 200 and contract.title in r.text and "¥280,000.00" in r.text


@pytest.mark.parametrize("status", ["draft", "active", "terminated"])
def test_every_contract_route_with_every_role_never_500(app, client, world, db, status):
    contract, _org, member = contract_rows(world, status=status)
    variation = Variation(
        contract_id=contract.id,
        reason="r",
        changes={"value": "280000.00"},
        previous={},
        status="requested",
        requested_at=clock.now(),
        requested_by_id=member.id,
    )
    db.session.add(variation)
    db.session.commit()
    ids = {
        "contract_id": contract.id,
        "tender_id": contract.tender_id,
        "variation_id": variation.id,
        "document_id": 999,
    }
    rules = [  # this module's routes (the delivery pages have their own tests)
        r
        for r in app.url_map.iter_rules()
        if app.view_functions[r.endpoint].__module__ == "marketplace.contracts.views"
    ]
    assert len(rules) >= 11
    users = [None, member] + [
        world[k] for k in ("officer", "other_officer", "org_member", "auditor", "admin")
    ]
    for user in users:
        _login(client, user)
        for rule in rules:
            with app.test_request_context():
                from flask import url_for

                url = url_for(rule.endpoint, **{a: ids.get(a, 1) for a in rule.arguments})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                r = client.open(url, method=method, data={})
                assert r.status_code < 500, (getattr(user, "email", None), method, url, r.status_code)
