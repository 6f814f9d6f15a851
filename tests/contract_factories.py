"""Scenes for the contract stage: a tender whose award is final, and a contract built on it.

``final_award`` walks the real verbs (publish, bid, open, committee, scores, award, window closes).
``contract_rows`` inserts a contract directly as rows, so delivery, jobs and dashboards can be tested
without going through the drafting and signing verbs (those have their own tests).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from marketplace import clock
from marketplace.auth import services as auth_services
from marketplace.contracts.models import ACTIVE, Contract, ContractTarget, Milestone
from marketplace.core.timeutil import start_of_local_day
from marketplace.extensions import db
from marketplace.tenders.committee.awards import confirm_award, finalize_if_due
from marketplace.tenders.committee.members import Appointment, declare, form_committee
from marketplace.tenders.committee.ranking import conclude, sign_off
from marketplace.tenders.committee.review import qualify
from marketplace.tenders.committee.scores import save_scores
from tests import bid_factories as bf
from tests import factories
from tests.bid_factories import open_sealed
from tests.factories import PASSWORD

_n = iter(range(1, 100_000))


def scored_tender(world, deadline: datetime, prices=("300000.00", "280000.00", "320000.00"), opened_at=None):
    """A tender published 30 days before ``deadline`` (or at the clock, for ``final_award``), its bids
    opened at ``opened_at`` (the deadline plus a minute by default), every bid qualified and scored by a
    five-member committee, the ranking not yet concluded. Returns (tender, members, bids, bidders)."""
    n = next(_n)
    tender = factories.published(world["officer"], bid_deadline=deadline)
    bidders = [bf.organization(f"合同测试机构{n}-{i}") for i in range(len(prices))]
    bids = [bf.submitted_bid(tender, org, m, price=p)[0] for (org, m), p in zip(bidders, prices, strict=True)]
    clock.set_now(opened_at or deadline + timedelta(minutes=1))
    open_sealed(tender)
    experts = [
        auth_services.create_user(email=f"cx{n}-{i}@test.org", role="evaluator", password=PASSWORD)
        for i in range(4)
    ]
    members = form_committee(
        tender,
        [Appointment(e, "expert", i == 0) for i, e in enumerate(experts)]
        + [Appointment(world["officer"], "buyer_rep")],
        world["officer"],
    )
    for m in members:
        declare(m, {b.id: (False, "") for b in bids}, m.user)
    for b in bids:
        qualify(tender, b, True, "", world["officer"])
    for m in members:
        save_scores(
            m,
            {(b.id, c.id): (c.weight, "") for b in bids for c in tender.technical_criteria},
            m.user,
            submit=True,
        )
    db.session.flush()
    return tender, members, bids, bidders


def final_award(world, prices=("300000.00", "280000.00", "320000.00")):
    """A published tender, bids opened, evaluated, awarded and final. Returns (tender, award, org, member).

    The clock ends up just after the challenge window closed (the award is final)."""
    # Published Thu 20 Aug 2026; bids due Tue 15 Sep 2026 09:00 (a working day).
    clock.set_now(datetime(2026, 8, 20, 2, 0, tzinfo=UTC))
    deadline = start_of_local_day(date(2026, 9, 15)) + timedelta(hours=9)
    tender, members, bids, bidders = scored_tender(world, deadline, prices)
    ranking = conclude(tender, world["officer"])
    for m in members:
        sign_off(m, m.user)
    first = next(r for r in ranking if r.rank == 1)
    winner = next(b for b in bids if b.id == first.bid_id)
    award = confirm_award(tender, winner, "", world["officer"])
    clock.set_now(award.challenge_deadline + timedelta(minutes=1))
    assert finalize_if_due(tender)
    org, member = next((o, m) for o, m in bidders if o.id == winner.organization_id)
    db.session.flush()
    return tender, award, org, member


def contract_rows(
    world,
    *,
    status: str = ACTIVE,
    value: str = "280000.00",
    milestones: list[tuple[str, date, str]] | None = None,
    targets: list[tuple[str, str, str]] | None = None,
):
    """An awarded tender plus a contract inserted as rows. Returns (contract, org, member).

    ``milestones``: (deliverable, due date, amount); amounts must sum to ``value``.
    ``targets``: (name, unit, quantity)."""
    tender, award, org, member = final_award(world, prices=("330000.00", value, "340000.00"))
    today = clock.now().date()
    milestones = milestones or [
        ("启动与需求评估 Start-up", today + timedelta(days=30), str(Decimal(value) * Decimal("0.3"))),
        ("中期报告 Mid-term report", today + timedelta(days=180), str(Decimal(value) * Decimal("0.3"))),
        ("终期验收 Final acceptance", today + timedelta(days=360), str(Decimal(value) * Decimal("0.4"))),
    ]
    targets = targets or [
        ("服务老人 Older residents served", "人 persons", "200"),
        ("上门服务 Home visits", "次 visits", "1200"),
    ]
    now = clock.now()
    contract = Contract(
        reference=f"HT-TEST-{tender.id}",
        tender_id=tender.id,
        award_id=award.id,
        agency_id=tender.agency_id,
        organization_id=org.id,
        title=tender.title,
        status=status,
        original_value=Decimal(value),
        value=Decimal(value),
        term_start=today,
        term_end=today + timedelta(days=364),
        created_by_id=world["officer"].id,
        created_at=now,
        officer_signed_at=now if status != "draft" else None,
        officer_signed_by_id=world["officer"].id if status != "draft" else None,
        org_signed_at=now if status != "draft" else None,
        org_signed_by_id=member.id if status != "draft" else None,
        activated_at=now if status != "draft" else None,
    )
    for i, (name, unit, qty) in enumerate(targets):
        contract.targets.append(ContractTarget(position=i, name=name, unit=unit, quantity=Decimal(qty)))
    for i, (deliverable, due, amount) in enumerate(milestones):
        contract.milestones.append(
            Milestone(
                position=i,
                deliverable=deliverable,
                kind="delivery",
                due_date=due,
                amount=Decimal(amount),
                is_final=i == len(milestones) - 1,
            )
        )
    db.session.add(contract)
    db.session.flush()
    return contract, org, member
