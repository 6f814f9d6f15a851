"""Marshmallow dump schemas per audience. The public schema carries only published information."""

from marshmallow import Schema, fields


class CriterionSchema(Schema):
    name = fields.String()
    weight = fields.Integer()
    is_price = fields.Boolean()


class DocumentSchema(Schema):
    filename = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class AmendmentSchema(Schema):
    number = fields.Integer()
    reason = fields.String()
    created_at = fields.DateTime()
    previous_deadline = fields.DateTime()
    new_deadline = fields.DateTime()


class PublicClarificationSchema(Schema):
    # Deliberately no asker: the person who asked is never published.
    question = fields.String()
    answer = fields.String()
    answered_at = fields.DateTime()


class PublicTenderSchema(Schema):
    id = fields.Integer()
    reference = fields.String()
    title = fields.String()
    description = fields.String()
    category = fields.String()
    district_code = fields.String()
    service_areas = fields.Function(lambda t: [d.code for d in t.service_areas])
    method = fields.String()
    evaluation_method = fields.String()
    budget_ceiling = fields.Decimal(as_string=True)
    funding_sources = fields.List(fields.String())
    contract_term_months = fields.Integer()
    eligibility = fields.String()
    reserved_for_small = fields.Boolean()
    bid_deadline = fields.DateTime()
    published_at = fields.DateTime()
    status = fields.Function(lambda t: t.display_status)
    agency = fields.Function(lambda t: t.agency.name)
    criteria = fields.List(fields.Nested(CriterionSchema))
    documents = fields.List(fields.Nested(DocumentSchema))
    amendments = fields.List(fields.Nested(AmendmentSchema))
    clarifications = fields.Function(
        lambda t: PublicClarificationSchema(many=True).dump([c for c in t.clarifications if c.answer])
    )
    cancel_reason = fields.String(allow_none=True)
