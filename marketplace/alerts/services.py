"""The verbs of saved searches: save, change, pause or resume, delete, and stop the emails. They
check the rule and change the rows; the edge (request, job item) commits."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, func, select, update

from marketplace import clock
from marketplace.alerts.models import SavedSearch, SavedSearchHit
from marketplace.auth.models import User
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.districts import District
from marketplace.core.errors import NotPermitted, RuleViolation
from marketplace.core.permissions import can
from marketplace.extensions import db
from marketplace.tenders.search import MAX_SEARCH_WORDS

# Saved searches per organization (all its users together).
MAX_PER_ORGANIZATION = 20
MAX_CATEGORIES = len(SERVICE_CATEGORIES)
MAX_AREAS = 50
MAX_BUDGET = Decimal("1000000000")


def organization_count(organization_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(SavedSearch)
            .where(SavedSearch.organization_id == organization_id)
        )
        or 0
    )


def _clean(data: dict) -> dict:
    """The input checked and normalised; a RuleViolation names the first field at fault."""
    name = " ".join(str(data.get("name") or "").split())
    if not name:
        raise RuleViolation(_("Give the search a name."), field="name")
    if len(name) > 100:
        raise RuleViolation(_("The name is too long (100 characters at most)."), field="name")
    keywords = " ".join(str(data.get("keywords") or "").split())
    if len(keywords) > 200:
        raise RuleViolation(_("The keywords are too long (200 characters at most)."), field="keywords")
    if len(keywords.split()) > MAX_SEARCH_WORDS:
        raise RuleViolation(
            _("Use at most %(num)d words: the search ignores the others.", num=MAX_SEARCH_WORDS),
            field="keywords",
        )
    categories = sorted(set(data.get("categories") or []))
    if any(c not in SERVICE_CATEGORIES for c in categories):
        raise RuleViolation(_("Choose categories from the list."), field="categories")
    codes = sorted(set(data.get("district_codes") or []))
    if len(codes) > MAX_AREAS:
        raise RuleViolation(_("Choose at most %(num)d service areas.", num=MAX_AREAS), field="district_codes")
    if codes and len(db.session.scalars(select(District.code).where(District.code.in_(codes))).all()) != len(
        codes
    ):
        raise RuleViolation(_("Choose service areas from the list."), field="district_codes")
    low, high = data.get("budget_min"), data.get("budget_max")
    for value, field in ((low, "budget_min"), (high, "budget_max")):
        if value is not None and not (Decimal(0) <= value <= MAX_BUDGET):
            raise RuleViolation(_("Enter an amount between 0 and 1,000,000,000 yuan."), field=field)
    if low is not None and high is not None and low > high:
        raise RuleViolation(_("The upper bound is below the lower bound."), field="budget_max")
    if not (keywords or categories or codes or low is not None or high is not None):
        raise RuleViolation(
            _(
                "Give at least one keyword, category, service area or budget bound: "
                "a search without any would alert every tender."
            ),
            field="keywords",
        )
    return {
        "name": name,
        "keywords": keywords,
        "categories": categories,
        "district_codes": codes,
        "budget_min": low,
        "budget_max": high,
        "email_digest": bool(data.get("email_digest", True)),
    }


def save_search(data: dict, user: User) -> SavedSearch:
    """Save a search for ``user``'s organization; its alerts name tenders published from now on."""
    if not can(user, "saved_search.create"):
        raise NotPermitted("saved_search.create")
    values = _clean(data)
    if organization_count(user.organization_id) >= MAX_PER_ORGANIZATION:
        raise RuleViolation(
            ngettext(
                "Your organization has %(num)d saved search, the most it may keep: delete one first.",
                "Your organization has %(num)d saved searches, the most it may keep: delete one first.",
                MAX_PER_ORGANIZATION,
            )
        )
    saved = SavedSearch(
        organization_id=user.organization_id, user_id=user.id, alerted_until=clock.now(), **values
    )
    db.session.add(saved)
    db.session.flush()
    return saved


def update_search(saved: SavedSearch, data: dict, user: User) -> SavedSearch:
    """Change the filters (the tenders already alerted are not alerted again)."""
    _require(user, saved)
    for key, value in _clean(data).items():
        setattr(saved, key, value)
    return saved


def set_paused(saved: SavedSearch, paused: bool, user: User) -> bool:
    """Pause or resume the alerts; a resumed search alerts what is published from now on. False when
    already so."""
    _require(user, saved)
    if saved.paused == paused:
        return False
    saved.paused = paused
    if not paused:
        saved.alerted_until = clock.now()
    return True


def delete_search(saved: SavedSearch, user: User) -> None:
    _require(user, saved)
    db.session.execute(delete(SavedSearchHit).where(SavedSearchHit.search_id == saved.id))
    db.session.delete(saved)


def unsubscribe(user: User) -> int:
    """Stop the daily email of every search of ``user`` (the inbox alerts go on); how many stopped."""
    result = db.session.execute(
        update(SavedSearch)
        .where(SavedSearch.user_id == user.id, SavedSearch.email_digest.is_(True))
        .values(email_digest=False, updated_at=clock.now())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0


def emailed_count(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(SavedSearch)
            .where(SavedSearch.user_id == user.id, SavedSearch.email_digest.is_(True))
        )
        or 0
    )


def _require(user: User, saved: SavedSearch) -> None:
    if not can(user, "saved_search.manage", saved):
        raise NotPermitted("saved_search.manage")
