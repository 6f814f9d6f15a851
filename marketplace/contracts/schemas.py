"""Load schemas of the contract verbs' inputs: the one validation of what a form or the API sends.

Messages name the field as the pages do ("Title is required.", "Target 2: quantity must be more than
zero."). Rules that need the database or today's date (the award's value, the current terms, the
payments made) stay in the verbs, which use the same fields for what they parse (a milestone's new
amount is named after its deliverable).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, missing, post_load, pre_load, validates_schema

from marketplace.contracts.models import MILESTONE_KINDS
from marketplace.contracts.terms import (
    CENT,
    MAX_AMOUNT,
    MAX_QUANTITY,
    SCOPE_MAX,
    TEXT_MAX,
    check_term,
)
from marketplace.core.errors import RuleViolation
from marketplace.core.schemas import InputSchema, LocalDate, Text, parse_decimal

# --- fields ----------------------------------------------------------------------------------------


def blank(value) -> bool:
    """Nothing was entered: ``None`` or only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def required_messages(message) -> dict:
    """The messages of a field left out, empty or ``None``."""
    return {"required": message, "null": message, "blank": message}


class Day(LocalDate):
    """A date: an ISO string, bounded as ``LocalDate`` is, or a ``date`` a form has already parsed,
    taken as it is (the verb's rules then say what is wrong with it: outside the term, before the
    signature)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        return super()._deserialize(value, attr, data, **kwargs)


def _at_most(label, maximum: int):
    def check(value: str) -> None:
        if len(value) > maximum:
            raise ValidationError(
                _("%(label)s is too long (at most %(n)d characters).", label=str(label), n=maximum)
            )

    return check


def text(label, maximum: int, *, required: bool = True, multiline: bool = False, validate=()) -> Text:
    """Stripped text of at most ``maximum`` characters whose messages name ``label``; an optional one
    is "" when left out."""
    checks = [_at_most(label, maximum), *validate]
    options = {"required": True} if required else {"load_default": ""}
    return Text(
        multiline=multiline,
        validate=checks,
        error_messages=required_messages(_l("%(label)s is required.", label=label)),
        **options,
    )


class Amount(fields.Field):
    """An amount in yuan, 0 to ``maximum``, at most two decimals; messages name ``label``."""

    def __init__(self, label, *, maximum: Decimal = MAX_AMOUNT, **kwargs):
        kwargs.setdefault("error_messages", required_messages(_l("%(label)s is required.", label=label)))
        super().__init__(**kwargs)
        self.label, self.maximum = label, maximum

    def _deserialize(self, value, attr, data, **kwargs):
        if blank(value):
            raise self.make_error("required")
        label = str(self.label)
        amount = parse_decimal(value)
        if amount is None:
            raise ValidationError(_("%(label)s: enter an amount, for example 35000.00.", label=label))
        if amount < 0 or amount > self.maximum:
            raise ValidationError(
                _("%(label)s must be between 0 and %(max)s.", label=label, max=f"{self.maximum:,.2f}")
            )
        if amount != amount.quantize(CENT):
            raise ValidationError(_("%(label)s: at most two decimal places.", label=label))
        return amount


def more_than_zero(message):
    def check(value: Decimal) -> None:
        if value is not None and value <= 0:
            raise ValidationError(str(message))

    return check


class BlanksMissingSchema(InputSchema):
    """Left-out, ``None`` and blank values are all missing: a required field says it is required, an
    optional one takes its default."""

    @pre_load
    def _blanks_are_missing(self, data, **kwargs):
        if not isinstance(data, Mapping):
            return data
        return {k: v for k, v in data.items() if not blank(v)}


def field_value(field: fields.Field, value, field_name: str):
    """``value`` through ``field`` (blank is missing); an error is a ``ValidationError`` on
    ``field_name``."""
    try:
        return field.deserialize(missing if blank(value) else value)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, list) else [exc.messages]
        raise ValidationError(str(messages[0]), field_name) from None


def violation(exc: ValidationError) -> RuleViolation:
    """A verb's check of one value as the ``RuleViolation`` the pages show."""
    field_name, messages = next(iter(exc.normalized_messages().items()))
    return RuleViolation(str(messages[0]), field=None if field_name == "_schema" else field_name)


# --- rows of targets and milestones -----------------------------------------------------------------


def _row(row) -> Mapping:
    return row if isinstance(row, Mapping) else {}


def check_targets(rows: list) -> list[dict]:
    """At least one target; each with a name, a unit and a quantity more than zero."""
    if not rows:
        raise ValidationError(_("Add at least one service target."), "targets")
    checked = []
    for n, row in enumerate(map(_row, rows), 1):
        name = field_value(text(_("Target %(n)d: name", n=n), 200), row.get("name"), "targets")
        unit = field_value(text(_("Target %(n)d: unit", n=n), 40), row.get("unit"), "targets")
        label = _("Target %(n)d: quantity", n=n)
        positive = more_than_zero(_("%(label)s must be more than zero.", label=label))
        quantity = field_value(
            Amount(label, maximum=MAX_QUANTITY, required=True, validate=positive),
            row.get("quantity"),
            "targets",
        )
        checked.append({"name": name, "unit": unit, "quantity": quantity})
    return checked


def check_milestone(row, n: int, term_start: date, term_end: date, field_name: str) -> dict:
    """Milestone ``n``: a deliverable, a kind, a due date within the term and an amount."""
    row = _row(row)
    deliverable = field_value(
        text(_("Milestone %(n)d: deliverable", n=n), 300), row.get("deliverable"), field_name
    )
    kind = row.get("kind") or "delivery"
    if kind not in MILESTONE_KINDS:
        raise ValidationError(_("Milestone %(n)d: choose a kind.", n=n), field_name)
    due_date = field_value(
        Day(required=True, error_messages=required_messages(_("Milestone %(n)d: enter the due date.", n=n))),
        row.get("due_date"),
        field_name,
    )
    if not term_start <= due_date <= term_end:
        raise ValidationError(
            _(
                "Milestone %(n)d: the due date must fall within the term (%(start)s to %(end)s).",
                n=n,
                start=format_date(term_start, "medium"),
                end=format_date(term_end, "medium"),
            ),
            field_name,
        )
    amount = field_value(
        Amount(_("Milestone %(n)d: amount", n=n), required=True), row.get("amount"), field_name
    )
    return {
        "deliverable": deliverable,
        "kind": kind,
        "due_date": due_date,
        "amount": amount,
        "is_final": bool(row.get("is_final")),
    }


# --- the verbs' inputs ------------------------------------------------------------------------------


class ContractInputSchema(BlanksMissingSchema):
    """A draft contract: title, term, scope, targets and milestones (the value comes from the award)."""

    title = text(_l("Title"), 200)
    term_start = Day(required=True, error_messages=required_messages(_l("Enter the first day of the term.")))
    term_end = Day(required=True, error_messages=required_messages(_l("Enter the last day of the term.")))
    term_justification = text(_l("Justification"), TEXT_MAX, required=False, multiline=True)
    scope = text(_l("Scope"), SCOPE_MAX, required=False, multiline=True)
    targets = fields.List(fields.Raw(), load_default=list)
    milestones = fields.List(fields.Raw(), load_default=list)

    @validates_schema(skip_on_field_errors=True)
    def _term(self, data, **kwargs):
        try:
            check_term(data["term_start"], data["term_end"], data["term_justification"])
        except RuleViolation as exc:
            raise ValidationError(exc.message, exc.field) from None

    @post_load
    def _rows(self, data, **kwargs):
        data["targets"] = check_targets(data["targets"])
        if not data["milestones"]:
            raise ValidationError(_("Add at least one milestone."), "milestones")
        data["milestones"] = [
            check_milestone(row, n, data["term_start"], data["term_end"], "milestones")
            for n, row in enumerate(data["milestones"], 1)
        ]
        return data


class VariationTermsSchema(BlanksMissingSchema):
    """What a variation changes: the value, the end of the term, milestones ``{"id", "amount",
    "due_date"}`` (``"id": None`` with a deliverable and kind for a new one); anything left out stays.
    The milestone rows are checked by the verb against the current terms."""

    value = Amount(
        _l("New value"),
        load_default=None,
        validate=more_than_zero(_l("The contract value must be more than zero.")),
    )
    term_end = Day(load_default=None)
    term_justification = text(_l("Justification"), TEXT_MAX, required=False, multiline=True)
    milestones = fields.List(fields.Raw(), load_default=list)


class VariationRequestSchema(VariationTermsSchema):
    reason = text(_l("Reason"), TEXT_MAX, multiline=True)


class DecisionSchema(BlanksMissingSchema):
    """A decision on a variation: a note is required when rejecting."""

    approve = fields.Boolean(load_default=False)
    note = text(_l("Note"), TEXT_MAX, required=False, multiline=True)

    @validates_schema
    def _note_when_rejecting(self, data, **kwargs):
        if not data.get("approve") and not data.get("note"):
            raise ValidationError(_("%(label)s is required.", label=_("Note")), "note")


class TerminationSchema(BlanksMissingSchema):
    reason = text(_l("Reason"), TEXT_MAX, multiline=True)
    amount_paid = Amount(
        _l("Amount paid"),
        required=True,
        error_messages=required_messages(_l("Enter the amount paid in all (0 if nothing).")),
    )


class SignatureSchema(BlanksMissingSchema):
    """A signature: the reason is required when the signing deadline has passed (GPL 46; the verb
    decides, since it depends on the clock)."""

    late_reason = text(_l("Reason for the late signature"), TEXT_MAX, required=False, multiline=True)
