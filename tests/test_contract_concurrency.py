"""Two people changing one contract at the same moment, on PostgreSQL (row locks make it meaningful).

Exactly one of each pair may win, and the ledger never exceeds the contract value. These tests commit
for real (each thread has its own connection) and empty every table afterwards. The payments race is
in tests/test_delivery.py.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.auth import services as auth_services
from marketplace.auth.models import User
from marketplace.contracts import variations
from marketplace.contracts.delivery import milestones, payments
from marketplace.contracts.models import Contract, Milestone, Payment, Variation
from marketplace.core.errors import RuleViolation
from marketplace.extensions import db
from tests import factories
from tests.conftest import PG_URL
from tests.contract_factories import contract_rows

pytestmark = pytest.mark.skipif(not PG_URL, reason="concurrency tests need PostgreSQL: set TEST_DATABASE_URL")


def _race(app, *actions) -> list[str]:
    """Run each action in its own thread and connection, all released at once; returns per action
    "won" (committed) or the refusal's message."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str | None] = [None] * len(actions)
    errors: list[BaseException] = []

    def run(i, action):
        with app.app_context():
            try:
                prepared = action()  # load the rows this thread decides on, before the start
                barrier.wait(10)
                prepared()
                db.session.commit()
                outcomes[i] = "won"
            except RuleViolation as exc:
                db.session.rollback()
                outcomes[i] = exc.message
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return outcomes


def _second_officer(world) -> User:
    return auth_services.create_user(
        email="officer2@test.org", role="officer", password=factories.PASSWORD, agency=world["agency"]
    )


def test_two_officers_accepting_the_same_milestone_one_wins(app, committed):
    world = factories.world()
    other = _second_officer(world)
    contract, _org, member = contract_rows(world)
    first = contract.milestones[0]
    milestones.submit_milestone(first, "第一阶段服务已完成", [], member)
    db.session.commit()
    milestone_id, officer_ids = first.id, [world["officer"].id, other.id]

    def accept_as(officer_id):
        def prepare():
            milestone = db.session.get(Milestone, milestone_id)
            officer = db.session.get(User, officer_id)
            assert milestone.is_submitted  # both officers saw a submitted milestone
            return lambda: milestones.accept_milestone(milestone, officer)

        return prepare

    outcomes = _race(app, accept_as(officer_ids[0]), accept_as(officer_ids[1]))
    assert sorted(o == "won" for o in outcomes) == [False, True], outcomes
    assert "Only a submitted milestone" in next(o for o in outcomes if o != "won")
    db.session.remove()
    milestone = db.session.get(Milestone, milestone_id)
    assert milestone.status == "accepted" and milestone.accepted_by_id in officer_ids
    decided = [s for s in milestone.submissions if s.decision is not None]
    assert len(decided) == 1 and decided[0].decided_by_id == milestone.accepted_by_id


def test_a_variation_and_a_payment_at_once_keep_the_ledger_within_the_value(app, committed):
    world = factories.world()
    other = _second_officer(world)
    contract, _org, member = contract_rows(world)  # 280,000: 84,000 / 84,000 / 112,000
    final = contract.milestones[-1]
    # The organization asks to lower the value to 200,000 (the final share drops by 80,000)…
    variation = variations.request_variation(
        contract,
        {
            "value": Decimal("200000.00"),
            "milestones": [{"id": final.id, "amount": final.amount - Decimal("80000.00")}],
            "reason": "服务对象减少",
        },
        member,
    )
    db.session.commit()
    ids = {
        "contract": contract.id,
        "variation": variation.id,
        "officer": world["officer"].id,
        "other": other.id,
    }
    paid_on = payments.today()

    def approve():
        v = db.session.get(Variation, ids["variation"])
        officer = db.session.get(User, ids["officer"])
        return lambda: variations.decide_variation(v, True, "", officer)

    def pay():  # …while another officer pays 250,000: within the old value, beyond the new one.
        c = db.session.get(Contract, ids["contract"])
        officer = db.session.get(User, ids["other"])
        return lambda: payments.record_payment(c, paid_on, "250000.00", "PZ-1", None, officer)

    outcomes = _race(app, approve, pay)
    assert sorted(o == "won" for o in outcomes) == [False, True], outcomes
    db.session.remove()
    value = db.session.get(Contract, ids["contract"]).value
    paid = db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)))
    assert paid <= value
    if outcomes[0] == "won":
        assert value == Decimal("200000.00") and paid == 0
    else:
        assert value == Decimal("280000.00") and paid == Decimal("250000.00")
        assert db.session.get(Variation, ids["variation"]).status == "requested"


def test_two_officers_recording_the_same_bid_bond_at_once_one_wins(app, committed):
    from marketplace.bonds import services as bonds
    from marketplace.bonds.models import BidBond
    from marketplace.tenders.bids.opening import opened_bids
    from marketplace.tenders.models import Tender
    from tests.contract_factories import final_award

    world = factories.world()
    other = _second_officer(world)
    tender, award, _org, _member = final_award(world)
    loser = next(b for b in opened_bids(tender) if b.id != award.bid_id)
    db.session.commit()
    ids = {"tender": tender.id, "officers": [world["officer"].id, other.id]}
    raw = {
        "bid_id": loser.public_id,
        "amount": "5000.00",
        "form": "bank_guarantee",
        "received_on": "2026-09-15",
    }

    def record_as(officer_id):
        def prepare():
            t = db.session.get(Tender, ids["tender"])
            officer = db.session.get(User, officer_id)
            return lambda: bonds.record_bid_bond(t, raw, officer)

        return prepare

    outcomes = _race(app, *(record_as(i) for i in ids["officers"]))  # a unique index decides: no 500
    assert sorted(o == "won" for o in outcomes) == [False, True], outcomes
    assert "already recorded" in next(o for o in outcomes if o != "won")
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(BidBond)) == 1
