"""How the procedures turned out: bidders per opened tender, and milestones met on time, late or not.

Sealed bids: bidders are counted from ``BidOpening`` (made at the opening), never from ``Bid`` rows,
so a tender still accepting bids contributes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, func, or_, select

from marketplace.contracts.models import TERMINATED, Contract, Milestone
from marketplace.extensions import db
from marketplace.tenders.bids.models import BidOpening
from marketplace.tenders.models import PUBLIC_STATUSES, Tender
from marketplace.transparency.filters import PUBLIC_CONTRACT_STATUSES, Filters
from marketplace.transparency.spending import percent

# How a milestone whose due date has passed turned out.
ON_TIME = "on_time"
LATE = "late"
OVERDUE = "overdue"
OUTCOMES = (ON_TIME, LATE, OVERDUE)


@dataclass(frozen=True)
class BidderCount:
    bidders: int
    tenders: int


@dataclass(frozen=True)
class BidderDistribution:
    rows: list[BidderCount]  # every count from the smallest to the largest seen (zeros included)

    @property
    def tenders(self) -> int:
        return sum(r.tenders for r in self.rows)

    @property
    def bids(self) -> int:
        return sum(r.bidders * r.tenders for r in self.rows)

    @property
    def average(self) -> Decimal:
        if not self.tenders:
            return Decimal("0.0")
        return (Decimal(self.bids) / self.tenders).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def bidders_per_tender(filters: Filters) -> BidderDistribution:
    """How many tenders had how many bids at the opening. Only opened tenders count: the opening
    record is made at the deadline, so nothing is read while bids are sealed."""
    rows = dict(
        db.session.execute(
            select(BidOpening.bid_count, func.count())
            .join(Tender, Tender.id == BidOpening.tender_id)
            .where(
                Tender.status.in_(PUBLIC_STATUSES),
                *filters.tender_conditions(),
                *filters.in_year(BidOpening.opened_at),
            )
            .group_by(BidOpening.bid_count)
        ).all()
    )
    if not rows:
        return BidderDistribution([])
    return BidderDistribution([BidderCount(n, int(rows.get(n, 0))) for n in range(min(rows), max(rows) + 1)])


# --- milestones met on time --------------------------------------------------------------------------


@dataclass(frozen=True)
class MilestoneShare:
    key: str  # a category code, or "" for all
    on_time: int
    late: int
    overdue: int

    @property
    def total(self) -> int:
        return self.on_time + self.late + self.overdue

    @property
    def on_time_percent(self) -> int:
        return percent(self.on_time, self.total)

    @property
    def late_percent(self) -> int:
        return percent(self.late, self.total)

    @property
    def overdue_percent(self) -> int:
        return percent(self.overdue, self.total)


def milestone_shares(filters: Filters, today: date) -> tuple[MilestoneShare, list[MilestoneShare]]:
    """Milestones of signed contracts whose due date has passed (before ``today``): accepted on or
    before the due date, accepted late, or still not met. Overall and per category (largest first).

    The year is the due date's. Unmet milestones of a terminated contract are left out: the
    termination ended them, they are not overdue."""
    outcome = case(
        (and_(Milestone.status == "accepted", Milestone.met_on <= Milestone.due_date), ON_TIME),
        (Milestone.status == "accepted", LATE),
        else_=OVERDUE,
    )
    conditions = [
        Contract.status.in_(PUBLIC_CONTRACT_STATUSES),
        Milestone.due_date < today,
        or_(Milestone.status == "accepted", Contract.status != TERMINATED),
        *filters.tender_conditions(),
    ]
    if filters.year is not None:
        conditions += [
            Milestone.due_date >= date(filters.year, 1, 1),
            Milestone.due_date < date(filters.year + 1, 1, 1),
        ]
    per_milestone = (
        select(Tender.category.label("category"), outcome.label("outcome"))
        .select_from(Milestone)
        .join(Contract, Contract.id == Milestone.contract_id)
        .join(Tender, Tender.id == Contract.tender_id)
        .where(*conditions)
        .subquery("per_milestone")
    )
    rows = db.session.execute(
        select(per_milestone.c.category, per_milestone.c.outcome, func.count()).group_by(
            per_milestone.c.category, per_milestone.c.outcome
        )
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for category, result, n in rows:
        counts.setdefault(category, dict.fromkeys(OUTCOMES, 0))[result] = int(n)
    per_category = sorted(
        (MilestoneShare(c, v[ON_TIME], v[LATE], v[OVERDUE]) for c, v in counts.items()),
        key=lambda s: (-s.total, s.key),
    )
    overall = MilestoneShare(
        "",
        sum(s.on_time for s in per_category),
        sum(s.late for s in per_category),
        sum(s.overdue for s in per_category),
    )
    return overall, per_category
