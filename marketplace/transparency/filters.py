"""What a visitor narrows the public transparency pages to, and which contracts are public at all.

Only what is already public elsewhere is read by these pages: signed contracts (active, completed,
terminated; never drafts), published award notices, published acceptance results, and the opening
records of tenders whose bids were opened. Nothing in this package changes a row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select

from marketplace.contracts.models import ACTIVE, COMPLETED, TERMINATED, Contract
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.districts import District
from marketplace.core.timeutil import start_of_local_day
from marketplace.extensions import db
from marketplace.tenders.models import Tender

PUBLIC_CONTRACT_STATUSES = (ACTIVE, COMPLETED, TERMINATED)
# Years offered by the filter and grouped by the year chart: a bounded range, whatever the data.
FIRST_YEAR = 2000
LAST_YEAR = 2100
MAX_YEARS = 50


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The UTC instants at which the local calendar year starts and the next one starts."""
    return start_of_local_day(date(year, 1, 1)), start_of_local_day(date(year + 1, 1, 1))


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
        start, end = year_bounds(self.year)
        return [column >= start, column < end]


# When a contract was signed: both signatures (activation); older rows fall back to what they have.
signed_at = func.coalesce(Contract.activated_at, Contract.org_signed_at, Contract.created_at)


def public_contracts(filters: Filters) -> list:
    return [
        Contract.status.in_(PUBLIC_CONTRACT_STATUSES),
        *filters.tender_conditions(),
        *filters.in_year(signed_at),
    ]
