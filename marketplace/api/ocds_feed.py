"""/api/v1/ocds: OCDS 1.1 open data, public and read-only (docs/ocds.md).

- ``/releases?since=<cursor>``: the release feed a harvester follows (``ocds/feed.py``): releases in
  the order they were published to the feed, never one twice, never one missed.
- ``/releases/<ocid>``, ``/records/<ocid>``: one process; ``/records?cursor=``: one record per
  published tender, by tender id, paged by cursor (``api/paging.py``).

Every answer carries an ``ETag`` (``api/conditional.py``); a request with a matching ``If-None-Match``
gets a 304. A package's ``publishedDate`` is the last change of what it holds (not the time of the
request), so an unchanged package keeps its ETag.
"""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort

from marketplace.api import paging
from marketplace.api.auth import allow_anonymous
from marketplace.api.conditional import conditional
from marketplace.api.paging import PageArgs
from marketplace.ocds import feed, services
from marketplace.ocds.releases import releases_for
from marketplace.ocds.schemas import FeedArgs, RecordPackage, ReleasePackage
from marketplace.tenders.models import Tender

blp = Blueprint("api_ocds_feed", __name__, url_prefix="/api/v1/ocds", description="OCDS release feed")


def _tender_or_404(ocid: str):
    tender = services.tender_for_ocid(ocid)
    if tender is None:
        abort(404, message=_("No published contracting process has this ocid."))
    return tender


@blp.route("/releases")
@conditional
@allow_anonymous("read")
@blp.arguments(FeedArgs, location="query", error_status_code=400, as_kwargs=True)
@blp.response(200, ReleasePackage)
@blp.alt_response(400, response="BAD_REQUEST")
def releases(since: str | None = None, limit: int | None = None):
    """The release feed.

    Releases in feed order, after the cursor ``since``. Follow ``links.next`` (always present): a page
    with fewer releases than ``limit`` means you have caught up; ask for its ``links.next`` again later
    (every minute or so). The cursor is opaque: keep the last ``links.next`` you read.
    """
    if "page" in request.args or "per_page" in request.args:  # the paged feed before the cursor one
        abort(400, message=_("The release feed is paged by cursor: use 'limit' and follow links.next."))
    try:
        after = feed.decode_cursor(since)
    except feed.InvalidCursor:
        abort(400, message=_("This cursor was not given out by this feed: start again without 'since'."))
    limit = limit or current_app.config["MAX_PER_PAGE"]
    rows = feed.page_after(after, limit)
    last = rows[-1].position if rows else after
    published = max((r.positioned_at for r in rows), default=None) or feed.last_change()
    cursor = feed.encode_cursor(last)
    links = {"next": url_for("api_ocds_feed.releases", since=cursor, limit=limit, _external=True)}
    package = services.release_package([r.release for r in rows], request.url, published, links=links)
    return package


@blp.route("/releases/<path:ocid>")
@conditional
@allow_anonymous("read")
@blp.response(200, ReleasePackage)
@blp.alt_response(404, response="NOT_FOUND")
def process_releases(ocid: str):
    """The releases of one contracting process, as they are now, oldest first."""
    tender = _tender_or_404(ocid)
    return services.release_package(releases_for(tender), request.url)


@blp.route("/records")
@conditional
@allow_anonymous("read")
@blp.arguments(PageArgs, location="query")
@blp.response(200, RecordPackage)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def records(args: dict):
    """One record per published tender, by tender id, a page at a time: follow ``links.next`` (absent
    on the last page)."""
    page = paging.page(
        services.published_tenders_query(),
        [paging.Key(Tender.id)],
        args,
        scope="ocds-records",
        values=lambda tender: (tender.id,),
    )
    items = [r for r in (services.record_for(t) for t in page.items) if r is not None]
    extra = {}
    if page.next_cursor:
        next_url = url_for("api_ocds_feed.records", cursor=page.next_cursor, limit=page.limit, _external=True)
        extra["links"] = {"next": next_url}
    return services.record_package(items, request.url, **extra)


@blp.route("/records/<path:ocid>")
@conditional
@allow_anonymous("read")
@blp.response(200, RecordPackage)
@blp.alt_response(404, response="NOT_FOUND")
def record(ocid: str):
    """The record of one contracting process: its releases and the compiled release."""
    tender = _tender_or_404(ocid)
    return services.record_package([services.record_for(tender)], request.url)
