"""Load schemas of the evaluation and award verbs' inputs: the one validation of what the committee
pages (or the API) send. What depends on the tender (its bids, criteria, ranking) is the verbs' check."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, pre_load, validates_schema

from marketplace.core.schemas import Points
from marketplace.tenders.fields import Input, blank, text

REASON_MAX = 5000
NOTE_MAX = 2000
OUTCOMES = ("reevaluate", "fail")


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
