"""Marshmallow schemas: the dump schemas per audience (the public one carries only published
information) and the load schemas of the tender verbs' inputs (the one validation of what a form or
the API sends)."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validates_schema

from marketplace.core.catalogue import FUNDING_SOURCES, SERVICE_CATEGORIES
from marketplace.tenders import procedures
from marketplace.tenders.fields import (
    Budget,
    Input,
    LocalDateTime,
    choice,
    integer,
    not_blank,
    required_messages,
    text,
)

TITLE_MAX = 200
TEXT_MAX = 20000
SHORT_TEXT_MAX = 2000
CRITERION_NAME_MAX = 200
CONTRACT_TERM_MESSAGE = _l("The contract term is 1 to 36 months (MOF Order 102, art. 24).")


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


# --- load schemas: the verbs' inputs ---------------------------------------------------------------


class CriterionInputSchema(Input):
    name = text(_l("Criterion name"), CRITERION_NAME_MAX)
    weight = integer(_l("Each criterion weight must be between 1 and 100."), 1, 100, required=True)
    description = text(_l("Criterion description"), SHORT_TEXT_MAX, required=False, multiline=True)


def _funding_sources(value: list) -> None:
    if not value or any(s not in FUNDING_SOURCES for s in value):
        raise ValidationError(_("Choose at least one funding source from the list."))


class TenderInputSchema(Input):
    """A draft tender, as the form (or the API) sends it. The district, the service areas and the
    deadline against the clock are checked by the verb (they need the database or "now")."""

    title = text(_l("Title"), TITLE_MAX)
    description = text(_l("Description"), TEXT_MAX, multiline=True)
    category = choice(SERVICE_CATEGORIES, _l("Choose a service category from the list."), required=True)
    district_code = fields.String(
        required=True, error_messages=required_messages(_l("Choose a district from the list."))
    )
    service_area_codes = fields.List(fields.String(), load_default=list)
    method = choice(procedures.PROFILES, _l("Choose a procurement method from the list."), required=True)
    evaluation_method = choice(
        procedures.EVALUATION_METHODS, _l("Choose an evaluation method from the list."), required=True
    )
    budget_ceiling = Budget(required=True)
    funding_sources = fields.List(
        fields.String(),
        required=True,
        validate=_funding_sources,
        error_messages=required_messages(_l("Choose at least one funding source from the list.")),
    )
    contract_term_months = integer(CONTRACT_TERM_MESSAGE, 1, 36, required=True)
    eligibility = text(_l("Eligibility requirements"), TEXT_MAX, required=False, multiline=True)
    bid_deadline = LocalDateTime(required=True, error_messages=required_messages(_l("Set the bid deadline.")))
    price_weight = fields.Integer(load_default=None, allow_none=True)
    criteria = fields.List(fields.Nested(CriterionInputSchema), load_default=list)
    reserved_for_small = fields.Boolean(load_default=False)
    # No bid or performance bond (IR 33, 48); left out, the platform's default (BONDS_WAIVED_BY_DEFAULT).
    bonds_waived = fields.Boolean(load_default=lambda: bool(current_app.config["BONDS_WAIVED_BY_DEFAULT"]))
    contact_name = text(_l("Contact person"), 100, required=False)
    contact_phone = text(_l("Contact phone"), 40, required=False)
    contact_email = text(_l("Contact email"), 254, required=False)

    @validates_schema
    def _weights(self, data, **kwargs):
        check_weights(data["method"], data["evaluation_method"], data.get("price_weight"), data["criteria"])


def check_weights(
    method: str, evaluation_method: str, price_weight: int | None, criteria: list[dict]
) -> None:
    """Price weight within the procedure's range, distinct criteria, weights adding up to 100."""
    if evaluation_method == "lowest_price":
        if criteria or price_weight != 100:
            raise ValidationError(
                _(
                    "Under the lowest evaluated price method, price carries the whole weight (100) and there "
                    "are no scored criteria."
                ),
                "price_weight",
            )
        return
    prof = procedures.profile(method)
    if price_weight is None or not prof.price_weight_min <= price_weight <= prof.price_weight_max:
        raise ValidationError(
            _(
                "The price weight for this method must be between %(lo)d and %(hi)d.",
                lo=prof.price_weight_min,
                hi=prof.price_weight_max,
            ),
            "price_weight",
        )
    names = [c["name"] for c in criteria]
    duplicate = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if duplicate is not None:
        raise ValidationError(_("Criterion names must differ: %(name)s", name=duplicate), "criteria")
    if not criteria:
        raise ValidationError(
            _("Comprehensive scoring needs at least one scored criterion besides price."), "criteria"
        )
    total = price_weight + sum(c["weight"] for c in criteria)
    if total != 100:
        raise ValidationError(
            _("The weights must add up to 100; they add up to %(total)d.", total=total), "criteria"
        )


class AmendmentInputSchema(Input):
    """An amendment: its reason and the fields it changes (a field left out or ``None`` stays)."""

    reason = text(_l("Reason"), SHORT_TEXT_MAX, multiline=True)
    description = text(
        _l("Description"),
        TEXT_MAX,
        required=False,
        multiline=True,
        load_default=None,
        allow_none=True,
        validate=[not_blank(_l("Description"))],
    )
    budget_ceiling = Budget(load_default=None, allow_none=True)
    contract_term_months = integer(CONTRACT_TERM_MESSAGE, 1, 36, load_default=None, allow_none=True)
    bid_deadline = LocalDateTime(load_default=None, allow_none=True)
    contact_name = text(_l("Contact person"), 100, required=False, load_default=None, allow_none=True)
    contact_phone = text(_l("Contact phone"), 40, required=False, load_default=None, allow_none=True)
    contact_email = text(_l("Contact email"), 254, required=False, load_default=None, allow_none=True)
    # The officer's classification: could the change affect bids (substantive: the 15-day rule applies
    # and bids are re-confirmed) or not (contact details, typos: the deadline does not move)?
    substantive = fields.Boolean(load_default=True)


class CancellationInputSchema(Input):
    reason = text(_l("Reason"), SHORT_TEXT_MAX, multiline=True)


class QuestionInputSchema(Input):
    question = text(_l("Question"), SHORT_TEXT_MAX, multiline=True)


class AnswerInputSchema(Input):
    answer = text(_l("Answer"), TEXT_MAX, multiline=True)
    # An answer that changes the tender documents is an amendment (IR 31; O87 27): the officer says so,
    # and gives the new deadline when fewer than 15 days remain.
    changes_documents = fields.Boolean(load_default=False)
    bid_deadline = LocalDateTime(load_default=None, allow_none=True)


# --- invitations (invited tender, O87 art 14) ------------------------------------------------------

MAX_DRAW = 20
DRAW_COUNT_MESSAGE = _l("Draw between 1 and %(n)d organizations.", n=MAX_DRAW)


class DrawInputSchema(Input):
    """A random draw from the qualified pool: how many organizations to invite."""

    count = integer(DRAW_COUNT_MESSAGE, 1, MAX_DRAW, required=True)


class RecommendationInputSchema(Input):
    """A written recommendation (书面推荐): the organization, who recommends it and why."""

    organization_id = integer(
        _l("Choose an organization from the qualified pool."), 1, 2**31 - 1, required=True
    )
    recommended_by = text(_l("Recommended by"), 200)
    reason = text(_l("Written reason"), SHORT_TEXT_MAX, multiline=True)
