"""What the signed contracts are worth and what has been paid on them, per service category, district
and year of signature. Sums and counts are done by the database (GROUP BY); money comes back as
two-place ``Decimal``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, and_, case, func, select

from marketplace.contracts.models import Contract, Payment
from marketplace.core.districts import District
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.tenders.models import Tender
from marketplace.transparency.filters import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_YEARS,
    PUBLIC_CONTRACT_STATUSES,
    Filters,
    public_contracts,
    signed_at,
    year_bounds,
)

ZERO = Decimal("0.00")


def money(value) -> Decimal:
    """A SUM from the database (Decimal, or float/int on SQLite) as a two-place Decimal."""
    if value is None:
        return ZERO
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def percent(part, whole) -> int:
    if not whole:
        return 0
    return int((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


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
        return percent(self.paid, self.value)


@dataclass(frozen=True)
class SpendTotals:
    contracts: int
    value: Decimal
    paid: Decimal

    @property
    def percent_paid(self) -> int:
        return percent(self.paid, self.value)


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
        .where(*public_contracts(filters))
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
    return [SpendRow(str(k), int(n), money(v), money(p)) for k, n, v, p in rows]


def spending_by_district(filters: Filters) -> list[SpendRow]:
    """Value and amount paid of signed contracts per tender district, largest first."""
    rows = _spend(_per_contract(filters, Tender.district_code.label("district")), "district")
    names = {
        d.code: d for d in db.session.scalars(select(District).where(District.code.in_([r[0] for r in rows])))
    }
    out = []
    for code, n, v, p in rows:
        d = names.get(code)
        out.append(SpendRow(code, int(n), money(v), money(p), d.name if d else code, d.name_en if d else ""))
    return out


def contract_years() -> list[int]:
    """The local years in which public contracts were signed, oldest first (at most ``MAX_YEARS``)."""
    first, last = db.session.execute(
        select(func.min(signed_at), func.max(signed_at)).where(Contract.status.in_(PUBLIC_CONTRACT_STATUSES))
    ).one()
    if first is None or last is None:
        return []
    start = max(local_date(first).year, FIRST_YEAR)
    end = min(local_date(last).year, LAST_YEAR)
    return list(range(max(start, end - MAX_YEARS + 1), end + 1))


def _year_of(column, years: list[int]):
    """A CASE giving the local year of ``column`` for each of ``years`` (UTC boundaries)."""
    return case(
        *[(and_(column >= year_bounds(y)[0], column < year_bounds(y)[1]), y) for y in years],
        else_=None,
    )


def spending_by_year(filters: Filters, years: list[int] | None = None) -> list[SpendRow]:
    """Value and amount paid of signed contracts per local year of signature, oldest first."""
    years = contract_years() if years is None else years
    if filters.year is not None:
        years = [y for y in years if y == filters.year]
    if not years:
        return []
    per_contract = _per_contract(filters, _year_of(signed_at, years).label("year"))
    sub = per_contract.subquery("per_contract")
    rows = db.session.execute(
        select(sub.c.year, func.count(), func.sum(sub.c.value), func.sum(sub.c.paid))
        .where(sub.c.year.is_not(None))
        .group_by(sub.c.year)
        .order_by(sub.c.year)
    ).all()
    return [SpendRow(str(int(y)), int(n), money(v), money(p)) for y, n, v, p in rows]


def totals(rows: list[SpendRow]) -> SpendTotals:
    return SpendTotals(
        sum(r.contracts for r in rows),
        sum((r.value for r in rows), ZERO),
        sum((r.paid for r in rows), ZERO),
    )
