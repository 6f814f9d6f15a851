"""Read-only queries for the public transparency pages. Nothing here changes a row.

Only what is already public elsewhere is read: signed contracts (active, completed, terminated;
never drafts), published award notices, published acceptance results, and the opening records of
tenders whose bids were opened. Sealed bids: bidders are counted from ``BidOpening`` (made at the
opening), never from ``Bid`` rows, so a tender still accepting bids contributes nothing; the only
``Bid`` read is an award's winning bid, whose tender's opening record must exist.

Sums and counts are done by the database (GROUP BY); money comes back as two-place ``Decimal``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import joinedload

from marketplace.contracts.models import (
    ACTIVE,
    COMPLETED,
    TERMINATED,
    Acceptance,
    Contract,
    ContractDocument,
    Milestone,
    Payment,
)
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.districts import District
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.extensions import db
from marketplace.tenders.bids.models import Bid, BidOpening
from marketplace.tenders.committee.models import Award
from marketplace.tenders.models import PUBLIC_STATUSES, Tender

PUBLIC_CONTRACT_STATUSES = (ACTIVE, COMPLETED, TERMINATED)
ZERO = Decimal("0.00")
# Years offered by the filter and grouped by the year chart: a bounded range, whatever the data.
FIRST_YEAR = 2000
LAST_YEAR = 2100
MAX_YEARS = 50

# How a milestone whose due date has passed turned out.
ON_TIME = "on_time"
LATE = "late"
OVERDUE = "overdue"
OUTCOMES = (ON_TIME, LATE, OVERDUE)


def _money(value) -> Decimal:
    """A SUM from the database (Decimal, or float/int on SQLite) as a two-place Decimal."""
    if value is None:
        return ZERO
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _percent(part, whole) -> int:
    if not whole:
        return 0
    return int((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    """The UTC instants at which the local calendar year starts and the next one starts."""
    return start_of_local_day(date(year, 1, 1)), start_of_local_day(date(year + 1, 1, 1))


# --- filters -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the visitor narrowed the pages to. Unknown values are dropped, never an error."""

    category: str = ""
    district: str = ""  # a district code: a county includes its streets
    year: int | None = None

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> Filters:
        category = (args.get("category") or "").strip()
        if category not in SERVICE_CATEGORIES:
            category = ""
        district = (args.get("district") or "").strip()
        # Codes are digits (GB/T 2260); anything else is not looked up (PostgreSQL refuses NUL bytes).
        if not re.fullmatch(r"[0-9]{6,12}", district) or db.session.get(District, district) is None:
            district = ""
        try:
            year = int((args.get("year") or "").strip())
        except ValueError:
            year = None
        if year is not None and not FIRST_YEAR <= year <= LAST_YEAR:
            year = None
        return cls(category=category, district=district, year=year)

    @property
    def active(self) -> bool:
        return bool(self.category or self.district or self.year)

    def as_args(self) -> dict[str, str]:
        """The filters as query arguments (for pagination links)."""
        out = {"category": self.category, "district": self.district, "year": str(self.year or "")}
        return {k: v for k, v in out.items() if v}

    def tender_conditions(self) -> list:
        """Category and district, on ``Tender`` (year means something different on every page)."""
        out = []
        if self.category:
            out.append(Tender.category == self.category)
        if self.district:
            streets = select(District.code).where(District.parent_code == self.district)
            out.append(or_(Tender.district_code == self.district, Tender.district_code.in_(streets)))
        return out

    def in_year(self, column) -> list:
        """``column`` (a UTC datetime) falls in the chosen local year."""
        if self.year is None:
            return []
        start, end = _year_bounds(self.year)
        return [column >= start, column < end]


# When a contract was signed: both signatures (activation); older rows fall back to what they have.
_signed_at = func.coalesce(Contract.activated_at, Contract.org_signed_at, Contract.created_at)


def _public_contracts(filters: Filters) -> list:
    return [
        Contract.status.in_(PUBLIC_CONTRACT_STATUSES),
        *filters.tender_conditions(),
        *filters.in_year(_signed_at),
    ]


# --- spending ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendRow:
    key: str  # category code, district code or year
    contracts: int
    value: Decimal
    paid: Decimal
    name: str = ""  # the district's name (Chinese)
    name_en: str = ""

    @property
    def percent_paid(self) -> int:
        return _percent(self.paid, self.value)


@dataclass(frozen=True)
class SpendTotals:
    contracts: int
    value: Decimal
    paid: Decimal

    @property
    def percent_paid(self) -> int:
        return _percent(self.paid, self.value)


def _paid_per_contract():
    return (
        select(Payment.contract_id, func.sum(Payment.amount).label("paid"))
        .group_by(Payment.contract_id)
        .subquery("paid_per_contract")
    )


def _per_contract(filters: Filters, *columns) -> Select:
    """One row per public contract: ``columns`` plus its value and amount paid (a subquery to group)."""
    paid = _paid_per_contract()
    return (
        select(
            *columns,
            Contract.value.label("value"),
            func.coalesce(paid.c.paid, 0).label("paid"),
        )
        .select_from(Contract)
        .join(Tender, Tender.id == Contract.tender_id)
        .outerjoin(paid, paid.c.contract_id == Contract.id)
        .where(*_public_contracts(filters))
    )


def _spend(per_contract, key_name: str) -> list[tuple]:
    sub = per_contract.subquery("per_contract")
    key = sub.c[key_name]
    return db.session.execute(
        select(key, func.count(), func.sum(sub.c.value), func.sum(sub.c.paid))
        .group_by(key)
        .order_by(func.sum(sub.c.value).desc(), key)
    ).all()


def spending_by_category(filters: Filters) -> list[SpendRow]:
    """Value and amount paid of signed contracts per service category, largest first."""
    rows = _spend(_per_contract(filters, Tender.category.label("category")), "category")
    return [SpendRow(str(k), int(n), _money(v), _money(p)) for k, n, v, p in rows]


def spending_by_district(filters: Filters) -> list[SpendRow]:
    """Value and amount paid of signed contracts per tender district, largest first."""
    rows = _spend(_per_contract(filters, Tender.district_code.label("district")), "district")
    names = {
        d.code: d for d in db.session.scalars(select(District).where(District.code.in_([r[0] for r in rows])))
    }
    out = []
    for code, n, v, p in rows:
        d = names.get(code)
        out.append(
            SpendRow(code, int(n), _money(v), _money(p), d.name if d else code, d.name_en if d else "")
        )
    return out


def contract_years() -> list[int]:
    """The local years in which public contracts were signed, oldest first (at most ``MAX_YEARS``)."""
    first, last = db.session.execute(
        select(func.min(_signed_at), func.max(_signed_at)).where(
            Contract.status.in_(PUBLIC_CONTRACT_STATUSES)
        )
    ).one()
    if first is None or last is None:
        return []
    start = max(local_date(first).year, FIRST_YEAR)
    end = min(local_date(last).year, LAST_YEAR)
    return list(range(max(start, end - MAX_YEARS + 1), end + 1))


def _year_of(column, years: list[int]):
    """A CASE giving the local year of ``column`` for each of ``years`` (UTC boundaries)."""
    return case(
        *[(and_(column >= _year_bounds(y)[0], column < _year_bounds(y)[1]), y) for y in years],
        else_=None,
    )


def spending_by_year(filters: Filters, years: list[int] | None = None) -> list[SpendRow]:
    """Value and amount paid of signed contracts per local year of signature, oldest first."""
    years = contract_years() if years is None else years
    if filters.year is not None:
        years = [y for y in years if y == filters.year]
    if not years:
        return []
    per_contract = _per_contract(filters, _year_of(_signed_at, years).label("year"))
    sub = per_contract.subquery("per_contract")
    rows = db.session.execute(
        select(sub.c.year, func.count(), func.sum(sub.c.value), func.sum(sub.c.paid))
        .where(sub.c.year.is_not(None))
        .group_by(sub.c.year)
        .order_by(sub.c.year)
    ).all()
    return [SpendRow(str(int(y)), int(n), _money(v), _money(p)) for y, n, v, p in rows]


def totals(rows: list[SpendRow]) -> SpendTotals:
    return SpendTotals(
        sum(r.contracts for r in rows),
        sum((r.value for r in rows), ZERO),
        sum((r.paid for r in rows), ZERO),
    )


# --- bidders per tender ------------------------------------------------------------------------------


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
        return _percent(self.on_time, self.total)

    @property
    def late_percent(self) -> int:
        return _percent(self.late, self.total)

    @property
    def overdue_percent(self) -> int:
        return _percent(self.overdue, self.total)


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


# --- counts for the overview -------------------------------------------------------------------------


def award_count(filters: Filters) -> int:
    return db.session.scalar(_awards(filters).with_only_columns(func.count(Award.id)))


def acceptance_count(filters: Filters) -> int:
    return db.session.scalar(_acceptances(filters).with_only_columns(func.count(Acceptance.id)))


# --- the lists ---------------------------------------------------------------------------------------


def _awards(filters: Filters) -> Select:
    """Published award notices. Every award follows an opening; the join on the opening record keeps
    it so even if a row were wrong. The year is the notice's."""
    return (
        select(Award)
        .join(Tender, Tender.id == Award.tender_id)
        .join(BidOpening, BidOpening.tender_id == Award.tender_id)
        .where(
            Tender.status.in_(PUBLIC_STATUSES),
            *filters.tender_conditions(),
            *filters.in_year(Award.published_at),
        )
    )


def awards_query(filters: Filters) -> Select:
    """Published award notices, newest first, with their tender, agency and winner."""
    return (
        _awards(filters)
        .options(
            joinedload(Award.tender).joinedload(Tender.agency),
            joinedload(Award.bid).joinedload(Bid.organization),
        )
        .order_by(Award.published_at.desc(), Award.id.desc())
    )


def contracts_query(filters: Filters) -> Select:
    """Signed contracts (never drafts), most recently signed first. The year is the signature's."""
    return (
        select(Contract)
        .join(Tender, Tender.id == Contract.tender_id)
        .where(*_public_contracts(filters))
        .options(
            joinedload(Contract.agency),
            joinedload(Contract.organization),
            joinedload(Contract.tender),
        )
        .order_by(_signed_at.desc(), Contract.id.desc())
    )


def public_document_counts(contract_ids: list[int]) -> dict[int, int]:
    """How many documents of each contract are marked public."""
    if not contract_ids:
        return {}
    return dict(
        db.session.execute(
            select(ContractDocument.contract_id, func.count())
            .where(ContractDocument.contract_id.in_(contract_ids), ContractDocument.public.is_(True))
            .group_by(ContractDocument.contract_id)
        ).all()
    )


def _acceptances(filters: Filters) -> Select:
    """Published acceptance results of signed contracts. The year is the publication's."""
    return (
        select(Acceptance)
        .join(Contract, Contract.id == Acceptance.contract_id)
        .join(Tender, Tender.id == Contract.tender_id)
        .where(
            Acceptance.published_at.is_not(None),
            Contract.status.in_(PUBLIC_CONTRACT_STATUSES),
            *filters.tender_conditions(),
            *filters.in_year(Acceptance.published_at),
        )
    )


def acceptances_query(filters: Filters) -> Select:
    """Published acceptance results, newest first."""
    return _acceptances(filters).order_by(Acceptance.published_at.desc(), Acceptance.id.desc())


def contracts_by_id(contract_ids: list[int]) -> dict[int, Contract]:
    if not contract_ids:
        return {}
    return {
        c.id: c
        for c in db.session.scalars(
            select(Contract)
            .where(Contract.id.in_(contract_ids))
            .options(
                joinedload(Contract.agency), joinedload(Contract.organization), joinedload(Contract.tender)
            )
        )
    }
