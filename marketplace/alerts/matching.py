"""Which tenders a saved search alerts.

The public search's matches (``tenders.search.matches``: the same search index and rules as
``/tenders?q=...``) for the search's keywords and budget range, in any of its categories and service
areas (a tender's district or one of the streets it serves, as on the search page), open for bids at
the time of the alert (``status=open``: published and before the bid deadline). An invited tender
(邀请招标) only ever appears to the organizations invited to it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, or_, select

from marketplace.alerts.models import SavedSearch, SavedSearchHit
from marketplace.tenders import procedures, search
from marketplace.tenders.models import OPEN, Tender, TenderInvitation, tender_service_areas

# How far before its watermark a search looks again: a publication whose transaction committed just
# after a run looked is found by the next run (the hits keep it from being alerted twice).
LAG = timedelta(hours=1)
# The most tenders one search alerts in one run (the newest); the rest are not alerted.
MAX_PER_RUN = 100


def invited_methods() -> list[str]:
    return [code for code in procedures.PROFILES if procedures.profile(code).by_invitation]


def visible_to(organization_id: int) -> ColumnElement[bool]:
    """Tenders an organization may be told of: any but an invited tender it was not invited to."""
    invited = select(TenderInvitation.tender_id).where(TenderInvitation.organization_id == organization_id)
    return or_(Tender.method.not_in(invited_methods()), Tender.id.in_(invited))


def filters(saved: SavedSearch) -> search.TenderFilters:
    """What the search page is asked for the keywords, budget range and status (open)."""
    return search.TenderFilters(
        q=saved.keywords or "", status=OPEN, budget_min=saved.budget_min, budget_max=saved.budget_max
    )


def matching(saved: SavedSearch) -> Select:
    """Every tender the search matches now, that its organization may see (unordered)."""
    stmt = search.matches(filters(saved))
    if saved.categories:
        stmt = stmt.where(Tender.category.in_(list(saved.categories)))
    if saved.district_codes:
        codes = list(saved.district_codes)
        served = select(tender_service_areas.c.tender_id).where(
            tender_service_areas.c.district_code.in_(codes)
        )
        stmt = stmt.where(or_(Tender.district_code.in_(codes), Tender.id.in_(served)))
    return stmt.where(visible_to(saved.organization_id))


def new_matches(saved: SavedSearch, limit: int = MAX_PER_RUN) -> Select:
    """The matching tenders published since the search was saved and its watermark (less ``LAG``),
    not alerted by it yet, newest first: id, title, reference, deadline and budget."""
    since: datetime = max(saved.created_at, saved.alerted_until - LAG)
    alerted = select(SavedSearchHit.tender_id).where(SavedSearchHit.search_id == saved.id)
    return (
        matching(saved)
        .where(Tender.published_at >= since, Tender.id.not_in(alerted))
        .with_only_columns(
            Tender.id, Tender.title, Tender.reference, Tender.bid_deadline, Tender.budget_ceiling
        )
        .order_by(Tender.published_at.desc(), Tender.id.desc())
        .limit(limit)
    )


def alerted_tenders(saved: SavedSearch) -> Select:
    """The tenders the search has alerted, latest alert first (the search's page)."""
    return (
        select(Tender, SavedSearchHit.alerted_at)
        .join(SavedSearchHit, SavedSearchHit.tender_id == Tender.id)
        .where(SavedSearchHit.search_id == saved.id, visible_to(saved.organization_id))
        .order_by(SavedSearchHit.alerted_at.desc(), Tender.id.desc())
    )
