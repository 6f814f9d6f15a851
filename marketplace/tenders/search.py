"""Reading tenders: the public search, the open tenders on the home page, an agency's own list.

The words of a search are looked up in the search index (``search_index``, docs/search.md), which
narrows the tenders to a superset of the substring matches; the words the index cannot answer exactly
are then checked as substrings of the title, description and reference, so a search finds exactly
what ``LIKE '%word%'`` finds, without scanning the archive.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from math import ceil

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import joinedload, load_only

from marketplace import clock
from marketplace.core.timeutil import start_of_local_day
from marketplace.extensions import db
from marketplace.tenders import search_index
from marketplace.tenders.models import (
    CANCELLED,
    CLOSED,
    FAILED,
    OPEN,
    OPENED,
    PUBLIC_STATUSES,
    Tender,
    tender_service_areas,
)

MAX_SEARCH_WORDS = 10
# Tokens asked of the index at most: a long phrase's first pieces narrow enough, the substring check
# does the rest.
MAX_INDEX_TOKENS = 32
# Result counts stop here: the page says "more than 1,000" rather than count every match of a broad
# search (which costs as much as finding them).
COUNT_CAP = 1000
BEST_MATCH = ""  # the search page's default sort: by relevance when there are words, else by deadline
# The matches a search ranks by relevance (then deadline): the newest RANK_WINDOW. Ranking every match
# of a broad search would read all their index entries; the newest first follows the table's order,
# so the scan stops early. One more than COUNT_CAP, so the window also says whether there are more.
RANK_WINDOW = COUNT_CAP + 1
# A ranked search of several tokens first looks for its window among this many of the newest tenders
# (_ranked_rows).
RECENT_SPAN = 16 * RANK_WINDOW


# What a result row shows (``tender_row`` in _macros.html, ``Tender.display_status``): only these
# columns are read for a page, the agency in the same statement.
ROW_COLUMNS = (
    Tender.id,
    Tender.reference,
    Tender.title,
    Tender.category,
    Tender.agency_id,
    Tender.method,
    Tender.budget_ceiling,
    Tender.bid_deadline,
    Tender.status,
)


def _row_options():
    return (load_only(*ROW_COLUMNS), joinedload(Tender.agency, innerjoin=True))


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
    # The search page asks for BEST_MATCH; other callers (the API) keep the deadline order, over
    # every match, by default.
    sort: str = "deadline"


SORTS = {
    "deadline": (Tender.bid_deadline.asc(),),
    "-deadline": (Tender.bid_deadline.desc(),),
    "-published": (Tender.published_at.desc(),),
    "budget": (Tender.budget_ceiling.asc(),),
    "-budget": (Tender.budget_ceiling.desc(),),
}


def public_tenders_query(f: TenderFilters) -> Select:
    """Published (or formerly published) tenders matching the filters, best match first when there
    are words and no sort was chosen. Drafts never appear."""
    matches, tokens = _matches(f)
    if _ranked_search(f, tokens):
        return _ranked(matches, tokens).rows()
    return _sorted(matches, f)


def matches(f: TenderFilters) -> Select:
    """Every public tender matching ``f``, unordered: the search page's rules, which the saved-search
    alerts (``marketplace.alerts``) follow, so an alert names what the page would find."""
    return _matches(f)[0]


def public_matches(f: TenderFilters) -> Select:
    """Every match, unordered: the API orders and pages it by its own keys (api/public.py)."""
    return _matches(f)[0]


def _matches(f: TenderFilters) -> tuple[Select, list[str]]:
    """Every match, unordered, and the index tokens its words asked for."""
    stmt = select(Tender).where(Tender.status.in_(PUBLIC_STATUSES))
    stmt, tokens = _text_filter(stmt, f.q or "")
    if f.category:
        stmt = stmt.where(Tender.category == f.category)
    if f.district:
        served = select(tender_service_areas.c.tender_id).where(
            tender_service_areas.c.district_code == f.district
        )
        stmt = stmt.where(or_(Tender.district_code == f.district, Tender.id.in_(served)))
    if f.method:
        stmt = stmt.where(Tender.method == f.method)
    stmt = _status_filter(stmt, f.status)
    return _range_filters(stmt, f), tokens


def _ranked_search(f: TenderFilters, tokens: list[str]) -> bool:
    """Ordered by relevance: words the index answers, and no sort chosen (a chosen sort wins)."""
    return bool(tokens) and f.sort not in SORTS


def _sorted(matches: Select, f: TenderFilters) -> Select:
    return matches.order_by(*SORTS.get(f.sort, SORTS["deadline"]), Tender.id.desc())


def _ranked(matches: Select, tokens: list[str], above_id: int | None = None) -> search_index.RankedWindow:
    """The newest RANK_WINDOW matches (only those with an id above ``above_id``: see ``_ranked_rows``),
    by relevance, then deadline (soonest first)."""
    if above_id is not None:
        matches = matches.where(Tender.id > above_id)
    return search_index.rank_window(
        Tender,
        matches,
        Tender.id,
        Tender.search_tokens,
        tokens,
        _dialect(),
        tiebreaks=((Tender.bid_deadline, False), (Tender.id, True)),
        size=RANK_WINDOW,
    )


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _text_filter(stmt: Select, q: str) -> tuple[Select, list[str]]:
    """Every word must be found (AND), as a substring of the title, the description or the reference.
    The index narrows by the words' tokens; the words it does not answer exactly (longer Chinese
    phrases, Latin words, anything with punctuation) are checked as substrings of what it returned.
    A search whose words have no token at all (``%``, ``a``) is a plain substring scan."""
    terms = [search_index.query_term(word) for word in q.split()[:MAX_SEARCH_WORDS]]
    # The exact words' tokens first (one each, at most MAX_SEARCH_WORDS): each is the whole of its
    # word's check, so none may be dropped.
    tokens = [t for term in terms if term.exact for t in term.tokens]
    tokens += [t for term in terms if not term.exact for t in term.tokens]
    tokens = list(dict.fromkeys(tokens))[:MAX_INDEX_TOKENS]
    if tokens:
        stmt = search_index.match(stmt, Tender.id, Tender.search_tokens, tokens, _dialect())
    for term in terms:
        if not term.exact:
            stmt = stmt.where(
                or_(
                    Tender.title.icontains(term.text, autoescape=True),
                    Tender.description.icontains(term.text, autoescape=True),
                    Tender.reference.icontains(term.text, autoescape=True),
                )
            )
    return stmt, tokens


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


# --- one page of results, with a count that stops at COUNT_CAP ---------------------------------------


@dataclass
class ResultPage:
    """What the pagination macro needs (``items``, ``pages``, ``iter_pages`` ...). ``total`` is exact
    up to ``COUNT_CAP``; past it, ``capped`` is set and the pages run on as long as there is a next."""

    items: list[Tender]
    page: int
    per_page: int
    total: int
    has_next: bool
    ranked: bool = False  # ordered by relevance: past the cap, only the newest matches are ranked

    @property
    def capped(self) -> bool:
        return self.total > COUNT_CAP

    @property
    def pages(self) -> int:
        known = ceil(min(self.total, COUNT_CAP) / self.per_page)
        return max(known, self.page + 1 if self.has_next else self.page) if self.capped else known

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(self, edge: int = 2, before: int = 2, after: int = 4) -> Iterator[int | None]:
        """Page numbers for the widget, ``None`` for a gap; no last pages when the count was capped
        (the last page is not known)."""
        last = self.pages
        shown = set(range(1, min(edge, last) + 1))
        shown |= set(range(max(1, self.page - before), min(last, self.page + after) + 1))
        if not self.capped:
            shown |= set(range(max(1, last - edge + 1), last + 1))
        previous = 0
        for number in sorted(shown):
            if number > previous + 1:
                yield None
            yield number
            previous = number
        if self.capped and previous < last:
            yield None


def capped_count(stmt: Select) -> Select:
    """The number of rows ``stmt`` returns, counted no further than ``COUNT_CAP + 1``."""
    limited = stmt.order_by(None).with_only_columns(Tender.id).limit(COUNT_CAP + 1).subquery()
    return select(func.count()).select_from(limited)


def search_page(f: TenderFilters, page: int, per_page: int) -> ResultPage:
    """One page of the public search. The rows are fetched with one extra to know whether a next page
    exists; the matches are counted (up to COUNT_CAP + 1) only when the page does not tell."""
    matches, tokens = _matches(f)
    offset = (page - 1) * per_page
    ranked = _ranked_search(f, tokens)
    if ranked:
        rows, counted = _ranked_rows(matches, tokens, offset, per_page + 1)
    else:
        stmt = _sorted(matches, f).options(*_row_options())
        rows, counted = list(db.session.scalars(stmt.offset(offset).limit(per_page + 1))), None
    items, has_next = rows[:per_page], len(rows) > per_page
    if counted is not None:
        total = counted
    elif not has_next and (items or offset == 0) and offset + len(items) <= COUNT_CAP:
        total = offset + len(items)  # the last page (or an empty first one): every match is counted
    elif offset + len(rows) > COUNT_CAP:
        total = COUNT_CAP + 1
    else:
        total = db.session.scalar(capped_count(matches))
    return ResultPage(
        items=items, page=page, per_page=per_page, total=total, has_next=has_next, ranked=ranked
    )


def _ranked_rows(
    matches: Select, tokens: list[str], offset: int, limit: int
) -> tuple[list[Tender], int | None]:
    """A page of a ranked search, and the number of matches in its window (the newest matches).

    The cheap way to the window depends on how many tenders match: walking the tenders newest first
    and stopping once it is full (many), or collecting the matches from the index and sorting them
    (few). SQLite's FTS5 table does the first by itself; PostgreSQL's planner chooses, and judges well
    for one token. For several it takes them as independent, and a phrase's pairs are not: it expects
    far fewer matches than there are and would collect them all. So a query of several tokens looks
    for its window among the newest RECENT_SPAN tenders first, at a bounded cost: if the window fills
    there, it is the same window; if not, the matches are few enough to collect."""
    newest = 0
    if len(tokens) > 1 and _dialect() == "postgresql":
        newest = db.session.scalar(select(func.max(Tender.id))) or 0
    if newest > RECENT_SPAN:
        rows, counted = _window_page(matches, tokens, offset, limit, above_id=newest - RECENT_SPAN)
        if counted == RANK_WINDOW:
            return rows, counted
    return _window_page(matches, tokens, offset, limit)


def _window_page(
    matches: Select, tokens: list[str], offset: int, limit: int, above_id: int | None = None
) -> tuple[list[Tender], int | None]:
    stmt = _ranked(matches, tokens, above_id).rows(offset, limit, counted=True)
    result = db.session.execute(stmt.options(*_row_options())).all()
    return [row[0] for row in result], (result[0][1] if result else None)


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
