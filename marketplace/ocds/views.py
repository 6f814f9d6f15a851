"""OCDS 1.1 open data: release packages and record packages (read-only, public, JSON errors)."""

from __future__ import annotations

from flask import Blueprint, current_app, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest, NotFound

from marketplace.extensions import db
from marketplace.ocds import services
from marketplace.ocds.releases import releases_for

bp = Blueprint("ocds", __name__, url_prefix="/api/v1/ocds")

MAX_PAGE = 100000


def _fail(exc_class, message: str):
    exc = exc_class(message)
    exc._marketplace_message = True  # core.errors shows this message in the JSON body
    raise exc


def _int_arg(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    # ASCII digits only: str.isdigit() also accepts "²" or "٣", which int() refuses or reads.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or not 1 <= int(raw) <= maximum:
        _fail(
            BadRequest,
            _("'%(name)s' must be a whole number from 1 to %(maximum)d.", name=name, maximum=maximum),
        )
    return int(raw)


def _page_args() -> tuple[int, int]:
    limit = current_app.config["MAX_PER_PAGE"]
    per_page = _int_arg("per_page", min(current_app.config["PER_PAGE"], limit), limit)
    return _int_arg("page", 1, MAX_PAGE), per_page


def _tender_page(endpoint: str):
    page, per_page = _page_args()
    pagination = db.paginate(
        services.published_tenders_query(), page=page, per_page=per_page, error_out=False, count=True
    )
    links = {}
    if pagination.has_next:
        links["next"] = url_for(endpoint, page=page + 1, per_page=per_page, _external=True)
    if page > 1:
        links["prev"] = url_for(endpoint, page=page - 1, per_page=per_page, _external=True)
    return pagination.items, links


def _tender_or_404(ocid: str):
    tender = services.tender_for_ocid(ocid)
    if tender is None:
        _fail(NotFound, _("No published contracting process has this ocid."))
    return tender


@bp.route("/releases")
def releases():
    tenders, links = _tender_page("ocds.releases")
    items = [r for t in tenders for r in releases_for(t)]
    extra = {"links": links} if links else {}
    return services.release_package(items, request.url, **extra)


@bp.route("/releases/<path:ocid>")
def process_releases(ocid: str):
    tender = _tender_or_404(ocid)
    return services.release_package(releases_for(tender), request.url)


@bp.route("/records")
def records():
    tenders, links = _tender_page("ocds.records")
    items = [r for r in (services.record_for(t) for t in tenders) if r is not None]
    extra = {"links": links} if links else {}
    return services.record_package(items, request.url, **extra)


@bp.route("/records/<path:ocid>")
def record(ocid: str):
    tender = _tender_or_404(ocid)
    return services.record_package([services.record_for(tender)], request.url)
