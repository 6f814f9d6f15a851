"""/api/v1 public resources: tenders, verified organizations, award notices, signed contracts and
acceptance results. Anonymous, or a token with ``read``; only what the public pages show."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace.api import schemas
from marketplace.api.auth import allow_anonymous, current_api_user
from marketplace.api.conditional import conditional
from marketplace.api.paging import Key, link_header, page, page_schema
from marketplace.contracts.models import Acceptance, Contract
from marketplace.core.permissions import can
from marketplace.extensions import db
from marketplace.orgs import directory
from marketplace.orgs.models import LISTED_STATUSES, Organization
from marketplace.tenders import search
from marketplace.tenders.committee.models import Award
from marketplace.tenders.models import Tender
from marketplace.transparency import listings
from marketplace.transparency.filters import Filters, public_contracts

blp = Blueprint("api_public", __name__, url_prefix="/api/v1", description="Public procurement information")

TENDER_SORTS = {
    "-id": [Key(Tender.id, descending=True)],
    "deadline": [Key(Tender.bid_deadline), Key(Tender.id)],
    "-deadline": [Key(Tender.bid_deadline, descending=True), Key(Tender.id, descending=True)],
    "budget": [Key(Tender.budget_ceiling), Key(Tender.id)],
    "-budget": [Key(Tender.budget_ceiling, descending=True), Key(Tender.id, descending=True)],
}
_TENDER_VALUES = {
    "-id": lambda t: (t.id,),
    "deadline": lambda t: (t.bid_deadline, t.id),
    "-deadline": lambda t: (t.bid_deadline, t.id),
    "budget": lambda t: (t.budget_ceiling, t.id),
    "-budget": lambda t: (t.budget_ceiling, t.id),
}


def _paged(result):
    return {"items": result.items, "next_cursor": result.next_cursor, "limit": result.limit}, link_header(
        result.next_cursor
    )


def _not_found(message: str):
    abort(404, message=message)


@blp.route("/tenders")
@conditional
@allow_anonymous("read")
@blp.arguments(schemas.TenderListArgs, location="query", as_kwargs=True)
@blp.response(200, page_schema(schemas.TenderSchema))
def tenders(**args):
    """Published tenders, with the public search's filters; newest first unless sorted."""
    if args.get("budget_min") is not None and args.get("budget_max") is not None:
        if args["budget_min"] > args["budget_max"]:
            abort(422, errors={"budget_max": [_("The upper bound is below the lower bound.")]})
    if args.get("deadline_from") and args.get("deadline_to") and args["deadline_from"] > args["deadline_to"]:
        abort(422, errors={"deadline_to": [_("The end date is before the start date.")]})
    sort = args.get("sort") or "-id"
    filters = search.TenderFilters(
        q=args.get("q") or "",
        category=args.get("category") or "",
        district=args.get("district") or "",
        method=args.get("method") or "",
        status=args.get("status") or "",
        budget_min=args.get("budget_min"),
        budget_max=args.get("budget_max"),
        deadline_from=args.get("deadline_from"),
        deadline_to=args.get("deadline_to"),
    )
    stmt = search.public_matches(filters)
    return _paged(page(stmt, TENDER_SORTS[sort], args, scope=f"tenders{sort}", values=_TENDER_VALUES[sort]))


@blp.route(f"/tenders/<{schemas.ROW_ID}:tender_id>")
@conditional
@allow_anonymous("read")
@blp.response(200, schemas.TenderSchema)
def tender(tender_id: int):
    """A published tender, as its public page shows it."""
    t = db.session.get(Tender, tender_id)
    if t is None or not t.is_public or not can(current_api_user(), "tender.view", t):
        _not_found(_("No published tender has this id."))
    return t


@blp.route("/organizations")
@conditional
@allow_anonymous("read")
@blp.arguments(schemas.OrganizationListArgs, location="query", as_kwargs=True)
@blp.response(200, page_schema(schemas.OrganizationSchema))
def organizations(**args):
    """Verified organizations (the public directory), by id."""
    stmt = directory.directory_query(args.get("q") or "", args.get("category") or "", args.get("area") or "")
    return _paged(page(stmt, [Key(Organization.id)], args, scope="organizations", values=lambda o: (o.id,)))


@blp.route(f"/organizations/<{schemas.ROW_ID}:organization_id>")
@conditional
@allow_anonymous("read")
@blp.response(200, schemas.OrganizationSchema)
def organization(organization_id: int):
    """A verified organization's public profile."""
    org = db.session.get(Organization, organization_id)
    if org is None or org.status not in LISTED_STATUSES or org.verified_at is None:
        _not_found(_("No verified organization has this id."))
    return org


def _filters(args) -> Filters:
    return Filters.parse({k: str(v) for k, v in args.items() if k in ("category", "district", "year")})


@blp.route("/award-notices")
@conditional
@allow_anonymous("read")
@blp.arguments(schemas.PublicListArgs, location="query", as_kwargs=True)
@blp.response(200, page_schema(schemas.AwardNoticeSchema))
def award_notices(**args):
    """Published award notices, newest first."""
    stmt = listings.awards_query(_filters(args))
    return _paged(
        page(stmt, [Key(Award.id, descending=True)], args, scope="awards", values=lambda a: (a.id,))
    )


def _public_contracts(args):
    return (
        select(Contract)
        .join(Tender, Tender.id == Contract.tender_id)
        .where(*public_contracts(_filters(args)))
        .options(joinedload(Contract.agency), joinedload(Contract.organization))
    )


@blp.route("/contracts")
@conditional
@allow_anonymous("read")
@blp.arguments(schemas.PublicListArgs, location="query", as_kwargs=True)
@blp.response(200, page_schema(schemas.PublicContractSchema))
def contracts(**args):
    """Signed contracts (never drafts), newest first, with their public terms."""
    stmt = _public_contracts(args)
    return _paged(
        page(stmt, [Key(Contract.id, descending=True)], args, scope="contracts", values=lambda c: (c.id,))
    )


@blp.route(f"/contracts/<{schemas.ROW_ID}:contract_id>")
@conditional
@allow_anonymous("read")
@blp.response(200, schemas.PublicContractSchema)
def contract(contract_id: int):
    """A signed contract's public summary (its parties' full view: ``/contracts/{id}/details``)."""
    c = db.session.get(Contract, contract_id)
    if c is None or not can(current_api_user(), "contract.public", c):
        _not_found(_("No signed contract has this id."))
    return c


@blp.route("/acceptances")
@conditional
@allow_anonymous("read")
@blp.arguments(schemas.PublicListArgs, location="query", as_kwargs=True)
@blp.response(200, page_schema(schemas.AcceptanceSchema))
def acceptances(**args):
    """Published acceptance results (验收结果), newest first."""
    stmt = listings.acceptances_query(_filters(args))
    return _paged(
        page(stmt, [Key(Acceptance.id, descending=True)], args, scope="acceptances", values=lambda a: (a.id,))
    )
