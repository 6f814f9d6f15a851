"""Load schemas of the evaluation and award verbs' inputs: the one validation of what the committee
pages (or the API) send. What depends on the tender (its bids, criteria, ranking) is the verbs' check."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load, pre_load, validate, validates_schema
from marshmallow.validate import OneOf

from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.schemas import LocalDate, Points
from marketplace.tenders.fields import Input, blank, choice, integer, text

REASON_MAX = 5000
NOTE_MAX = 2000
OUTCOMES = ("reevaluate", "fail")
PASS_OVER_GROUNDS = ("withdrew", "disqualified", "failed_to_sign")


class DeclarationInputSchema(Input):
    bid_id = fields.Integer(required=True)
    conflict = fields.Boolean(load_default=False)
    note = text(_l("Note"), NOTE_MAX, required=False)


class DeclarationsInputSchema(Input):
    """A member's declaration about every opened bid."""

    entries = fields.List(fields.Nested(DeclarationInputSchema), required=True)


class QualificationInputSchema(Input):
    """Passed or failed; a failure needs its reason."""

    passed = fields.Boolean(required=True)
    reason = text(_l("Reason"), REASON_MAX, required=False, multiline=True)

    @validates_schema
    def _reason_of_a_failure(self, data, **kwargs):
        if not data["passed"] and not data["reason"]:
            raise ValidationError(_("%(label)s is required.", label=_("Reason")), "reason")


class PriceReviewInputSchema(Input):
    accepted = fields.Boolean(required=True)
    justification = text(_l("Justification"), REASON_MAX, multiline=True)


class ScoreInputSchema(Input):
    bid_id = fields.Integer(required=True)
    criterion_id = fields.Integer(required=True)
    # At most the criterion's weight: the verb knows it.
    points = Points(
        load_default=None,
        allow_none=True,
        error_messages={
            "invalid": _l("Scores are numbers."),
            "places": _l("Scores have at most two decimal places."),
            "range": _l("A score is from 0 to the criterion's weight."),
        },
    )
    comment = text(_l("Comment"), NOTE_MAX, required=False)

    @pre_load
    def _blank_is_not_scored(self, data, **kwargs):
        if isinstance(data, dict) and blank(data.get("points")):
            return {k: v for k, v in data.items() if k != "points"}
        return data


class ScoresInputSchema(Input):
    """A member's points and comments, one entry per (bid, criterion); an entry without points is
    not scored yet."""

    entries = fields.List(fields.Nested(ScoreInputSchema), load_default=list)


class AwardInputSchema(Input):
    """Why the chosen bid (required unless it ranked first: the verb knows the rank)."""

    reason = text(_l("Reason"), REASON_MAX, required=False, multiline=True)


class PassOverInputSchema(Input):
    """Why the next candidate in rank order is passed over: its ground and the facts."""

    ground = fields.String(
        required=True,
        validate=OneOf(PASS_OVER_GROUNDS, error=_l("Choose why the candidate is passed over.")),
        error_messages={"required": _l("Choose why the candidate is passed over.")},
    )
    reason = text(_l("Reason"), REASON_MAX, multiline=True)


class ChallengeInputSchema(Input):
    grounds = text(_l("Grounds"), REASON_MAX, multiline=True)


class ChallengeAnswerInputSchema(Input):
    """Dismissed or upheld, with the answer; an upheld challenge says what follows."""

    upheld = fields.Boolean(required=True)
    answer = text(_l("Answer"), REASON_MAX, multiline=True)
    outcome = fields.String(load_default=None, allow_none=True)

    @validates_schema
    def _outcome_of_an_upheld_challenge(self, data, **kwargs):
        if data["upheld"] and data["outcome"] not in OUTCOMES:
            raise ValidationError(
                _("An upheld challenge sends the tender back to evaluation or fails it."), "outcome"
            )


# --- the expert pool and the draws ------------------------------------------------------------------

EMPLOYER_MAX = 200
AVAILABILITIES = ("available", "unavailable")
MAX_DRAWN = 25  # experts appointed by one draw
MAX_RESERVES = 10


def _optional_id(**kwargs) -> fields.Integer:
    return fields.Integer(
        load_default=None,
        allow_none=True,
        strict=False,
        error_messages={"invalid": _l("Choose one of the listed entries.")},
        **kwargs,
    )


class _DropBlankIds(Input):
    """A select box left on "none" sends an empty string: that is no id."""

    OPTIONAL_IDS: tuple[str, ...] = ()

    @pre_load
    def _blank_is_none(self, data, **kwargs):
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (k in self.OPTIONAL_IDS and blank(v))}
        return data


class ExpertInputSchema(_DropBlankIds):
    """A pool entry's categories, districts, employer and availability (the verb checks that the
    districts, organization and agency exist)."""

    OPTIONAL_IDS = ("employer_organization_id", "employer_agency_id", "unavailable_until")

    categories = fields.List(
        choice(SERVICE_CATEGORIES, _l("Choose categories from the list.")),
        required=True,
        validate=validate.Length(min=1, error=_l("Choose at least one category.")),
        error_messages={"required": _l("Choose at least one category.")},
    )
    district_codes = fields.List(fields.String(validate=validate.Length(max=12)), load_default=list)
    employer = text(_l("Employer"), EMPLOYER_MAX, required=False)
    employer_organization_id = _optional_id()
    employer_agency_id = _optional_id()
    availability = choice(AVAILABILITIES, _l("Choose available or unavailable."), load_default="available")
    unavailable_until = LocalDate(load_default=None, allow_none=True)

    @post_load
    def _until_only_when_unavailable(self, data, **kwargs):
        if data["availability"] == "available":
            data["unavailable_until"] = None
        return data


class NewExpertInputSchema(ExpertInputSchema):
    user_id = fields.Integer(
        required=True,
        strict=False,
        error_messages={
            "required": _l("Choose the evaluator account."),
            "null": _l("Choose the evaluator account."),
            "invalid": _l("Choose the evaluator account."),
        },
    )

    @pre_load
    def _blank_user(self, data, **kwargs):
        if isinstance(data, dict) and blank(data.get("user_id")):
            return {k: v for k, v in data.items() if k != "user_id"}
        return data


class DrawInputSchema(_DropBlankIds):
    """A draw for the committee: the category, how many experts sit on it, how many reserves follow,
    and the buyer's representative who completes it (optional)."""

    OPTIONAL_IDS = ("buyer_rep_id",)

    category = choice(SERVICE_CATEGORIES, _l("Choose a category from the list."))
    experts = integer(_l("Draw from 1 to %(n)d experts.", n=MAX_DRAWN), 1, MAX_DRAWN, required=True)
    reserves = integer(_l("Draw from 0 to %(n)d reserves.", n=MAX_RESERVES), 0, MAX_RESERVES, load_default=2)
    buyer_rep_id = _optional_id()


class ReserveDrawInputSchema(Input):
    """A further draw of reserves, when a member withdrew and no reserve is left."""

    category = choice(SERVICE_CATEGORIES, _l("Choose a category from the list."))
    reserves = integer(_l("Draw from 1 to %(n)d reserves.", n=MAX_RESERVES), 1, MAX_RESERVES, required=True)
