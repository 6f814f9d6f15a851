"""A contract's history: one timeline from the tender draft to the last payment, with actors."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from marketplace import clock
from marketplace.audit import history as timeline
from marketplace.contracts import drafting, signing, terms
from marketplace.contracts.delivery import milestones, payments, records
from marketplace.contracts.models import Payment
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.extensions import db
from tests.contract_factories import final_award


def delivered_contract(world):
    """A contract drafted and signed through the verbs, with a service record, an accepted first
    milestone and its payment. Returns (contract, org, member)."""
    tender, _award, org, member = final_award(world)
    officer = world["officer"]
    start = local_date(clock.now()) + timedelta(days=1)
    end = terms.term_limit(start, 12)
    contract = drafting.draft_contract(
        tender,
        {
            "title": "居家养老上门服务合同 Home care contract",
            "term_start": start,
            "term_end": end,
            "scope": "上门服务",
            "targets": [{"name": "服务老人", "unit": "人", "quantity": "200"}],
            "milestones": [
                {
                    "deliverable": "需求评估 Start-up",
                    "due_date": start + timedelta(days=30),
                    "amount": "84000.00",
                },
                {"deliverable": "中期报告", "due_date": start + timedelta(days=150), "amount": "84000.00"},
                {"deliverable": "终期验收", "due_date": end, "amount": "112000.00", "is_final": True},
            ],
        },
        officer,
    )
    signing.sign(contract, officer)
    clock.advance(timedelta(hours=2))
    signing.sign(contract, member)
    clock.set_now(start_of_local_day(start + timedelta(days=3)) + timedelta(hours=10))
    records.log_service_record(
        contract,
        {
            "service_date": start + timedelta(days=2),
            "activity_type": "home_visit",
            "target_id": contract.targets[0].id,
            "quantity": Decimal("5"),
            "beneficiaries": 5,
            "hours": Decimal("7.5"),
        },
        [],
        member,
    )
    first = contract.milestones[0]
    clock.set_now(start_of_local_day(start + timedelta(days=28)) + timedelta(hours=10))
    milestones.submit_milestone(first, "已完成需求评估。 Needs assessed.", [], member)
    clock.advance(timedelta(days=1))
    milestones.accept_milestone(first, officer)
    clock.advance(timedelta(days=2))
    payments.record_payment(contract, local_date(clock.now()), first.amount, "GK-0001", first, officer)
    db.session.flush()
    return contract, org, member


@pytest.fixture
def scene(world, db):
    return delivered_contract(world)


def test_history_runs_from_the_tender_draft_to_the_last_payment_in_order(scene, world):
    contract, org, _member = scene
    entries = timeline.history(contract)
    kinds = [e.kind for e in entries]
    expected = [
        "draft",
        "publication",
        "bid",
        "opening",
        "committee",
        "qualification",
        "scores",
        "award",
        "contract",
        "signature",
        "service_totals",
        "milestone",
        "payment",
    ]
    positions = [kinds.index(k) for k in expected]
    assert positions == sorted(positions), kinds
    assert entries == sorted(entries, key=lambda e: e.at)
    assert kinds[-1] == "payment"
    by_kind = {e.kind: e for e in entries}
    assert by_kind["publication"].party == world["agency"].name
    assert by_kind["publication"].account == world["officer"].email
    assert by_kind["opening"].account == "system" or by_kind["opening"].party
    # The tender's opening key is made at publication; the bids are opened at the opening ceremony.
    assert [e.action for e in entries if e.kind == "publication"] == ["tender.publish", "tender.opening_key"]
    opening = [e for e in entries if e.kind == "opening"]
    assert [e.action for e in opening] == [
        "tender.ceremony_begin",
        "tender.opening_share",
        "tender.ceremony_complete",
        "tender.open_bids",
    ]
    share = opening[1]
    assert share.party == world["agency"].name and share.account == world["officer"].email
    signatures = [e for e in entries if e.kind == "signature"]
    assert {e.party for e in signatures} == {world["agency"].name, org.name}
    milestone_steps = [e.action for e in entries if e.kind == "milestone"]
    assert milestone_steps == ["contract.milestone_submitted", "contract.milestone_accepted"]
    totals = by_kind["service_totals"]
    assert "1 record(s)" in totals.text and "5 beneficiaries" in totals.text and totals.party == org.name
    # Each service record is summed into the month, never listed with its notes.
    assert not any(e.action == "contract.service_logged" for e in entries)


def test_bid_events_stay_hidden_until_the_opening(world, db):
    from marketplace.audit.history import histories
    from marketplace.audit.models import AuditEvent
    from marketplace.tenders.bids.ceremony import verbs
    from marketplace.tenders.bids.models import BidOpening
    from tests import bid_factories as bf
    from tests import factories

    tender = factories.published(world["officer"])
    bidders = [bf.organization(f"封标测试机构{i}") for i in range(3)]
    for org, member in bidders:
        bf.submitted_bid(tender, org, member)
    db.session.flush()
    assert db.session.query(AuditEvent).filter_by(object_type="bid", tender_id=tender.id).count() > 0
    assert db.session.query(BidOpening).filter_by(tender_id=tender.id).count() == 0

    class _Key:  # a would-be contract on the unopened tender
        id, tender_id, organization_id, reference = 999_999, tender.id, bidders[0][0].id, "X"

    entries = histories([_Key()])[999_999]
    assert entries and not any(e.kind == "bid" for e in entries)
    # Nor while the opening ceremony waits for the officers' shares.
    clock.set_now(tender.bid_deadline + timedelta(minutes=1))
    assert verbs.open_if_due(tender) and tender.status == "open"
    db.session.flush()
    entries = histories([_Key()])[999_999]
    assert [e.action for e in entries if e.kind == "opening"] == ["tender.ceremony_begin"]
    assert not any(e.kind == "bid" or e.action.startswith("bid.") for e in entries)
    bf.open_sealed(tender)
    entries = histories([_Key()])[999_999]
    assert any(e.kind == "bid" for e in entries)  # opened: the bid events show


def test_payments_without_an_event_still_appear(scene, world):
    contract, _org, _member = scene
    db.session.add(
        Payment(
            contract_id=contract.id,
            paid_on=local_date(clock.now()),
            amount=Decimal("1000.00"),
            reference="BULK-1",
            recorded_at=clock.now() + timedelta(minutes=5),
            recorded_by_id=world["officer"].id,
        )
    )
    db.session.flush()
    payments = [e for e in timeline.history(contract) if e.kind == "payment"]
    assert len(payments) == 2 and "BULK-1" in payments[-1].text


def test_history_page_for_auditor_and_parties_404_for_others(scene, client, login_as, world):
    contract, org, member = scene
    db.session.commit()
    url = f"/auditor/contracts/{contract.id}/history"
    login_as("auditor")
    r = client.get(url)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Bid opening" in page and "Payment" in page and world["officer"].email in page
    for who in ("officer", "admin"):
        login_as(who)
        r = client.get(url)
        assert r.status_code == 200, who
        # The full history: the committee's work and the accounts that acted.
        page = r.get_data(as_text=True)
        assert "Bid opening" in page and world["officer"].email in page, who
    # The contracted organization sees its own steps and the public ones, not the committee's work.
    with client.session_transaction() as sess:
        sess["_user_id"] = str(member.id)
    r = client.get(url)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Signature" in page and "Evaluation committee" not in page and world["officer"].email not in page
    for who in ("other_officer", "org_member", "evaluator"):
        login_as(who)
        assert client.get(url).status_code == 404, who
    assert client.get("/auditor/contracts/999999/history").status_code == 404
    client.post("/auth/logout")
    r = client.get(url)
    assert r.status_code in (302, 401)


def test_only_the_supplier_gets_the_supplier_view(scene, world):
    contract, _org, member = scene
    assert timeline.is_supplier_view(member, contract) is True
    for who in ("officer", "auditor", "admin", "other_officer", "evaluator"):
        assert timeline.is_supplier_view(world[who], contract) is False, who


def test_contract_page_links_to_its_history(scene, client, login_as):
    contract, _org, _member = scene
    db.session.commit()
    login_as("auditor")
    page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert f"/auditor/contracts/{contract.id}/history" in page


def test_auditor_index_filters_and_paginates(scene, client, login_as, world):
    contract, org, _member = scene
    db.session.commit()
    login_as("auditor")
    r = client.get("/auditor/contracts")
    assert r.status_code == 200 and contract.reference in r.get_data(as_text=True)
    r = client.get(f"/auditor/contracts?organization={org.id}&status=active&district=110101")
    page = r.get_data(as_text=True)
    assert contract.reference in page
    assert f"export.csv?district=110101&amp;organization={org.id}&amp;status=active" in page
    r = client.get("/auditor/contracts?status=completed")
    assert contract.reference not in r.get_data(as_text=True)
    r = client.get("/auditor/contracts?from=not-a-date")
    assert r.status_code == 400 and "YYYY-MM-DD" in r.get_data(as_text=True)
    for query in ("to=9999-12-31", "from=0001-01-01", "agency=2147483648"):
        r = client.get(f"/auditor/contracts?{query}")
        assert r.status_code == 400, query
        assert contract.reference in r.get_data(as_text=True), query  # the unfiltered list, not a 500
    assert client.get("/auditor/exports?to=9999-12-31").status_code == 400
    for who in ("officer", "org_member", "evaluator"):
        login_as(who)
        assert client.get("/auditor/contracts").status_code == 403, who
        assert client.get("/auditor/exports").status_code == 403, who
