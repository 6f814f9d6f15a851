"""The public search's page cache (docs/search.md, "The cache").

An anonymous visitor's ``/tenders`` page is kept for ``SEARCH_CACHE_SECONDS``, under a key made of
the catalogue version, the language and the normalised query string. The catalogue version is a
token in the same cache, replaced after every commit that changed a tender, a street a tender serves,
an agency or a district (what the page shows), so a publication, an amendment or a withdrawal is seen
at once: the pages of the old version are never asked for again and expire.

Never from the cache: a signed-in user's page (what they see may depend on who they are), a page
with flashed messages, and any answer other than 200. Reading or filling the cache never writes to
the database; a cache that cannot be reached (Redis down) only means the page is rendered.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlencode

from flask import current_app, has_app_context, request, session
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.extensions import cache

log = logging.getLogger(__name__)

VERSION_KEY = "tenders:catalogue-version"
# The tables whose rows a search page shows (results, agencies' names, the district choices).
WATCHED_TABLES = frozenset({"tenders", "tender_service_areas", "agencies", "districts"})
_CHANGED = "search_cache.catalogue_changed"  # session.info: a watched row changed in this transaction
OPTIONS_SECONDS = 300  # the search form's choices (districts, categories ...), per language


# --- the catalogue version -----------------------------------------------------------------------


def catalogue_version() -> str:
    """The current version token (a new one when the cache has none, e.g. evicted or restarted)."""
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=0)  # the first process to add it wins
        version = cache.get(VERSION_KEY)
    return version or ""


def bump_catalogue_version() -> None:
    """Every cached search page is out of date (called after a commit that changed the catalogue;
    call it after a write made past the ORM session, e.g. a bulk load)."""
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=0)
    except Exception:  # noqa: BLE001 - a cache outage must not fail the committed change
        log.warning("search cache: the catalogue version could not be bumped", exc_info=True)


def _touches_watched(objects) -> bool:
    return any(getattr(getattr(o, "__table__", None), "name", None) in WATCHED_TABLES for o in objects)


def _after_flush(session: Session, _flush_context) -> None:
    if _touches_watched(session.new) or _touches_watched(session.dirty) or _touches_watched(session.deleted):
        session.info[_CHANGED] = True


def _do_orm_execute(state) -> None:
    """Bulk ``INSERT``/``UPDATE``/``DELETE`` through the session (set-based jobs)."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in WATCHED_TABLES:
        state.session.info[_CHANGED] = True


def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False) and has_app_context():
        bump_catalogue_version()


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction is gone, not a savepoint
        session.info.pop(_CHANGED, None)


def connect_signals() -> None:
    """Watch every session's commits (once per process; the app factory calls it)."""
    for name, listener in (
        ("after_flush", _after_flush),
        ("do_orm_execute", _do_orm_execute),
        ("after_commit", _after_commit),
        ("after_soft_rollback", _after_soft_rollback),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


# --- the pages -----------------------------------------------------------------------------------


def normalised_query(params: Collection[str]) -> str:
    """The query string's ``params`` (the others change nothing on the page) without empty values or
    a first page, sorted: the same search written two ways is one entry, and made-up parameters do
    not fill the cache with copies."""
    pairs = sorted(
        (key, value)
        for key, values in request.args.lists()
        if key in params
        for value in values
        if value.strip() and not (key == "page" and value.strip() == "1")
    )
    return urlencode(pairs)


def page_key(version: str, params: Collection[str]) -> str:
    digest = hashlib.sha256(f"{request.path}?{normalised_query(params)}".encode()).hexdigest()[:32]
    return f"tenders:page:{version}:{get_locale()}:{digest}"


def cacheable() -> bool:
    """An anonymous GET with nothing personal on the page, and a cache to keep it in."""
    return (
        current_app.config["SEARCH_CACHE_SECONDS"] > 0
        and request.method in ("GET", "HEAD")
        and not current_user.is_authenticated
        and not session.get("_flashes")
    )


def cached_page(render: Callable[[], tuple[str, int]], params: Collection[str]) -> tuple[str, int]:
    """``render()`` (the page's HTML and status), or the copy kept for an anonymous visitor; the page
    depends on the query string's ``params`` only.

    The version is read before rendering: a change committed while the page renders makes a new
    version, so the page kept under the old one is never served after it."""
    if not cacheable():
        return render()
    try:
        key = page_key(catalogue_version(), params)
        html = cache.get(key)
    except Exception:  # noqa: BLE001 - no cache: render, as without one
        log.warning("search cache: unreachable, rendering", exc_info=True)
        return render()
    if html is not None:
        return html, 200
    html, status = render()
    if status == 200:
        try:
            cache.set(key, html, timeout=current_app.config["SEARCH_CACHE_SECONDS"])
        except Exception:  # noqa: BLE001
            log.warning("search cache: the page could not be kept", exc_info=True)
    return html, status


def remembered(name: str, build: Callable[[], Any], seconds: int = OPTIONS_SECONDS) -> Any:
    """``build()``, kept ``seconds`` per language and catalogue version (the search form's choices)."""
    try:
        key = f"tenders:{name}:{catalogue_version()}:{get_locale()}"
        value = cache.get(key)
    except Exception:  # noqa: BLE001
        return build()
    if value is None:
        value = build()
        try:
            cache.set(key, value, timeout=seconds)
        except Exception:  # noqa: BLE001
            log.warning("search cache: %s could not be kept", name, exc_info=True)
    return value
