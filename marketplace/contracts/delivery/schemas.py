"""Load schemas of the delivery verbs' inputs (service records, reports, milestone decisions, final
acceptance, payments). Free text is screened for resident identity numbers here; rules that need the
contract (dates within its term, its targets and area, what remains to be paid) stay in the verbs."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load, validates_schema

from marketplace.contracts.labels import ACCEPTANCE_RESULTS, ACTIVITY_TYPES
from marketplace.contracts.personal_data import no_identity_number, no_phone_number
from marketplace.contracts.schemas import (
    BlanksMissingSchema,
    Day,
    blank,
    field_value,
    required_messages,
    text,
)
from marketplace.core.schemas import parse_decimal

TEXT_MAX = 5000
NOTES_MAX = 2000
NAME_MAX = 60
MAX_REPRESENTATIVES = 6
REFERENCE_MAX = 100
# Numeric(12, 2) / Numeric(8, 2) / Integer bounds of the columns, so nothing overflows at the database.
QUANTITY_MAX = Decimal("9999999999.99")
HOURS_MAX = Decimal("999999.99")
BENEFICIARIES_MAX = 1_000_000
AMOUNT_MAX = Decimal("999999999999.99")  # Numeric(14, 2)
CENT = Decimal("0.01")


class Count(fields.Field):
    """A non-negative quantity (rounded to the cent) up to ``maximum``; left out, it is 0."""

    def __init__(self, label, *, maximum: Decimal, **kwargs):
        kwargs.setdefault("load_default", Decimal("0.00"))
        super().__init__(**kwargs)
        self.label, self.maximum = label, maximum

    def _deserialize(self, value, attr, data, **kwargs):
        label = str(self.label)
        number = Decimal("0") if blank(value) else parse_decimal(value)
        if number is None:
            raise ValidationError(_("%(label)s must be a number.", label=label))
        if number < 0:
            raise ValidationError(_("%(label)s cannot be negative.", label=label))
        if number > self.maximum:
            raise ValidationError(_("%(label)s is too large.", label=label))
        return number.quantize(CENT)


class People(fields.Field):
    """A whole number of people, 0 to ``BENEFICIARIES_MAX``; left out, it is 0."""

    def __init__(self, **kwargs):
        kwargs.setdefault("load_default", 0)
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            number = int(value or 0)
        except (TypeError, ValueError):
            raise ValidationError(_("Beneficiaries must be a whole number.")) from None
        if number < 0:
            raise ValidationError(_("Beneficiaries cannot be negative."))
        if number > BENEFICIARIES_MAX:
            raise ValidationError(_("Beneficiaries is too large."))
        return number


class PaymentAmount(fields.Field):
    """A payment typed by a person: a positive number of yuan with at most two decimals."""

    default_error_messages = required_messages(_l("Enter the amount as a number, e.g. 84000.00."))

    def _deserialize(self, value, attr, data, **kwargs):
        amount = parse_decimal(value)
        if amount is None:
            raise self.make_error("required")
        if amount <= 0:
            raise ValidationError(_("The amount must be more than zero."))
        if amount > AMOUNT_MAX:
            raise ValidationError(_("The amount is larger than any contract value."))
        if amount != amount.quantize(CENT):
            raise ValidationError(_("The amount can have at most two decimals (fen)."))
        return amount.quantize(CENT)


def _one_of(choices, message) -> dict:
    """A required choice among ``choices``; ``message`` (lazy: rendered when it is shown) otherwise."""

    def check(value) -> None:
        if value not in choices:
            raise ValidationError(str(message))

    return {"required": True, "validate": check, "error_messages": required_messages(message)}


class RecordInputSchema(BlanksMissingSchema):
    """A service record: counts only, never a resident's identity number."""

    service_date = Day(required=True, error_messages=required_messages(_l("Service date is required.")))
    activity_type = fields.String(**_one_of(ACTIVITY_TYPES, _l("Choose an activity type from the list.")))
    target_id = fields.Integer(
        load_default=None, error_messages={"invalid": _l("Choose a target of this contract.")}
    )
    quantity = Count(_l("Quantity"), maximum=QUANTITY_MAX)
    beneficiaries = People()
    hours = Count(_l("Hours"), maximum=HOURS_MAX)
    community_code = fields.String(load_default=None)
    notes = text(
        _l("Notes"), NOTES_MAX, required=False, multiline=True, validate=[no_identity_number, no_phone_number]
    )


class ProgressReportSchema(BlanksMissingSchema):
    period_start = Day(
        required=True, error_messages=required_messages(_l("The start of the period is required."))
    )
    period_end = Day(
        required=True, error_messages=required_messages(_l("The end of the period is required."))
    )
    summary = text(_l("Summary"), TEXT_MAX, multiline=True, validate=[no_identity_number])
    issues = text(_l("Issues"), TEXT_MAX, required=False, multiline=True, validate=[no_identity_number])

    @validates_schema(skip_on_field_errors=True)
    def _period(self, data, **kwargs):
        if data["period_end"] < data["period_start"]:
            raise ValidationError(_("The period cannot end before it starts."), "period_end")


class MilestoneReportSchema(BlanksMissingSchema):
    report = text(_l("Report"), TEXT_MAX, multiline=True, validate=[no_identity_number])


class RejectionSchema(BlanksMissingSchema):
    reason = text(_l("Reason"), TEXT_MAX, multiline=True)


def _representative(row) -> dict | None:
    """One representative as recorded (names only), or ``None`` for an empty row."""
    row = row if isinstance(row, dict) else {}
    checks = {
        "name": text(_l("Name"), NAME_MAX, required=False, validate=[no_identity_number]),
        "community": text(_l("Community"), NAME_MAX * 2, required=False, validate=[no_identity_number]),
        "role": text(_l("Role"), NAME_MAX, required=False, validate=[no_identity_number]),
    }
    person = {key: field_value(field, row.get(key), "representatives") for key, field in checks.items()}
    if not any(person.values()):
        return None
    if not person["name"]:
        raise ValidationError(_("Each representative needs a name."), "representatives")
    return person


class AcceptanceInputSchema(BlanksMissingSchema):
    """Final acceptance: the result, a summary (the reason when failed) and the service-recipient
    representatives who took part (IR 45): at least one, at most six, names and communities only."""

    result = fields.String(**_one_of(ACCEPTANCE_RESULTS, _l("Choose passed or failed.")))
    summary = text(_l("Summary"), TEXT_MAX, multiline=True, validate=[no_identity_number])
    representatives = fields.List(fields.Raw(), load_default=list)

    @post_load
    def _people(self, data, **kwargs):
        people = [p for p in map(_representative, data["representatives"]) if p is not None]
        if not people:
            raise ValidationError(
                _(
                    "At least one service-recipient representative must take part in the acceptance "
                    "(Government Procurement Regulations, art. 45)."
                ),
                "representatives",
            )
        if len(people) > MAX_REPRESENTATIVES:
            raise ValidationError(
                _("At most %(n)d representatives can be recorded.", n=MAX_REPRESENTATIVES), "representatives"
            )
        data["representatives"] = people
        return data


class PaymentInputSchema(BlanksMissingSchema):
    paid_on = Day(required=True, error_messages=required_messages(_l("The payment date is required.")))
    amount = PaymentAmount(required=True)
    reference = text(_l("Payment reference"), REFERENCE_MAX)


class CorrectionSchema(BlanksMissingSchema):
    """Why a service record is corrected (kept with the replaced version)."""

    reason = text(_l("Reason for the correction"), NOTES_MAX, validate=[no_identity_number, no_phone_number])
