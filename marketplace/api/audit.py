"""/api/v1 for auditors and admins (scope ``audit:read``): a contract's history (the history page's
and export's timeline), the audit log with the audit log page's filter, and the contracts matching the
exports' filter. Bid events stay hidden until their tender's bids are opened, as on the pages."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import Blueprint, abort

from marketplace.api import schemas
from marketplace.api.auth import current_api_user, require_scope
from marketplace.api.conditional import conditional
from marketplace.api.contracts import details
from marketplace.api.paging import Key, link_header, page, page_schema
from marketplace.audit import filters as contract_filters
from marketplace.audit import history as timeline
from marketplace.audit import log_query
from marketplace.audit.models import AuditEvent
from marketplace.audit.sealed import sealed_bid_event_filter
from marketplace.contracts.models import Contract
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import can
from marketplace.extensions import db

blp = Blueprint("api_audit", __name__, url_prefix="/api/v1", description="Audit: histories and the audit log")


def _auditor():
    user = current_api_user()
    if not can(user, "audit.view"):
        abort(403, message=_("Only auditors and administrators can read this."))
    return user


@blp.route(f"/contracts/<{schemas.ROW_ID}:contract_id>/history")
@conditional
@require_scope("audit:read")
@blp.response(200, schemas.HistorySchema)
def contract_history(contract_id: int):
    """A contract's history from the tender's draft to the last payment, oldest first."""
    _auditor()
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        abort(404, message=_("No contract has this id."))
    return {
        "contract_id": contract.id,
        "reference": contract.reference,
        "entries": timeline.history(contract),
    }


@blp.route("/audit/events")
@conditional
@require_scope("audit:read")
@blp.arguments(schemas.AuditEventArgs, location="query", as_kwargs=True)
@blp.response(200, page_schema(schemas.AuditEventSchema))
def audit_events(**args):
    """The audit log, newest first, with the audit log page's filter."""
    _auditor()
    if args.get("date_from") and args.get("date_to") and args["date_to"] < args["date_from"]:
        abort(422, errors={"to": [_("The end date cannot be before the start date.")]})
    f = log_query.EventFilter(
        object_type=args.get("object_type") or "",
        object_id=args.get("object_id") or "",
        actor=args.get("actor") or "",
        action=args.get("action") or "",
        date_from=args.get("date_from"),
        date_to=args.get("date_to"),
    )
    stmt = log_query.events_query(f, visible=sealed_bid_event_filter())
    result = page(stmt, [Key(AuditEvent.id, descending=True)], args, scope="events", values=lambda e: (e.id,))
    body = {"items": result.items, "next_cursor": result.next_cursor, "limit": result.limit}
    return body, link_header(result.next_cursor)


@blp.route("/audit/contracts")
@conditional
@require_scope("audit:read")
@blp.arguments(schemas.AuditContractArgs, location="query", as_kwargs=True)
@blp.response(200, page_schema(schemas.ContractDetailsSchema))
def audit_contracts(**args):
    """Contracts matching the exports' filter (drafts too), newest first, each in full."""
    _auditor()
    raw = {
        name: args[key]
        for key, name in (
            ("district", "district"),
            ("agency", "agency"),
            ("organization", "organization"),
            ("category", "category"),
            ("date_from", "from"),
            ("date_to", "to"),
            ("status", "status"),
        )
        if args.get(key)
    }
    try:
        f = contract_filters.parse_filter(raw)
    except RuleViolation as exc:
        errors = getattr(exc, "errors", None) or {exc.field or "_schema": [exc.message]}
        abort(422, message=exc.message, errors=errors)
    stmt = contract_filters.contracts_query(f)
    result = page(
        stmt, [Key(Contract.id, descending=True)], args, scope="audit-contracts", values=lambda c: (c.id,)
    )
    body = {
        "items": [details(c) for c in result.items],
        "next_cursor": result.next_cursor,
        "limit": result.limit,
    }
    return body, link_header(result.next_cursor)
