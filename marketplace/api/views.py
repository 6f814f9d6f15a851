"""JSON API, version 1. Read-only public endpoints for now; errors are JSON (see core.errors)."""

from flask import Blueprint, abort, request

from marketplace.core.web import page_args
from marketplace.extensions import db
from marketplace.tenders import search
from marketplace.tenders.models import Tender
from marketplace.tenders.schemas import PublicTenderSchema

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.route("/tenders")
def tenders():
    page, per_page = page_args()
    status = request.args.get("status", "")
    filters = search.TenderFilters(
        q=request.args.get("q", "")[:200],
        category=request.args.get("category", ""),
        status=status if status in ("open", "closed", "cancelled") else "",
    )
    pagination = db.paginate(
        search.public_tenders_query(filters), page=page, per_page=per_page, error_out=False
    )
    return {
        "items": PublicTenderSchema(many=True).dump(pagination.items),
        "page": pagination.page,
        "per_page": pagination.per_page,
        "total": pagination.total,
    }


@bp.route("/tenders/<int:tender_id>")
def tender(tender_id: int):
    t = db.session.get(Tender, tender_id)
    if t is None or not t.is_public:
        abort(404)
    return PublicTenderSchema().dump(t)
