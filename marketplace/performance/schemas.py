"""Load schemas of the performance verbs' inputs: the one validation of what a form or the API sends.

The score sheet's schema is made per template (:func:`score_sheet_schema`): each leaf has its own
maximum, and its fields carry the score form's names (``points_<id>``, ``ratio_<id>``,
``evidence_<id>``, …) so that every message lands next to its field. Rules that need the database
(a changed prefilled value needs a reason; the round's state) stay in the verbs.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from marketplace.contracts.personal_data import looks_like_identity_number, looks_like_phone_number
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.schemas import InputSchema, Text, parse_decimal
from marketplace.performance import scoring
from marketplace.performance.models import Indicator

TEXT_MAX = 5000
RATIO_MAX = Decimal("100")


def _required(message) -> dict:
    """The messages of a field left out, ``None`` or blank."""
    return {"required": message, "null": message, "blank": message}


def _at_most(label, maximum: int):
    def check(value: str) -> None:
        if len(value) > maximum:
            raise ValidationError(
                _("%(label)s is too long (at most %(n)d characters).", label=str(label), n=maximum)
            )

    return check


def text(label, maximum: int, *, required: bool = True, multiline: bool = False) -> Text:
    """Stripped text of at most ``maximum`` characters whose messages name ``label``; an optional one
    is "" when left out."""
    options = {"required": True} if required else {"load_default": ""}
    return Text(
        multiline=multiline,
        validate=[_at_most(label, maximum)],
        error_messages=_required(_l("%(label)s is required.", label=label)),
        **options,
    )


class _Input(InputSchema):
    """``None`` is missing: a required field says it is required, an optional one takes its default."""

    @pre_load
    def _none_is_missing(self, data, **kwargs):
        if not isinstance(data, Mapping):
            return data
        return {k: v for k, v in data.items() if v is not None}


# --- the score sheet ------------------------------------------------------------------------------


class Score(fields.Field):
    """A leaf's points (or ratio): a number from 0 to ``maximum`` with at most ``places`` decimals;
    blank is no score (``None``). Messages name the indicator."""

    def __init__(self, label: str, *, maximum: Decimal, places: Decimal, **kwargs):
        super().__init__(load_default=None, **kwargs)
        self.label, self.maximum, self.places = label, Decimal(maximum), places

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not value.strip():
            return None
        number = parse_decimal(value)
        if number is None:
            raise ValidationError(_("%(label)s: enter a number.", label=self.label))
        if number < 0 or number > self.maximum:
            raise ValidationError(
                _("%(label)s must be between 0 and %(max)s.", label=self.label, max=self.maximum)
            )
        if number != number.quantize(self.places):
            raise ValidationError(_("%(label)s has too many decimals.", label=self.label))
        return number


def value_field(leaf: Indicator) -> str:
    """The field a leaf's value is entered in: its ratio (ratio leaves) or its points."""
    return f"ratio_{leaf.id}" if leaf.rule == "ratio" else f"points_{leaf.id}"


def score_sheet_schema(leaves: list[Indicator]) -> InputSchema:
    """The overall comment, then per leaf: the reason for changing a prefilled value, the evidence,
    the comment, and the value (ratio or points, within the leaf's maximum)."""
    declared: dict[str, fields.Field] = {
        "summary": text(_l("Overall comment"), TEXT_MAX, required=False, multiline=True)
    }
    for leaf in leaves:
        declared[f"reason_{leaf.id}"] = text(_l("Reason"), TEXT_MAX, required=False, multiline=True)
        declared[f"evidence_{leaf.id}"] = text(_l("Evidence"), TEXT_MAX, required=False, multiline=True)
        declared[f"comment_{leaf.id}"] = text(_l("Comment"), TEXT_MAX, required=False, multiline=True)
        if leaf.rule == "ratio":
            value = Score(leaf.name, maximum=RATIO_MAX, places=scoring.RATIO_PLACES)
        else:
            value = Score(leaf.name, maximum=Decimal(leaf.weight), places=scoring.CENT)
        declared[value_field(leaf)] = value
    return _Input.from_dict(declared, name="ScoreSheetInputSchema")()


def flatten_scores(scores: Mapping, summary: str = "") -> dict:
    """``{leaf id: {"points", "ratio", "evidence", "comment", "override_reason"}}`` as the score
    form's fields (``points_<id>``, …), the shape :func:`score_sheet_schema` loads."""
    flat = {"summary": summary}
    for leaf_id, entry in scores.items():
        entry = entry or {}
        flat[f"points_{leaf_id}"] = entry.get("points")
        flat[f"ratio_{leaf_id}"] = entry.get("ratio")
        flat[f"evidence_{leaf_id}"] = entry.get("evidence")
        flat[f"comment_{leaf_id}"] = entry.get("comment")
        flat[f"reason_{leaf_id}"] = entry.get("override_reason")
    return flat


# --- rounds and templates -------------------------------------------------------------------------


class DeclarationInputSchema(_Input):
    """The assessor's declaration: no conflict, or a conflict with a statement."""

    no_conflict = fields.Boolean(required=True)
    statement = text(_l("Statement"), TEXT_MAX, required=False, multiline=True)

    @validates_schema(skip_on_field_errors=True)
    def _statement_for_a_conflict(self, data, **kwargs) -> None:
        if not data["no_conflict"] and not data["statement"]:
            raise ValidationError(_("%(label)s is required.", label=_("Statement")), "statement")


class TemplateCopyInputSchema(_Input):
    """A copy of a template for a service category (the verb names it after the original when no
    name is given)."""

    category = fields.String(
        required=True,
        error_messages=_required(_l("Choose a service category.")),
        validate=validate.OneOf(list(SERVICE_CATEGORIES), error=_l("Choose a service category.")),
    )
    name = Text(load_default="")


# --- the survey -----------------------------------------------------------------------------------

# The questions, each answered 1 (very dissatisfied) to 5 (very satisfied). Fixed in code so every
# contract's results compare; the keys are what ``SurveyResponse.answers`` stores.
QUESTIONS = (
    ("q1", _l("Overall, how satisfied are you with the service?")),
    ("q2", _l("Were the staff courteous and respectful?")),
    ("q3", _l("Did the service come when it was promised?")),
    ("q4", _l("Has the service made a real difference for you?")),
)
SCALE = range(1, 6)
# Beyond this a comment is refused outright; between SURVEY_COMMENT_MAX and this it is kept but held.
COMMENT_HARD_MAX = 5000


class Answer(fields.Field):
    """One answer, 1 to 5 (a number or its digit)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            number = None
        if number not in SCALE:
            raise ValidationError(_("Choose an answer from 1 to 5 for every question."))
        return number


def _comment_fits(comment: str) -> None:
    if len(comment) > COMMENT_HARD_MAX:
        raise ValidationError(_("The comment is too long (at most %(n)d characters).", n=COMMENT_HARD_MAX))
    # The form asks for no personal details; the comment may be shown to the public (the shared checks
    # of contracts.personal_data, as for service records).
    if looks_like_phone_number(comment) or looks_like_identity_number(comment):
        raise ValidationError(
            _(
                "Remove the phone number or identity number: comments are anonymous and must not hold "
                "anyone's contact details."
            )
        )


def _survey_schema() -> type[InputSchema]:
    """One answer per question and an optional comment (``None`` is no comment)."""
    message = _l("Choose an answer from 1 to 5 for every question.")
    declared: dict[str, fields.Field] = {
        key: Answer(required=True, error_messages=_required(message)) for key, _label in QUESTIONS
    }
    declared["comment"] = Text(multiline=True, load_default="", validate=[_comment_fits])
    return _Input.from_dict(declared, name="SurveyAnswerInputSchema")


SurveyAnswerInputSchema = _survey_schema()
