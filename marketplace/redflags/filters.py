"""The red-flags page's filter: district, agency, category, indicator, year and review state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.auth.models import Agency
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.districts import District, counties
from marketplace.core.timeutil import start_of_local_day
from marketplace.extensions import db
from marketplace.redflags import indicators
from marketplace.redflags.models import RedFlag
from marketplace.tenders.models import Tender

STATES = ("active", "unreviewed", "reviewed", "cleared", "all")
YEAR_RANGE = (2000, 2100)


@dataclass(frozen=True)
class FlagFilter:
    district: str | None = None
    agency_id: int | None = None
    category: str | None = None
    indicator: str | None = None
    year: int | None = None
    state: str = "active"

    def query_args(self) -> dict:
        names = {"agency_id": "agency"}
        out = {names.get(k, k): v for k, v in asdict(self).items() if v}
        if out.get("state") == "active":
            del out["state"]
        return out


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def parse(args: Mapping) -> tuple[FlagFilter, list[str]]:
    """The filter in ``args`` and a message for each value left out because it is wrong."""
    errors, data = [], {}
    district = (args.get("district") or "").strip()
    if district:
        if len(district) > 12 or db.session.get(District, district) is None:
            errors.append(_("Unknown district code %(code)s.", code=district[:12]))
        else:
            data["district"] = district
    agency = (args.get("agency") or "").strip()
    if agency:
        agency_id = _int(agency)
        if agency_id is None or not 0 < agency_id < 2**31 or db.session.get(Agency, agency_id) is None:
            errors.append(_("Unknown agency."))
        else:
            data["agency_id"] = agency_id
    category = (args.get("category") or "").strip()
    if category:
        if category not in SERVICE_CATEGORIES:
            errors.append(_("Unknown category."))
        else:
            data["category"] = category
    indicator = (args.get("indicator") or "").strip()
    if indicator:
        if indicator not in indicators.INDICATORS:
            errors.append(_("Unknown indicator."))
        else:
            data["indicator"] = indicator
    year = (args.get("year") or "").strip()
    if year:
        value = _int(year)
        if value is None or not YEAR_RANGE[0] <= value <= YEAR_RANGE[1]:
            errors.append(
                _(
                    "The year must be a number between %(low)d and %(high)d.",
                    low=YEAR_RANGE[0],
                    high=YEAR_RANGE[1],
                )
            )
        else:
            data["year"] = value
    state = (args.get("state") or "active").strip()
    if state not in STATES:
        errors.append(_("Unknown review state."))
    else:
        data["state"] = state
    return FlagFilter(**data), errors


def conditions(f: FlagFilter) -> list:
    """WHERE conditions on ``RedFlag`` joined with its ``Tender``."""
    out = []
    if f.district:
        out.append(Tender.district_code == f.district)
    if f.agency_id:
        out.append(Tender.agency_id == f.agency_id)
    if f.category:
        out.append(Tender.category == f.category)
    if f.indicator:
        out.append(RedFlag.indicator == f.indicator)
    if f.year:
        out.append(Tender.published_at >= start_of_local_day(date(f.year, 1, 1)))
        out.append(Tender.published_at < start_of_local_day(date(f.year + 1, 1, 1)))
    if f.state == "active":
        out.append(RedFlag.cleared_at.is_(None))
    elif f.state == "unreviewed":
        out += [RedFlag.cleared_at.is_(None), RedFlag.reviewed_at.is_(None)]
    elif f.state == "reviewed":
        out.append(RedFlag.reviewed_at.is_not(None))
    elif f.state == "cleared":
        out.append(RedFlag.cleared_at.is_not(None))
    return out


def choices(see_all: bool, agency_id: int | None) -> dict:
    agencies = select(Agency).order_by(Agency.name)
    if not see_all:
        agencies = agencies.where(Agency.id == agency_id)
    return {
        "districts": counties(),
        "agencies": db.session.scalars(agencies).all(),
        "categories": SERVICE_CATEGORIES,
        "indicators": indicators.INDICATORS,
        "states": STATES,
    }
