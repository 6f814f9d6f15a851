"""Bid bonds and performance bonds (IR 33, 48): the caps exactly at and one fen past, waived tenders,
the dates, the pages, and the overdue return flagged once by the bond-returns job."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace import clock
from marketplace.bonds import services
from marketplace.core.errors import RuleViolation
from marketplace.core.notifications import Notification
from marketplace.core.schemas import InputErrors
from marketplace.core.timeutil import start_of_local_day
from marketplace.extensions import db as _db
from marketplace.jobs import runner
from marketplace.tenders.bids.opening import opened_bids
from tests import bid_factories as bf
from tests import contract_factories as cf
from tests import factories


def at(day: date, hour: int = 10) -> datetime:
    return start_of_local_day(day) + timedelta(hours=hour)


SEP_15 = date(2026, 9, 15)  # final_award: bids opened and the award notice published on Tue 15 Sep 2026


def bond_input(bid, amount="5000.00", form="bank_guarantee", received_on=SEP_15) -> dict:
    return {"bid_id": bid.public_id, "amount": amount, "form": form, "received_on": received_on.isoformat()}


@pytest.fixture
def awarded(world, db):
    tender, award, org, member = cf.final_award(world)
    bids = opened_bids(tender)
    loser = next(b for b in bids if b.id != award.bid_id)
    winner = next(b for b in bids if b.id == award.bid_id)
    return tender, award, winner, loser


# --- bid bonds -------------------------------------------------------------------------------------


def test_a_bid_bond_above_2_percent_of_the_budget_is_refused_exactly_2_percent_accepted(awarded, world):
    tender, award, winner, loser = awarded
    assert tender.budget_ceiling == Decimal("480000.00") and tender.bid_bond_cap == Decimal("9600.00")
    with pytest.raises(RuleViolation, match="2% of the budget") as exc:
        services.record_bid_bond(tender, bond_input(loser, "9600.01"), world["officer"])
    assert exc.value.field == "amount"
    bond = services.record_bid_bond(tender, bond_input(loser, "9600.00"), world["officer"])
    assert bond.amount == Decimal("9600.00") and bond.form == "bank_guarantee" and not bond.declared
    with pytest.raises(RuleViolation, match="already"):
        services.record_bid_bond(tender, bond_input(loser, "100.00"), world["officer"])


def test_bid_bond_input_is_validated_with_every_message(awarded, world):
    tender, award, winner, loser = awarded
    with pytest.raises(InputErrors) as exc:
        services.record_bid_bond(
            tender,
            {"bid_id": "x", "amount": "abc", "form": "gold", "received_on": "15/09/2026"},
            world["officer"],
        )
    assert set(exc.value.errors) == {"bid_id", "amount", "form", "received_on"}


def test_a_bid_bond_is_received_by_the_opening_and_recorded_by_the_agency(awarded, world):
    tender, award, winner, loser = awarded
    with pytest.raises(RuleViolation, match="received by") as exc:
        services.record_bid_bond(
            tender, bond_input(loser, received_on=SEP_15 + timedelta(days=1)), world["officer"]
        )
    assert exc.value.field == "received_on"
    with pytest.raises(RuleViolation, match="procuring agency"):
        services.record_bid_bond(tender, bond_input(loser), world["other_officer"])
    draft = factories.published(world["officer"], bid_deadline=at(date(2026, 11, 3), 9))
    with pytest.raises(RuleViolation, match="opened"):  # before the opening nobody knows the bidders
        services.record_bid_bond(draft, bond_input(loser), world["officer"])


def test_a_waived_tender_refuses_bond_records(awarded, world):
    tender, award, winner, loser = awarded
    tender.bonds_waived = True
    with pytest.raises(RuleViolation, match="waives"):
        services.record_bid_bond(tender, bond_input(loser), world["officer"])


def test_the_waiver_defaults_to_the_configuration(app, world, db):
    assert factories.draft(world["officer"]).bonds_waived is False
    assert factories.draft(world["officer"], bonds_waived=True).bonds_waived is True
    app.config["BONDS_WAIVED_BY_DEFAULT"] = True
    try:
        assert factories.draft(world["officer"]).bonds_waived is True
    finally:
        app.config["BONDS_WAIVED_BY_DEFAULT"] = False


def test_returns_are_dated_between_receipt_and_today_and_recorded_once(awarded, world):
    tender, award, winner, loser = awarded
    bond = services.record_bid_bond(tender, bond_input(loser), world["officer"])
    with pytest.raises(RuleViolation, match="between"):
        services.return_bid_bond(bond, {"returned_on": "2026-09-14"}, world["officer"])
    with pytest.raises(InputErrors):
        services.return_bid_bond(bond, {"returned_on": ""}, world["officer"])
    services.return_bid_bond(bond, {"returned_on": "2026-09-18"}, world["officer"])
    assert bond.returned_on == date(2026, 9, 18) and bond.returned_by_id == world["officer"].id
    with pytest.raises(RuleViolation, match="already returned"):
        services.return_bid_bond(bond, {"returned_on": "2026-09-18"}, world["officer"])


def test_return_due_days(awarded, world):
    tender, award, winner, loser = awarded
    lost = services.record_bid_bond(tender, bond_input(loser), world["officer"])
    won = services.record_bid_bond(tender, bond_input(winner), world["officer"])
    # The loser's: 5 working days after the notice of Tue 15 Sep: 16, 17, 18, Sun 20 (make-up day), Mon 21.
    assert services.return_due(lost) == date(2026, 9, 21)
    assert services.return_due(won) is None  # the winner's waits for the contract's signature


# --- the overdue return, flagged once ----------------------------------------------------------------


def _notes() -> list[Notification]:
    return list(_db.session.scalars(select(Notification).where(Notification.kind == "bond.return_overdue")))


def test_an_overdue_bond_return_is_flagged_once_by_the_job(awarded, world, client, login_as):
    tender, award, winner, loser = awarded
    bond = services.record_bid_bond(tender, bond_input(loser), world["officer"])
    _db.session.commit()
    clock.set_now(at(date(2026, 9, 21), 23))  # the last day: in time
    assert runner.run_job("bond-returns").changed == 0
    clock.set_now(at(date(2026, 9, 22), 9))
    run = runner.run_job("bond-returns")
    assert run.status == "ok", run.error
    assert run.details["flagged"] == [bond.id]
    _db.session.expire_all()
    assert bond.return_overdue_notified_at is not None
    notes = _notes()
    assert [n.user_id for n in notes] == [world["officer"].id] and notes[0].params["due"] == "2026-09-21"
    assert runner.run_job("bond-returns").changed == 0 and len(_notes()) == 1
    login_as("officer")
    page = client.get("/dashboard/officer").get_data(as_text=True)
    assert f'<li data-bond-id="{bond.id}">' in page
    assert 'data-overdue="1"' in client.get(f"/bonds/tenders/{tender.id}").get_data(as_text=True)
    services.return_bid_bond(bond, {"returned_on": "2026-09-22"}, world["officer"])
    _db.session.commit()
    assert f'<li data-bond-id="{bond.id}">' not in client.get("/dashboard/officer").get_data(as_text=True)


# --- performance bonds -----------------------------------------------------------------------------


def test_a_performance_bond_above_10_percent_is_refused_exactly_10_percent_accepted(world, db):
    contract, org, member = cf.contract_rows(world)
    assert services.performance_bond_cap(contract) == Decimal("28000.00")
    raw = {"amount": "28000.01", "form": "transfer", "received_on": "2026-09-25"}
    with pytest.raises(RuleViolation, match="10% of the contract value") as exc:
        services.record_performance_bond(contract, raw, world["officer"])
    assert exc.value.field == "amount"
    bond = services.record_performance_bond(contract, {**raw, "amount": "28000.00"}, world["officer"])
    assert bond.amount == Decimal("28000.00")
    with pytest.raises(RuleViolation, match="already recorded"):
        services.record_performance_bond(contract, raw, world["officer"])
    services.return_performance_bond(bond, {"returned_on": "2026-09-25"}, world["officer"])
    assert bond.returned


def test_a_waived_tender_refuses_a_performance_bond(world, db):
    contract, org, member = cf.contract_rows(world)
    contract.tender.bonds_waived = True
    with pytest.raises(RuleViolation, match="waives"):
        services.record_performance_bond(
            contract, {"amount": "100.00", "form": "transfer", "received_on": "2026-09-25"}, world["officer"]
        )


# --- pages -----------------------------------------------------------------------------------------


def test_the_tender_page_shows_the_bond_requirement(awarded, world, client):
    tender, *_ = awarded
    _db.session.commit()
    page = client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    assert 'id="bond-requirement"' in page and "9,600.00" in page
    tender.bonds_waived = True
    _db.session.commit()
    assert "Waived: no bid bond" in client.get(f"/tenders/{tender.id}").get_data(as_text=True)


def test_the_officer_records_a_bid_bond_on_its_page(awarded, world, client, login_as):
    tender, award, winner, loser = awarded
    _db.session.commit()
    login_as("officer")
    assert f"/bonds/tenders/{tender.id}" in client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    data = {"bid_id": loser.public_id, "amount": "9600.01", "form": "transfer", "received_on": "2026-09-15"}
    r = client.post(f"/bonds/tenders/{tender.id}", data=data)
    assert r.status_code == 400 and "2% of the budget" in r.get_data(as_text=True)
    assert services.bid_bonds(tender) == []
    r = client.post(f"/bonds/tenders/{tender.id}", data={**data, "amount": "9600.00"})
    assert r.status_code == 302
    assert [b.amount for b in services.bid_bonds(tender)] == [Decimal("9600.00")]
    bond = services.bid_bonds(tender)[0]
    r = client.post(f"/bonds/bid-bonds/{bond.public_id}/return", data={"returned_on": "2026-09-18"})
    assert r.status_code == 302
    _db.session.expire_all()
    assert bond.returned_on == date(2026, 9, 18)
    login_as("other_officer")
    assert client.get(f"/bonds/tenders/{tender.id}").status_code == 403
    assert client.post(f"/bonds/tenders/{tender.id}", data=data).status_code == 403


def test_the_officer_records_a_performance_bond_on_its_page(world, db, client, login_as):
    contract, org, member = cf.contract_rows(world)
    _db.session.commit()
    login_as("officer")
    assert f"/bonds/contracts/{contract.id}" in client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    r = client.post(
        f"/bonds/contracts/{contract.id}",
        data={"amount": "", "form": "transfer", "received_on": "2026-09-25"},
    )
    assert r.status_code == 400 and "Enter an amount" in r.get_data(as_text=True)
    r = client.post(
        f"/bonds/contracts/{contract.id}",
        data={"amount": "28000", "form": "transfer", "received_on": "2026-09-25"},
    )
    assert r.status_code == 302
    assert 'id="performance-bond"' in client.get(f"/bonds/contracts/{contract.id}").get_data(as_text=True)


# --- the organization's declaration ------------------------------------------------------------------


def test_the_organization_declares_its_bid_bond_before_the_opening(world, client, login_as, db):
    tender = factories.published(world["officer"], bid_deadline=at(date(2026, 4, 14), 9))  # clock: 10 Mar
    org, member = bf.organization("保证金测试机构")
    other_org, other_member = bf.organization("另一机构")
    bid, _receipt = bf.submitted_bid(tender, org, member)
    raw = {"amount": "9600.01", "form": "transfer", "received_on": "2026-03-10"}
    with pytest.raises(RuleViolation, match="2% of the budget"):
        services.declare_bid_bond(bid, raw, member)
    with pytest.raises(RuleViolation, match="member of the bidding organization"):
        services.declare_bid_bond(bid, {**raw, "amount": "9600.00"}, other_member)
    bond = services.declare_bid_bond(bid, {**raw, "amount": "9600.00"}, member)
    assert bond.declared and bond.recorded_by_id == member.id
    _db.session.commit()
    login_as("officer")  # the bidders are secret until the opening
    assert "保证金测试机构" not in client.get(f"/bonds/tenders/{tender.id}").get_data(as_text=True)
    assert client.get(f"/bonds/bids/{bid.public_id}").status_code == 404
    with client.session_transaction() as sess:  # the same client, now as the bidder
        sess["_user_id"] = str(member.id)
    assert 'id="bid-bond"' in client.get(f"/bonds/bids/{bid.public_id}").get_data(as_text=True)


def test_a_procurement_ended_without_an_award_returns_its_bonds_from_its_end(world, db):
    """Too few bids (O87 41) on Tue 14 Apr 2026: the declared bond is due back 5 working days later,
    Tue 21 Apr; a cancelled tender's from its cancellation."""
    from marketplace.tenders.cancellation import cancel
    from tests.bid_factories import open_sealed

    tender = factories.published(world["officer"], bid_deadline=at(date(2026, 4, 14), 9))
    org, member = bf.organization("流标保证金机构")
    bid, _receipt = bf.submitted_bid(tender, org, member)
    bond = services.declare_bid_bond(
        bid, {"amount": "1000.00", "form": "transfer", "received_on": "2026-03-10"}, member
    )
    assert services.return_due(bond) is None  # the procurement goes on
    clock.set_now(at(date(2026, 4, 14), 10))
    assert open_sealed(tender).failed and tender.failed_at == clock.now()
    assert services.return_due(bond) == date(2026, 4, 21)

    other = factories.published(world["officer"], bid_deadline=at(date(2026, 5, 20), 9))
    org2, member2 = bf.organization("撤销保证金机构")
    bid2, _r = bf.submitted_bid(other, org2, member2)
    bond2 = services.declare_bid_bond(
        bid2, {"amount": "1000.00", "form": "transfer", "received_on": "2026-04-14"}, member2
    )
    cancel(other, "需求取消", world["officer"])  # on Tue 14 Apr too
    assert services.return_due(bond2) == date(2026, 4, 21)
