"""Demo contracts: one per final award, signed by both parties, with service records logged every few
days since, the first milestone accepted and paid, one milestone overdue and one due within a week."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from marketplace import clock
from marketplace.auth.models import User
from marketplace.contracts import drafting, signing
from marketplace.contracts.delivery import milestones, payments, records
from marketplace.contracts.models import Contract
from marketplace.contracts.terms import add_months
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.extensions import db
from marketplace.tenders.committee import awards
from marketplace.tenders.models import Tender

MILESTONES = [
    "项目启动与需求评估 Start-up and needs assessment",
    "第一季度服务与报告 First-quarter services and report",
    "中期评估报告 Mid-term report",
    "终期验收 Final acceptance",
]
# Shares of the contract value of the first three milestones; the final one gets the rest.
SHARES = [Decimal("0.2"), Decimal("0.3"), Decimal("0.2")]

# (activity, target index, quantity base, note): target 0 counts residents taken on, target 1 visits.
ACTIVITIES = [
    ("home_visit", 1, 6, "上门探访、助洁 Home visit and cleaning help"),
    ("day_care", 1, 9, "日间照料、助餐 Day care and meals"),
    ("assessment", 0, 1, "新服务对象入户评估 New residents assessed at home"),
]


def _contract_input(tender: Tender, value: Decimal, start: date, today: date, n: int):
    """The n-th demo contract: twelve months from ``start``; one milestone overdue, one due soon."""
    end = add_months(start, 12) - timedelta(days=1)
    amounts = [(value * s).quantize(Decimal("0.01")) for s in SHARES]
    amounts.append(value - sum(amounts))
    overdue = today - timedelta(days=2 + n)
    dues = [start + (overdue - start) / 2, overdue, today + timedelta(days=5 + n), end]
    return {
        "title": tender.title,
        "term_start": start,
        "term_end": end,
        "scope": tender.description,
        "targets": [
            {"name": "服务对象 Residents served", "unit": "人 persons", "quantity": Decimal("200")},
            {"name": "服务人次 Service visits", "unit": "人次 visits", "quantity": Decimal("1200")},
        ],
        "milestones": [
            {
                "deliverable": name,
                "due_date": due,
                "amount": amount,
                "kind": "report" if i in (1, 2) else "delivery",
                "is_final": i == 3,
            }
            for i, (name, due, amount) in enumerate(zip(MILESTONES, dues, amounts, strict=True))
        ],
    }


def _log_day(contract: Contract, day: date, communities, member: User) -> None:
    """The records of one day: each activity every third day (staggered), logged that evening."""
    targets = contract.targets
    for k, (activity, target, base, note) in enumerate(ACTIVITIES):
        if (day.toordinal() + k) % 3:
            continue
        clock.set_now(start_of_local_day(day) + timedelta(hours=18))
        records.log_service_record(
            contract,
            {
                "service_date": day,
                "activity_type": activity,
                "target_id": targets[target].id,
                "quantity": Decimal(base + (day.day + k) % 5),
                "beneficiaries": 4 + (day.day % 7),
                "hours": Decimal("2.5") + k,
                "community_code": communities[day.day % len(communities)].code if communities else None,
                "notes": note,
            },
            [],
            member,
        )


def _pay_first_milestone(contract: Contract, officer: User, member: User) -> None:
    """Submitted on its due date, accepted the next day, paid three days later."""
    first = contract.milestones[0]
    clock.set_now(start_of_local_day(first.due_date) + timedelta(hours=10))
    milestones.submit_milestone(
        first, "已完成入户需求评估与服务计划。 Needs assessed at home; service plan agreed.", [], member
    )
    clock.set_now(clock.now() + timedelta(days=1))
    milestones.accept_milestone(first, officer)
    clock.set_now(clock.now() + timedelta(days=3))
    payments.record_payment(
        contract, local_date(clock.now()), first.amount, f"GK-{contract.tender_id:04d}-01", first, officer
    )


def _contract_for(tender: Tender, n: int, today: date) -> None:
    award = awards.current_award(tender)
    officer = tender.created_by
    org = award.bid.organization
    member = db.session.scalar(select(User).where(User.organization_id == org.id).order_by(User.id))
    clock.set_now(award.final_at + timedelta(days=1))
    start = local_date(clock.now())
    contract = drafting.draft_contract(
        tender, _contract_input(tender, award.bid.price, start, today, n), officer
    )
    signing.sign(contract, officer)
    clock.set_now(clock.now() + timedelta(hours=4))
    signing.sign(contract, member)
    communities = records.communities_for(contract)
    day = start
    while day < today:
        _log_day(contract, day, communities, member)
        day += timedelta(days=1)
    _pay_first_milestone(contract, officer, member)


def load_contracts(final_tenders: list[Tender], real_now: datetime) -> int:
    """Draft, sign and deliver a contract for each final award; returns how many."""
    today = local_date(real_now)
    for n, tender in enumerate(final_tenders):
        _contract_for(tender, n, today)
    return len(final_tenders)
