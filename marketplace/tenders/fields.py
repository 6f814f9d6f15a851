"""Input fields the load schemas of tenders, bids and the committee share (see :mod:`core.schemas`).

Messages name the field as the pages do ("Reason is required."), and amounts keep the messages a
bidder or an officer already knows ("Enter an amount in yuan, for example 350000.00.").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, pre_load, validate

from marketplace.core.schemas import FIRST_DATE, LAST_DATE, InputSchema, Text, parse_decimal
from marketplace.core.timeutil import local_to_utc

CENT = Decimal("0.01")


def blank(value) -> bool:
    """Nothing was entered: ``None`` or only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


class Input(InputSchema):
    """Base of this context's load schemas: a ``None`` value is a value left out (a required field says
    so, an optional one takes its default), as a form sends ``None`` for a field it did not get."""

    @pre_load
    def _none_is_missing(self, data, **kwargs):
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if v is not None}
        return data


def required_messages(message) -> dict:
    """The messages of a field left out, empty or ``None``."""
    return {"required": message, "null": message, "blank": message}


def _at_most(label, maximum: int):
    def check(value: str) -> None:
        if value is not None and len(value) > maximum:
            raise ValidationError(
                _("%(label)s is too long (at most %(n)d characters).", label=str(label), n=maximum)
            )

    return check


def not_blank(label):
    """For an optional text that, when given, may not be empty."""

    def check(value: str) -> None:
        if value is not None and not value:
            raise ValidationError(_("%(label)s is required.", label=str(label)))

    return check


def text(label, maximum: int, *, required: bool = True, multiline: bool = False, **kwargs) -> Text:
    """Stripped text of at most ``maximum`` characters whose messages name ``label``. An optional one
    is "" when left out, unless ``load_default`` says otherwise."""
    checks = [_at_most(label, maximum), *kwargs.pop("validate", ())]
    options = {"required": True} if required else {"load_default": kwargs.pop("load_default", "")}
    return Text(
        multiline=multiline,
        validate=checks,
        error_messages=required_messages(_l("%(label)s is required.", label=label)),
        **options,
        **kwargs,
    )


def choice(choices, message, **kwargs) -> fields.String:
    """One of ``choices`` (a dict's keys or a sequence); anything else, or nothing, is ``message``."""
    return fields.String(
        validate=validate.OneOf(list(choices), error=message),
        error_messages={**required_messages(message), "invalid": message},
        **kwargs,
    )


def integer(message, low: int, high: int, **kwargs) -> fields.Integer:
    """A whole number from ``low`` to ``high``; anything else is ``message``."""
    return fields.Integer(
        strict=False,
        validate=validate.Range(low, high, error=message),
        error_messages={**required_messages(message), "invalid": message},
        **kwargs,
    )


class Yuan(fields.Field):
    """An amount in yuan, more than zero, with at most two decimal places (fen)."""

    default_error_messages = {
        "invalid": _l("Enter an amount in yuan, for example 350000.00."),
        "not_positive": _l("The amount must be more than zero."),
        "places": _l("Amounts have at most two decimal places (fen)."),
    }

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        amount = parse_decimal(value)
        if amount is None:
            raise self.make_error("invalid")
        if amount <= 0:
            raise self.make_error("not_positive")
        if amount != amount.quantize(CENT):
            raise self.make_error("places")
        return amount

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class Budget(Yuan):
    """A budget ceiling: an amount up to the platform's ``MAX_BUDGET``."""

    default_error_messages = {"not_positive": _l("The budget ceiling must be more than zero.")}

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        amount = super()._deserialize(value, attr, data, **kwargs)
        limit = Decimal(current_app.config["MAX_BUDGET"])
        if amount > limit:
            raise ValidationError(
                _("The budget ceiling cannot exceed %(limit)s yuan.", limit=f"{limit:,.0f}")
            )
        return amount


class LocalDateTime(fields.Field):
    """A moment as an aware UTC ``datetime``: one a form parsed (naive: the display zone's wall clock),
    an aware one, or an ISO 8601 string."""

    default_error_messages = {
        "invalid": _l("Enter a date and time, for example 2026-03-30 09:30."),
        "range": _l("Enter a date between 1900-01-01 and 9998-12-31."),
    }

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise self.make_error("invalid") from None
        if not isinstance(value, datetime):
            raise self.make_error("invalid")
        if not FIRST_DATE <= value.date() <= LAST_DATE:  # year 1 or 9999 overflows in date arithmetic
            raise self.make_error("range")
        try:
            return local_to_utc(value)
        except (OverflowError, ValueError):
            raise self.make_error("invalid") from None
