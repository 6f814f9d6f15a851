"""Dump schemas of /api/v1, one per audience (public / parties and auditors / auditors), and the query
schemas of its lists. Load schemas of the verbs stay in their packages (``package/schemas.py``).

The public schemas carry only what the public pages already show; nothing here reads a bid except an
award notice's winning bid, whose opening record exists (as ``transparency.listings``).
"""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields

from marketplace.api.paging import PageArgs
from marketplace.audit.history import kind_label
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.messages import render
from marketplace.core.schemas import LocalDate, Money, Text
from marketplace.tenders.schemas import AmendmentSchema, PublicTenderSchema

STRINGS = {"type": "array", "items": {"type": "string"}}
# The URL converter of a row id: an INTEGER column's range, so a larger number is a 404 (PostgreSQL
# would refuse to compare it), and the document says so. ``@blp.route(f"/x/<{ROW_ID}:x_id>")``.
ROW_ID = "int(min=1, max=2147483647)"


def decimal(**kwargs) -> fields.Decimal:
    """An amount or quantity as a string ("480000.00"): exact, never a binary float."""
    return fields.Decimal(as_string=True, metadata={"type": "string", "format": "decimal"}, **kwargs)


_CODE = ma.validate.Regexp(r"^[0-9]{6,12}$", error=_l("A district code is 6 to 12 digits."))


# --- public ------------------------------------------------------------------------------------------


class ApiAmendmentSchema(AmendmentSchema):
    previous_deadline = fields.DateTime(allow_none=True)
    new_deadline = fields.DateTime(allow_none=True)


class ClarificationSchema(ma.Schema):
    question = fields.String()
    answer = fields.String()
    answered_at = fields.DateTime(allow_none=True)


class TenderSchema(PublicTenderSchema):
    """The public tender (tenders.schemas.PublicTenderSchema), its computed fields typed."""

    reference = fields.String(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    budget_ceiling = decimal()
    service_areas = fields.Function(lambda t: [d.code for d in t.service_areas], metadata=STRINGS)
    status = fields.Function(lambda t: t.display_status, metadata={"type": "string"})
    agency = fields.Function(lambda t: t.agency.name, metadata={"type": "string"})
    amendments = fields.List(fields.Nested(ApiAmendmentSchema))
    clarifications = fields.Function(
        lambda t: ClarificationSchema(many=True).dump([c for c in t.clarifications if c.answer]),
        metadata={"type": "array", "items": {"type": "object"}},
    )


class TenderListArgs(PageArgs):
    """The public search's filters (tenders.search.TenderFilters) and its sorts."""

    q = Text(validate=ma.validate.Length(max=200), metadata={"description": "Words, all of them found"})
    category = fields.String(validate=ma.validate.OneOf(list(SERVICE_CATEGORIES)))
    district = fields.String(validate=_CODE, metadata={"description": "A district served (code)"})
    method = fields.String(validate=ma.validate.Length(max=40))
    status = fields.String(validate=ma.validate.OneOf(["open", "closed", "cancelled"]))
    budget_min = Money(minimum=0, maximum=1_000_000_000, metadata={"type": "string"})
    budget_max = Money(minimum=0, maximum=1_000_000_000, metadata={"type": "string"})
    deadline_from = LocalDate()
    deadline_to = LocalDate()
    sort = fields.String(
        validate=ma.validate.OneOf(["-id", "deadline", "-deadline", "budget", "-budget"]),
        metadata={"description": "Newest first (-id, the default), by deadline or by budget"},
    )


class OrganizationSchema(ma.Schema):
    """A verified organization, as the public directory shows it."""

    id = fields.Integer()
    name = fields.String()
    name_en = fields.String()
    uscc = fields.String(metadata={"description": "Unified social credit code"})
    org_type = fields.String()
    registered_district_code = fields.String()
    founded_on = fields.Date()
    categories = fields.List(fields.String())
    service_areas = fields.Function(lambda o: [d.code for d in o.service_areas], metadata=STRINGS)
    rating = fields.String()
    small_org_declared = fields.Boolean()
    status = fields.String()
    verified_at = fields.DateTime(allow_none=True)


class OrganizationListArgs(PageArgs):
    q = Text(validate=ma.validate.Length(max=200))
    category = fields.String(validate=ma.validate.OneOf(list(SERVICE_CATEGORIES)))
    area = fields.String(validate=_CODE, metadata={"description": "A service area (district code)"})


class PartySchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()


class AwardNoticeSchema(ma.Schema):
    id = fields.Integer()
    tender_id = fields.Integer()
    tender_reference = fields.Function(
        lambda a: a.tender.reference, metadata={"type": "string", "nullable": True}
    )
    tender_title = fields.Function(lambda a: a.tender.title, metadata={"type": "string"})
    agency = fields.Function(
        lambda a: {"id": a.tender.agency.id, "name": a.tender.agency.name}, metadata={"type": "object"}
    )
    winner = fields.Function(
        lambda a: {"id": a.bid.organization.id, "name": a.bid.organization.name}, metadata={"type": "object"}
    )
    awarded_price = fields.Function(
        lambda a: None if a.bid.price is None else str(a.bid.price),
        metadata={"type": "string", "nullable": True},
    )
    status = fields.String()
    published_at = fields.DateTime()
    notice_ends_at = fields.DateTime()
    challenge_deadline = fields.DateTime()
    final_at = fields.DateTime(allow_none=True)


class PublicListArgs(PageArgs):
    """The transparency pages' filters (transparency.filters.Filters)."""

    category = fields.String(validate=ma.validate.OneOf(list(SERVICE_CATEGORIES)))
    district = fields.String(validate=_CODE, metadata={"description": "A county includes its streets"})
    year = fields.Integer(validate=ma.validate.Range(min=2000, max=2100))


class TargetSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    unit = fields.String()
    quantity = decimal()


class MilestoneTermSchema(ma.Schema):
    id = fields.Integer()
    position = fields.Integer()
    deliverable = fields.String()
    kind = fields.String()
    due_date = fields.Date()
    amount = decimal()
    is_final = fields.Boolean()


class DocumentMetaSchema(ma.Schema):
    """A document's metadata; its content is never in the API."""

    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_at = fields.DateTime()


class PublicContractSchema(ma.Schema):
    """A signed contract's public summary (the contract summary page)."""

    id = fields.Integer()
    reference = fields.String()
    title = fields.String()
    tender_id = fields.Integer()
    status = fields.String()
    agency = fields.Nested(PartySchema)
    organization = fields.Nested(PartySchema)
    value = decimal()
    original_value = decimal()
    term_start = fields.Date()
    term_end = fields.Date()
    activated_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    terminated_at = fields.DateTime(allow_none=True)
    targets = fields.List(fields.Nested(TargetSchema))
    milestones = fields.List(fields.Nested(MilestoneTermSchema))


class AcceptanceSchema(ma.Schema):
    id = fields.Integer()
    contract_id = fields.Integer()
    result = fields.String()
    summary = fields.String()
    communities = fields.List(fields.String())
    accepted_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)


# --- the parties and auditors ------------------------------------------------------------------------


class SubmissionSchema(ma.Schema):
    id = fields.Integer()
    report = fields.String()
    submitted_at = fields.DateTime()
    decision = fields.String(allow_none=True)
    decision_reason = fields.String()
    decided_at = fields.DateTime(allow_none=True)
    documents = fields.List(fields.Nested(DocumentMetaSchema))


class MilestoneSchema(MilestoneTermSchema):
    status = fields.String()
    met_on = fields.Date(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    overdue_days = fields.Integer(allow_none=True)
    submissions = fields.List(fields.Nested(SubmissionSchema))


class ProgressReportSchema(ma.Schema):
    id = fields.Integer()
    period_start = fields.Date()
    period_end = fields.Date()
    summary = fields.String()
    issues = fields.String()
    submitted_at = fields.DateTime()


class PaymentSchema(ma.Schema):
    id = fields.Integer()
    milestone_id = fields.Integer(allow_none=True)
    paid_on = fields.Date()
    amount = decimal()
    reference = fields.String()
    recorded_at = fields.DateTime()


class ContractDocumentSchema(DocumentMetaSchema):
    public = fields.Boolean()


class VariationSchema(ma.Schema):
    id = fields.Integer()
    reason = fields.String()
    status = fields.String()
    changes = fields.Dict()
    previous = fields.Dict()
    requested_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String()


class ServiceTotalSchema(ma.Schema):
    target_id = fields.Integer(allow_none=True)
    records = fields.Integer()
    quantity = decimal()
    beneficiaries = fields.Integer()
    hours = decimal()


class ContractDetailsSchema(PublicContractSchema):
    """What the parties, auditors and admins see of a contract (drafts too)."""

    scope = fields.String()
    term_justification = fields.String()
    created_at = fields.DateTime()
    officer_signed_at = fields.DateTime(allow_none=True)
    org_signed_at = fields.DateTime(allow_none=True)
    termination_reason = fields.String(allow_none=True)
    termination_amount_paid = decimal(allow_none=True)
    milestones = fields.List(fields.Nested(MilestoneSchema))
    progress_reports = fields.List(fields.Nested(ProgressReportSchema))
    service_totals = fields.List(fields.Nested(ServiceTotalSchema))
    payments = fields.List(fields.Nested(PaymentSchema))
    variations = fields.List(fields.Nested(VariationSchema))
    documents = fields.List(fields.Nested(ContractDocumentSchema))
    acceptance = fields.Nested(AcceptanceSchema, allow_none=True)


class ContractListArgs(PageArgs):
    pass


# --- auditors ----------------------------------------------------------------------------------------


class HistoryEntrySchema(ma.Schema):
    """One step of a contract's history (audit.history.Entry), as the history page and export show it."""

    at = fields.DateTime()
    kind = fields.String()
    kind_label = fields.Function(lambda e: kind_label(e.kind), metadata={"type": "string"})
    action = fields.String()
    text = fields.String()
    party = fields.String()
    account = fields.String()
    event_id = fields.Integer(allow_none=True)


class HistorySchema(ma.Schema):
    contract_id = fields.Integer()
    reference = fields.String()
    entries = fields.List(fields.Nested(HistoryEntrySchema))


class AuditEventSchema(ma.Schema):
    id = fields.Integer()
    seq = fields.Integer(allow_none=True, metadata={"description": "Position in the hash chain, once sealed"})
    occurred_at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_label = fields.String()
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    summary = fields.Function(lambda e: render(e.summary, e.params), metadata={"type": "string"})
    changes = fields.Dict(allow_none=True)
    tender_id = fields.Integer(allow_none=True)
    hash = fields.String(allow_none=True)


class AuditEventArgs(PageArgs):
    """The audit log page's filter (audit.log_query.EventFilter)."""

    object_type = Text(validate=ma.validate.Length(max=64))
    object_id = Text(validate=ma.validate.Length(max=64))
    actor = Text(validate=ma.validate.Length(max=255), metadata={"description": "Part of the actor's email"})
    action = Text(validate=ma.validate.Length(max=64))
    date_from = LocalDate(data_key="from")
    date_to = LocalDate(data_key="to")


class AuditContractArgs(PageArgs):
    """The exports' filter (audit.filters, audit.schemas.ContractFilterSchema); checked by that schema."""

    district = fields.String(metadata={"description": "A county code"})
    agency = fields.String(metadata={"description": "An agency id"})
    organization = fields.String(metadata={"description": "An organization id"})
    category = fields.String()
    date_from = fields.String(data_key="from", metadata={"description": "YYYY-MM-DD, the contract date"})
    date_to = fields.String(data_key="to", metadata={"description": "YYYY-MM-DD"})
    status = fields.String()


class TokenInfoSchema(ma.Schema):
    """The token a request was made with, and its user."""

    name = fields.String()
    prefix = fields.String()
    scopes = fields.List(fields.String())
    expires_at = fields.DateTime()
    user = fields.Function(
        lambda t: {"id": t.user.id, "email": t.user.email, "role": t.user.role}, metadata={"type": "object"}
    )
