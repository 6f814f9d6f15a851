"""Red-flag cases for the demo (issue 22): archived processes of the past year, loaded as records (the
way a migration from the district's previous system brings them in), each showing one or more
indicators so that the auditors' red-flags page has something to show from ``make run``. Then the
flags are computed (docs/red-flags.md).

They are rows, not a replay of the verbs: their history before the platform is not on it. Their titles
say "历史项目" (archived process)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from marketplace.contracts.models import Acceptance, Contract, Milestone, Payment
from marketplace.extensions import db
from marketplace.performance import indicator_templates
from marketplace.performance.models import Evaluation
from marketplace.redflags import indicators
from marketplace.redflags.compute import compute
from marketplace.tenders.bids.models import Bid, BidOpening
from marketplace.tenders.committee.models import Award, Qualification
from marketplace.tenders.models import AWARDED, FAILED, Amendment, Tender


class _Cases:
    def __init__(self, officer, agency, real_now: datetime):
        self.officer, self.agency, self.now, self.n = officer, agency, real_now, 0

    def tender(
        self, title: str, days_ago: int, period: int = 30, ceiling="300000.00", status=AWARDED
    ) -> Tender:
        self.n += 1
        published = self.now - timedelta(days=days_ago)
        t = Tender(
            reference=f"{self.agency.district_code}-LS-{self.n:05d}",
            title=f"{title}（历史项目）",
            description="从区原采购系统迁移的历史项目记录。Archived process imported from the previous system.",
            category="elderly_care",
            agency_id=self.agency.id,
            district_code=self.agency.district_code,
            method="public_tender",
            evaluation_method="comprehensive_scoring",
            budget_ceiling=Decimal(ceiling),
            funding_sources=["county_budget"],
            contract_term_months=12,
            bid_deadline=published + timedelta(days=period),
            status=status,
            published_at=published,
            created_by_id=self.officer.id,
        )
        db.session.add(t)
        db.session.flush()
        return t

    def bids(self, t: Tender, offers, failed: bool = False, passed=None) -> list[Bid]:
        out = []
        for org, price in offers:
            b = Bid(
                tender_id=t.id,
                organization_id=org.id,
                status="submitted",
                price=Decimal(price),
                submitted_at=t.bid_deadline - timedelta(days=1),
                created_by_id=self.officer.id,
            )
            db.session.add(b)
            out.append(b)
        db.session.add(
            BidOpening(tender_id=t.id, opened_at=t.bid_deadline, bid_count=len(offers), failed=failed)
        )
        db.session.flush()
        if not failed:
            for i, b in enumerate(out):
                ok = True if passed is None else passed[i]
                db.session.add(
                    Qualification(
                        bid_id=b.id,
                        tender_id=t.id,
                        passed=ok,
                        reason="" if ok else "资格证明文件不全 Incomplete qualification documents",
                        decided_at=t.bid_deadline + timedelta(days=1),
                        decided_by_id=self.officer.id,
                    )
                )
        return out

    def award(self, t: Tender, bid: Bid, rank: int = 1) -> Award:
        at = t.bid_deadline + timedelta(days=5)
        a = Award(
            tender_id=t.id,
            bid_id=bid.id,
            rank=rank,
            reason="" if rank == 1 else "第一名放弃中标 The first-ranked bidder declined",
            status="final",
            confirmed_by_id=self.officer.id,
            published_at=at,
            notice_ends_at=at + timedelta(days=1),
            challenge_deadline=at + timedelta(days=10),
            final_at=at + timedelta(days=10),
        )
        db.session.add(a)
        db.session.flush()
        return a

    def contract(self, t: Tender, a: Award, bid: Bid, value: str, signed_after: int) -> Contract:
        signed = a.published_at + timedelta(days=signed_after)
        c = Contract(
            reference=f"HT-LS-{t.id:05d}",
            tender_id=t.id,
            award_id=a.id,
            agency_id=t.agency_id,
            organization_id=bid.organization_id,
            title=t.title,
            status="active",
            original_value=bid.price,
            value=Decimal(value),
            term_start=signed.date(),
            term_end=signed.date() + timedelta(days=364),
            created_by_id=self.officer.id,
            created_at=a.published_at + timedelta(days=1),
            officer_signed_at=signed,
            officer_signed_by_id=self.officer.id,
            org_signed_at=signed,
            activated_at=signed,
        )
        db.session.add(c)
        db.session.flush()
        return c


def load_red_flag_cases(users: dict, agency, bidders: list, experts: list, real_now: datetime) -> int:
    """Archived processes showing the indicators, then every indicator computed. Returns the flags."""
    officer = users["officer@example.org"]
    cases = _Cases(officer, agency, real_now)
    a, b, c, d = bidders[0], bidders[1], bidders[2], bidders[3]
    # The same three organizations, one winning and two losing together, five times over the year:
    # winner's share, bid rotation, bidders that never win.
    for k in range(5):
        t = cases.tender(f"社区助餐点运营服务 第{k + 1}期", days_ago=330 - 60 * k)
        bids = cases.bids(t, [(a, "268000.00"), (b, "281000.00"), (c, "289000.00")])
        cases.award(t, bids[0])
    # Two bidders reachable at the same phone number.
    e, f = bidders[5], bidders[6]
    f.phone = e.phone
    t = cases.tender("青少年社会工作服务", days_ago=250)
    bids = cases.bids(t, [(e, "200000.00"), (f, "205000.00"), (a, "210000.00")])
    cases.award(t, bids[2])
    # A single bid: the opening found one.
    t = cases.tender("老年人能力评估服务", days_ago=200, status=FAILED)
    cases.bids(t, [(d, "150000.00")], failed=True)
    # The legal minimum period, an amendment two days before the deadline, and a price at the ceiling.
    t = cases.tender("居家养老巡访服务", days_ago=150, period=20)
    db.session.add(
        Amendment(
            tender_id=t.id,
            number=1,
            reason="补充服务对象名单 Beneficiary list added",
            changes={"description": "updated"},
            previous_deadline=t.bid_deadline,
            new_deadline=t.bid_deadline,
            created_at=t.bid_deadline - timedelta(days=2),
            created_by_id=officer.id,
            substantive=False,
        )
    )
    bids = cases.bids(t, [(a, "299000.00"), (b, "299500.00"), (c, "299800.00")])
    cases.award(t, bids[0])
    # Everyone but the winner disqualified; then the award to the second-ranked bid; the contract
    # signed late, raised close to the cap, a milestone accepted with nothing to show and paid before.
    t = cases.tender("失能老人照护服务", days_ago=120)
    bids = cases.bids(t, [(d, "250000.00"), (c, "240000.00"), (b, "255000.00")], passed=[True, False, False])
    award = cases.award(t, bids[0], rank=2)
    contract = cases.contract(t, award, bids[0], value="272500.00", signed_after=45)
    milestone = Milestone(
        contract_id=contract.id,
        position=0,
        deliverable="首期服务 First quarter of services",
        due_date=contract.term_start + timedelta(days=60),
        amount=Decimal("80000.00"),
        status="accepted",
        met_on=contract.term_start + timedelta(days=60),
        accepted_at=contract.activated_at + timedelta(days=60),
        accepted_by_id=officer.id,
    )
    db.session.add(milestone)
    db.session.flush()
    db.session.add(
        Payment(
            contract_id=contract.id,
            milestone_id=milestone.id,
            paid_on=contract.term_start + timedelta(days=30),
            amount=Decimal("80000.00"),
            reference="GK-LS-0001",
            recorded_at=contract.activated_at + timedelta(days=30),
            recorded_by_id=officer.id,
        )
    )
    # Accepted as passed, graded poor afterwards.
    t = cases.tender("社区日间照料中心运营", days_ago=400)
    bids = cases.bids(t, [(c, "260000.00"), (d, "270000.00"), (b, "275000.00")])
    award = cases.award(t, bids[0])
    contract = cases.contract(t, award, bids[0], value="260000.00", signed_after=10)
    contract.status = "completed"
    contract.completed_at = real_now - timedelta(days=20)
    db.session.add(
        Acceptance(
            contract_id=contract.id,
            result="passed",
            summary="服务按合同完成 Services delivered as contracted",
            accepted_at=real_now - timedelta(days=20),
            accepted_by_id=officer.id,
        )
    )
    db.session.add(
        Evaluation(
            contract_id=contract.id,
            stage="ex_post",
            template_id=indicator_templates.default_template().id,
            assessor_id=experts[2].id,
            assigned_by_id=officer.id,
            assigned_at=real_now - timedelta(days=15),
            status="submitted",
            declared_at=real_now - timedelta(days=14),
            total=Decimal("55.00"),
            grade="poor",
            submitted_at=real_now - timedelta(days=5),
        )
    )
    db.session.flush()
    flags = 0
    for code in indicators.CODES:
        flags += compute(code, real_now, full=True)["changed"]
    return flags
