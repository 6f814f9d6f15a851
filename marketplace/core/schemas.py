"""marshmallow: the one validation of service inputs.

A verb's input is a plain dict loaded by the verb's load schema (``package/schemas.py``); web forms
and the JSON API feed the same schema, so a rule on a field is written once. The fields below are
the shared vocabulary: money as ``Decimal`` (never NaN, sNaN or infinite), local dates bounded to
what ``datetime`` arithmetic survives, and text without NUL or other control characters.

:func:`load` turns a ``ValidationError`` into :class:`InputErrors`, a :class:`RuleViolation` that
carries every field's messages, so a form shows all its errors at once (and the API answers 422 with
all of them).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from marketplace.core.errors import RuleViolation

FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(9998, 12, 31)
# C0 and C1 control characters except tab, newline and carriage return (allowed in multi-line text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class InputErrors(RuleViolation):
    """Every invalid field of one input: ``errors`` maps a field name to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        field, messages = next(iter(errors.items()))
        super().__init__(messages[0], field=None if field == "_schema" else field)


def _flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict as ``{"field" or "field.0.sub": [messages]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(_flatten(value, name))
            else:
                out[name] = [str(m) for m in (value if isinstance(value, list) else [value])]
    else:
        out[prefix or "_schema"] = [str(m) for m in (messages if isinstance(messages, list) else [messages])]
    return out


def load(schema: Schema, data) -> dict:
    """``data`` validated and converted by ``schema``; raises :class:`InputErrors` listing every error."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise InputErrors(_flatten(exc.messages)) from None


def load_partial(schema: Schema, data) -> tuple[dict, dict[str, list[str]]]:
    """The fields of ``data`` that ``schema`` accepts and every field's messages (``{}`` when valid):
    for rules that need the valid fields to go on checking (a file import reports all at once)."""
    try:
        return schema.load(data), {}
    except ValidationError as exc:
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        return dict(valid), _flatten(exc.messages)


class InputSchema(Schema):
    """Base of the load schemas: unknown keys (a form's submit button, CSRF token) are ignored."""

    class Meta:
        unknown = EXCLUDE


class Text(fields.String):
    """Stripped text without control characters; ``multiline`` allows tabs and line breaks.

    ``required`` refuses an empty value after stripping; ``max_length`` counts characters."""

    default_error_messages = {
        "control": _l("Remove the control characters (such as NUL) from this text."),
        "blank": _l("This field is required."),
        "too_long": _l("At most %(n)d characters."),
    }

    def __init__(self, *, max_length: int | None = None, multiline: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.max_length, self.multiline = max_length, multiline

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        text = unicodedata.normalize("NFC", text).strip()
        if (_CONTROL if self.multiline else _LINE_CONTROL).search(text):
            raise self.make_error("control")
        if self.required and not text:
            raise self.make_error("blank")
        if self.max_length is not None and len(text) > self.max_length:
            raise ValidationError(str(self.error_messages["too_long"]) % {"n": self.max_length})
        return text


class Money(fields.Field):
    """An amount in yuan as ``Decimal`` with at most two decimal places, within [minimum, maximum].

    Accepts numbers and strings such as ``"1,200.50"`` or ``"1，200"``; refuses NaN, sNaN, infinities,
    exponents that overflow and anything with more than two decimals."""

    default_error_messages = {
        "invalid": _l("Enter an amount in yuan, e.g. 1200.50."),
        "places": _l("At most two decimal places (fen)."),
        "range": _l("Enter an amount between %(low)s and %(high)s."),
    }

    def __init__(
        self,
        *,
        minimum: Decimal = Decimal("0.01"),
        maximum: Decimal = Decimal("999999999999.99"),
        places: int = 2,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.minimum, self.maximum, self.places = Decimal(minimum), Decimal(maximum), places

    def _deserialize(self, value, attr, data, **kwargs):
        number = parse_decimal(value)
        if number is None:
            raise self.make_error("invalid")
        if -number.as_tuple().exponent > self.places:
            raise self.make_error("places")
        if not self.minimum <= number <= self.maximum:
            raise ValidationError(
                str(self.error_messages["range"]) % {"low": self.minimum, "high": self.maximum}
            )
        return number

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class Points(Money):
    """A score: ``Decimal`` between 0 and ``maximum`` with at most two decimals."""

    default_error_messages = {
        "invalid": _l("Enter a number, e.g. 8.5."),
        "places": _l("At most two decimal places."),
        "range": _l("Enter a number between %(low)s and %(high)s."),
    }

    def __init__(self, *, maximum: Decimal = Decimal("100"), **kwargs):
        kwargs.setdefault("minimum", Decimal("0"))
        super().__init__(maximum=maximum, **kwargs)


class LocalDate(fields.Date):
    """A calendar date (YYYY-MM-DD or a ``date``) between 1900-01-01 and 9998-12-31."""

    default_error_messages = {
        "invalid": _l("Enter a date written YYYY-MM-DD."),
        "range": _l("Enter a date between 1900-01-01 and 9998-12-31."),
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, date):
            day = value
        else:
            day = super()._deserialize(value, attr, data, **kwargs)
        if not FIRST_DATE <= day <= LAST_DATE:
            raise self.make_error("range")
        return day


def parse_decimal(value) -> Decimal | None:
    """A finite ``Decimal`` from a number or a string with thousands separators, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value).strip().replace(",", "").replace("，", "").replace(" ", "")
        if not text or len(text) > 40:
            return None
        try:
            number = Decimal(text)
        except (InvalidOperation, ValueError):
            return None
    if not number.is_finite():
        return None
    return number


def apply_to_form(form, exc: InputErrors) -> None:
    """Show each field's messages next to the form field of that name (or as form errors)."""
    for name, messages in exc.errors.items():
        field = getattr(form, name.split(".")[0], None) if name != "_schema" else None
        if field is not None and hasattr(field, "errors"):
            if isinstance(field.errors, tuple):
                field.errors = list(field.errors)
            field.errors.extend(messages)
        else:
            form.form_errors.extend(messages)
