"""Reading tenders: the public search, the open tenders on the home page, an agency's own list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Select, and_, or_, select

from marketplace import clock
from marketplace.core.districts import District
from marketplace.core.timeutil import start_of_local_day
from marketplace.extensions import db
from marketplace.tenders.models import CANCELLED, CLOSED, FAILED, OPEN, OPENED, PUBLIC_STATUSES, Tender

MAX_SEARCH_WORDS = 10


@dataclass
class TenderFilters:
    q: str = ""
    category: str = ""
    district: str = ""
    method: str = ""
    status: str = ""
    budget_min: Decimal | None = None
    budget_max: Decimal | None = None
    deadline_from: date | None = None  # local dates
    deadline_to: date | None = None
    sort: str = "deadline"


SORTS = {
    "deadline": (Tender.bid_deadline.asc(),),
    "-deadline": (Tender.bid_deadline.desc(),),
    "-published": (Tender.published_at.desc(),),
    "budget": (Tender.budget_ceiling.asc(),),
    "-budget": (Tender.budget_ceiling.desc(),),
}


def public_tenders_query(f: TenderFilters) -> Select:
    """Published (or formerly published) tenders matching the filters. Drafts never appear."""
    stmt = select(Tender).where(Tender.status.in_(PUBLIC_STATUSES))
    for term in (f.q or "").split()[:MAX_SEARCH_WORDS]:
        stmt = stmt.where(
            or_(
                Tender.title.icontains(term, autoescape=True),
                Tender.description.icontains(term, autoescape=True),
                Tender.reference.icontains(term, autoescape=True),
            )
        )
    if f.category:
        stmt = stmt.where(Tender.category == f.category)
    if f.district:
        stmt = stmt.where(
            or_(Tender.district_code == f.district, Tender.service_areas.any(District.code == f.district))
        )
    if f.method:
        stmt = stmt.where(Tender.method == f.method)
    stmt = _status_filter(stmt, f.status)
    stmt = _range_filters(stmt, f)
    return stmt.order_by(*SORTS.get(f.sort, SORTS["deadline"]), Tender.id.desc())


def _status_filter(stmt: Select, status: str) -> Select:
    """``open`` and ``closed`` as the public sees them: an open tender past its deadline is closed."""
    now = clock.now()
    if status == OPEN:
        return stmt.where(Tender.status == OPEN, Tender.bid_deadline > now)
    if status == CLOSED:
        return stmt.where(
            or_(
                Tender.status.in_((CLOSED, OPENED, FAILED)),
                and_(Tender.status == OPEN, Tender.bid_deadline <= now),
            )
        )
    if status == CANCELLED:
        return stmt.where(Tender.status == CANCELLED)
    return stmt


def _range_filters(stmt: Select, f: TenderFilters) -> Select:
    if f.budget_min is not None:
        stmt = stmt.where(Tender.budget_ceiling >= f.budget_min)
    if f.budget_max is not None:
        stmt = stmt.where(Tender.budget_ceiling <= f.budget_max)
    if f.deadline_from:
        stmt = stmt.where(Tender.bid_deadline >= start_of_local_day(f.deadline_from))
    if f.deadline_to:
        stmt = stmt.where(Tender.bid_deadline < start_of_local_day(f.deadline_to + timedelta(days=1)))
    return stmt


def open_tenders(limit: int = 10) -> list[Tender]:
    stmt = (
        select(Tender)
        .where(Tender.status == OPEN, Tender.bid_deadline > clock.now())
        .order_by(Tender.bid_deadline.asc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def agency_tenders_query(agency_id: int, status: str = "") -> Select:
    stmt = select(Tender).where(Tender.agency_id == agency_id)
    if status:
        stmt = stmt.where(Tender.status == status)
    return stmt.order_by(Tender.updated_at.desc(), Tender.id.desc())
