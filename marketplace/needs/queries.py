"""Reading needs: a grid worker's, an officer's area grouped for dispatch, and the public figures."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, joinedload

from marketplace.contracts.models import Contract, ServiceRecord
from marketplace.core.districts import District
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.needs.models import (
    DECLINED,
    DISPATCHED,
    MERGED,
    MET,
    OPEN,
    REJECTED,
    SCREENING,
    URGENCY_RANK,
    Grid,
    Need,
    grid_workers,
)

PAGE_SIZE = 50


def grids_of(user) -> list[Grid]:
    return list(
        db.session.scalars(
            select(Grid).join(grid_workers).where(grid_workers.c.user_id == user.id).order_by(Grid.code)
        )
    )


def all_grids() -> list[Grid]:
    return list(db.session.scalars(select(Grid).options(joinedload(Grid.community)).order_by(Grid.code)))


def grid_label(grid: Grid) -> str:
    street = grid.community.parent
    return " · ".join(x for x in (street.name if street else "", grid.community.name, grid.name) if x)


def needs_in_grids(grid_ids: list[int], statuses: tuple[str, ...]) -> list[Need]:
    if not grid_ids:
        return []
    return list(
        db.session.scalars(
            select(Need)
            .where(Need.grid_id.in_(grid_ids), Need.status.in_(statuses))
            .order_by(Need.created_at.desc(), Need.id.desc())
            .limit(500)
        )
    )


def _area_filter(stmt, district_code: str):
    """Needs whose grid's community, street or county is ``district_code``."""
    community, street = aliased(District), aliased(District)
    return (
        stmt.join(Grid, Grid.id == Need.grid_id)
        .join(community, community.code == Grid.community_code)
        .outerjoin(street, street.code == community.parent_code)
        .where(
            or_(
                community.code == district_code,
                street.code == district_code,
                street.parent_code == district_code,
            )
        )
    )


@dataclass
class Group:
    """Open needs of one street and category, for the dispatch table."""

    street: District | None
    category: str
    needs: list[Need] = field(default_factory=list)

    @property
    def people(self) -> int:
        return sum(n.people for n in self.needs)

    @property
    def households(self) -> int:
        return sum(n.households for n in self.needs)

    @property
    def urgency(self) -> str:
        return max((n.urgency for n in self.needs), key=URGENCY_RANK.__getitem__)

    @property
    def key(self) -> str:
        return f"{self.street.code if self.street else '-'}:{self.category}"


def open_groups(agency) -> list[Group]:
    """The open needs of an agency's area by street and category, most urgent and most people first."""
    stmt = _area_filter(select(Need), agency.district_code).where(Need.status == OPEN)
    groups: dict[tuple, Group] = {}
    for need in db.session.scalars(stmt.options(joinedload(Need.grid).joinedload(Grid.community))):
        street = need.grid.community.parent
        key = (street.code if street else "", need.category)
        groups.setdefault(key, Group(street, need.category)).needs.append(need)
    ranked = sorted(groups.values(), key=lambda g: (-URGENCY_RANK[g.urgency], -g.people, g.key))
    for g in ranked:
        g.needs.sort(key=lambda n: (-URGENCY_RANK[n.urgency], -n.people, n.id))
    return ranked


def area_needs(agency, statuses: tuple[str, ...]) -> list[Need]:
    stmt = _area_filter(select(Need), agency.district_code).where(Need.status.in_(statuses))
    return list(db.session.scalars(stmt.order_by(Need.created_at.desc(), Need.id.desc()).limit(500)))


# --- public figures ----------------------------------------------------------------------------------

COUNTED = (SCREENING, OPEN, DISPATCHED, DECLINED, MET)  # received; merged and screened-out are not needs


def quarter_of(moment: datetime) -> str:
    day = local_date(moment)
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@dataclass
class Figures:
    received: int = 0
    dispatched: int = 0  # dispatched to a tender or contract, met ones included
    met: int = 0
    declined: int = 0
    days_to_contract: list[float] = field(default_factory=list)

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days_to_contract) if self.days_to_contract else None


def public_figures(quarter: str = "", category: str = "") -> dict:
    """Needs received, dispatched, met and declined by street and category (and per quarter), and the
    median days from a need to its contract: to the contract's creation when the need led to a tender,
    to the routing when it was routed to a contract that already existed."""
    street = aliased(District)
    community = aliased(District)
    rows = db.session.execute(
        select(Need, street, Contract.created_at)
        .join(Grid, Grid.id == Need.grid_id)
        .join(community, community.code == Grid.community_code)
        .outerjoin(street, street.code == community.parent_code)
        .outerjoin(Contract, Contract.id == Need.contract_id)
        .where(Need.status.in_(COUNTED))
        .order_by(Need.id)
    ).all()
    by_street: dict[str, Figures] = defaultdict(Figures)
    by_category: dict[str, Figures] = defaultdict(Figures)
    by_quarter: dict[str, Figures] = defaultdict(Figures)
    total = Figures()
    streets: dict[str, District] = {}
    quarters = set()
    for need, street_row, contract_created in rows:
        q = quarter_of(need.created_at)
        quarters.add(q)
        if (quarter and q != quarter) or (category and need.category != category):
            continue
        code = street_row.code if street_row is not None else ""
        if street_row is not None:
            streets[code] = street_row
        days = None
        if need.contract_id is not None and need.dispatched_at is not None:
            reached = max(contract_created, need.dispatched_at) if contract_created else need.dispatched_at
            days = max((reached - need.created_at).total_seconds() / 86400, 0.0)
        for figures in (by_street[code], by_category[need.category], by_quarter[q], total):
            figures.received += 1
            figures.dispatched += need.status in (DISPATCHED, MET)
            figures.met += need.status == MET
            figures.declined += need.status == DECLINED
            if days is not None:
                figures.days_to_contract.append(days)
    return {
        "by_street": sorted(by_street.items(), key=lambda kv: kv[0]),
        "by_category": sorted(by_category.items(), key=lambda kv: kv[0]),
        "by_quarter": sorted(by_quarter.items()),
        "total": total,
        "streets": streets,
        "quarters": sorted(quarters, reverse=True),
    }


def status_of(code: str) -> Need | None:
    """A need by its receipt code (a merged one answers with the need it joined)."""
    code = (code or "").strip().upper()
    if not code or len(code) > 16:
        return None
    need = db.session.scalar(select(Need).where(Need.receipt_code == code))
    return need


HIDDEN = (MERGED, REJECTED)


# --- the map -----------------------------------------------------------------------------------------


@dataclass
class StreetFigures:
    code: str
    name: str
    open_needs: int = 0
    people_waiting: int = 0
    services: int = 0  # service records delivered in the street's communities
    population: int = 0  # of the street's grids

    @property
    def per_thousand(self) -> float | None:
        return round(1000 * self.services / self.population, 1) if self.population else None


def map_figures(county_code: str | None = None) -> list[StreetFigures]:
    """Per street: open needs (and the people they affect), service records delivered in its communities,
    the population of its grids, and services per 1,000 of them: the map and its table."""
    community = aliased(District)
    streets = {
        s.code: StreetFigures(s.code, s.name)
        for s in db.session.scalars(
            select(District).where(District.level == "street").order_by(District.code)
        )
        if county_code is None or s.parent_code == county_code
    }
    open_rows = db.session.execute(
        select(community.parent_code, func.count(Need.id), func.coalesce(func.sum(Need.people), 0))
        .join(Grid, Grid.id == Need.grid_id)
        .join(community, community.code == Grid.community_code)
        .where(Need.status == OPEN)
        .group_by(community.parent_code)
    ).all()
    for code, count, people in open_rows:
        if code in streets:
            streets[code].open_needs, streets[code].people_waiting = count, int(people)
    for code, population in db.session.execute(
        select(community.parent_code, func.sum(Grid.population))
        .join(community, community.code == Grid.community_code)
        .group_by(community.parent_code)
    ).all():
        if code in streets:
            streets[code].population = int(population or 0)
    for code, services in db.session.execute(
        select(community.parent_code, func.count(ServiceRecord.id))
        .join(community, community.code == ServiceRecord.community_code)
        .group_by(community.parent_code)
    ).all():
        if code in streets:
            streets[code].services = services
    return list(streets.values())
