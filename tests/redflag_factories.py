"""Scenes for the red-flag tests: processes inserted as rows (tenders, opened bids, qualification,
award, contract, delivery), so that each indicator's trigger and near miss are a few lines each.

The indicators read rows only (set-based SQL), so the verbs that made them are not needed here;
the demo and the Cardinal comparison go through the real verbs."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import count

from marketplace import clock
from marketplace.contracts.models import (
    Acceptance,
    Contract,
    Milestone,
    MilestoneDocument,
    MilestoneSubmission,
    Payment,
    ServiceRecord,
)
from marketplace.extensions import db
from marketplace.performance.models import Evaluation, IndicatorTemplate
from marketplace.tenders.bids.models import Bid, BidOpening
from marketplace.tenders.committee.models import Award, Qualification
from marketplace.tenders.models import AWARDED, Tender
from tests import bid_factories as bf

_n = count(1)


class Scene:
    """Builds processes for ``world``'s agency (or another) with their history, as rows."""

    def __init__(self, world):
        self.world = world
        self.officer = world["officer"]
        self.agency = world["agency"]

    def org(self, name: str | None = None, rep: str | None = None, phone: str | None = None):
        n = next(_n)
        org, _member = bf.organization(name or f"红旗测试机构{n}")
        org.legal_representative = rep or f"代表人{n}"
        org.phone = phone or f"010-8{n:07d}"
        db.session.flush()
        return org

    def tender(
        self,
        *,
        published: datetime | None = None,
        period_days: float = 30,
        method: str = "public_tender",
        category: str = "elderly_care",
        agency=None,
        ceiling: str = "500000.00",
        status: str = AWARDED,
    ) -> Tender:
        published = published or clock.now() - timedelta(days=90)
        t = Tender(
            title=f"红旗测试项目 {next(_n)}",
            description="测试",
            category=category,
            agency_id=(agency or self.agency).id,
            district_code="110101",
            method=method,
            evaluation_method="comprehensive_scoring",
            budget_ceiling=Decimal(ceiling),
            funding_sources=["county_budget"],
            contract_term_months=12,
            bid_deadline=published + timedelta(days=period_days),
            status=status,
            published_at=published,
            created_by_id=self.officer.id,
        )
        db.session.add(t)
        db.session.flush()
        return t

    def bids(self, tender: Tender, offers: list[tuple[object, str]], failed: bool = False) -> list[Bid]:
        """Submitted bids (organization, price) and the opening record at the deadline."""
        out = []
        for org, price in offers:
            b = Bid(
                tender_id=tender.id,
                organization_id=org.id,
                status="submitted",
                price=Decimal(price),
                submitted_at=tender.bid_deadline - timedelta(days=1),
                created_by_id=self.officer.id,
            )
            db.session.add(b)
            out.append(b)
        db.session.add(
            BidOpening(
                tender_id=tender.id,
                opened_at=tender.bid_deadline,
                bid_count=len(offers),
                failed=failed,
                record=[],
            )
        )
        db.session.flush()
        return out

    def qualify(self, bid: Bid, passed: bool = True) -> None:
        db.session.add(
            Qualification(
                bid_id=bid.id,
                tender_id=bid.tender_id,
                passed=passed,
                reason="" if passed else "资格不符",
                decided_at=clock.now() - timedelta(days=60),
                decided_by_id=self.officer.id,
            )
        )
        db.session.flush()

    def award(self, tender: Tender, bid: Bid, rank: int = 1, published: datetime | None = None) -> Award:
        at = published or tender.bid_deadline + timedelta(days=5)
        a = Award(
            tender_id=tender.id,
            bid_id=bid.id,
            rank=rank,
            reason="" if rank == 1 else "第一名放弃",
            status="final",
            confirmed_by_id=self.officer.id,
            published_at=at,
            notice_ends_at=at + timedelta(days=1),
            challenge_deadline=at + timedelta(days=8),
            final_at=at + timedelta(days=9),
        )
        db.session.add(a)
        db.session.flush()
        return a

    def process(
        self, prices=("450000.00", "460000.00", "470000.00"), orgs=None, winner: int = 0, **tender_kw
    ):
        """A tender, its bids opened and qualified, the award to ``winner``. Returns (tender, bids, award)."""
        t = self.tender(**tender_kw)
        orgs = orgs or [self.org() for _ in prices]
        bids = self.bids(t, list(zip(orgs, prices, strict=True)))
        for b in bids:
            self.qualify(b)
        return t, bids, self.award(t, bids[winner])

    def contract(
        self,
        tender: Tender,
        award: Award,
        *,
        value: str = "450000.00",
        original: str | None = None,
        signed_days_after_award: float | None = 10,
    ) -> Contract:
        bid = db.session.get(Bid, award.bid_id)
        signed = (
            award.published_at + timedelta(days=signed_days_after_award)
            if signed_days_after_award is not None
            else None
        )
        c = Contract(
            reference=f"HT-RF-{tender.id}",
            tender_id=tender.id,
            award_id=award.id,
            agency_id=tender.agency_id,
            organization_id=bid.organization_id,
            title=tender.title,
            status="active" if signed else "draft",
            original_value=Decimal(original or value),
            value=Decimal(value),
            term_start=date(2026, 1, 1),
            term_end=date(2026, 12, 31),
            created_by_id=self.officer.id,
            created_at=award.published_at + timedelta(days=1),
            officer_signed_at=signed,
            org_signed_at=signed,
            activated_at=signed,
        )
        db.session.add(c)
        db.session.flush()
        return c

    def milestone(
        self,
        contract: Contract,
        *,
        accepted_on: date | None = date(2026, 6, 30),
        amount="100000.00",
        document: bool = False,
    ) -> Milestone:
        m = Milestone(
            contract_id=contract.id,
            position=next(_n),
            deliverable="中期服务 Mid-term services",
            due_date=date(2026, 6, 30),
            amount=Decimal(amount),
            status="accepted" if accepted_on else "pending",
            met_on=accepted_on,
            accepted_at=datetime(2026, 6, 30, 2, 0, tzinfo=clock.now().tzinfo) if accepted_on else None,
            accepted_by_id=self.officer.id if accepted_on else None,
        )
        db.session.add(m)
        db.session.flush()
        if document:
            s = MilestoneSubmission(
                milestone_id=m.id, report="报告", submitted_at=clock.now(), submitted_by_id=self.officer.id
            )
            db.session.add(s)
            db.session.flush()
            db.session.add(
                MilestoneDocument(
                    submission_id=s.id,
                    filename="evidence.pdf",
                    content_type="application/pdf",
                    size=10,
                    sha256="0" * 64,
                    storage_key="rf-test",
                    uploaded_at=clock.now(),
                )
            )
            db.session.flush()
        return m

    def service_record(self, contract: Contract, on: date) -> None:
        db.session.add(
            ServiceRecord(
                contract_id=contract.id,
                service_date=on,
                activity_type="home_visit",
                quantity=Decimal("1"),
                recorded_at=clock.now(),
                recorded_by_id=self.officer.id,
            )
        )
        db.session.flush()

    def payment(
        self, contract: Contract, milestone: Milestone | None, paid_on: date, amount="100000.00"
    ) -> None:
        db.session.add(
            Payment(
                contract_id=contract.id,
                milestone_id=milestone.id if milestone else None,
                paid_on=paid_on,
                amount=Decimal(amount),
                reference=f"PAY-{next(_n)}",
                recorded_at=clock.now(),
                recorded_by_id=self.officer.id,
            )
        )
        db.session.flush()

    def acceptance(self, contract: Contract, result: str = "passed") -> None:
        db.session.add(
            Acceptance(
                contract_id=contract.id,
                result=result,
                summary="验收",
                accepted_at=clock.now() - timedelta(days=10),
                accepted_by_id=self.officer.id,
            )
        )
        db.session.flush()

    def ex_post(self, contract: Contract, grade: str) -> None:
        template = IndicatorTemplate(name=f"模板{next(_n)}", created_at=clock.now())
        db.session.add(template)
        db.session.flush()
        db.session.add(
            Evaluation(
                contract_id=contract.id,
                stage="ex_post",
                template_id=template.id,
                assessor_id=self.world["evaluator"].id,
                assigned_by_id=self.officer.id,
                assigned_at=clock.now() - timedelta(days=5),
                status="submitted",
                total=Decimal("50") if grade == "poor" else Decimal("85"),
                grade=grade,
                submitted_at=clock.now() - timedelta(days=1),
            )
        )
        db.session.flush()
