"""WTForms fields that refuse what the services cannot use, instead of failing later with a 500.

Drop-in subclasses of WTForms' ``DecimalField``, ``DateField`` and ``DateTimeLocalField`` (same names,
so a form module only changes its import):

- a decimal is finite (no NaN, sNaN or Infinity: they break comparisons, ``quantize`` and the
  database), at most 40 characters, below 10**15 in size and with at most 12 decimal places (so
  ``1e999999`` and ``1e-999999`` are refused before any arithmetic);
- a date or date-time lies between 1900-01-01 and 9998-12-31 (``core.schemas.FIRST_DATE`` and
  ``LAST_DATE``): year 0001 or 9999 overflows as soon as a time zone or a working-day calendar is
  applied.

The marshmallow side has the same rules in ``core.schemas`` (``Money``, ``Points``, ``LocalDate``).
"""

from __future__ import annotations

import decimal

from flask_babel import lazy_gettext as _l
from wtforms import fields

from marketplace.core.schemas import FIRST_DATE, LAST_DATE

MAX_MAGNITUDE = decimal.Decimal(10) ** 15
MAX_PLACES = 12
MAX_CHARS = 40


def finite_decimal(text: str) -> decimal.Decimal | None:
    """``text`` as a finite Decimal of a sane size, else None."""
    text = (text or "").strip()
    if not text or len(text) > MAX_CHARS:
        return None
    try:
        number = decimal.Decimal(text)
    except (decimal.InvalidOperation, ValueError, TypeError):
        return None
    if not number.is_finite() or abs(number) >= MAX_MAGNITUDE or -number.as_tuple().exponent > MAX_PLACES:
        return None
    return number


class DecimalField(fields.DecimalField):
    def process_formdata(self, valuelist):
        if not valuelist:
            return
        if not str(valuelist[0]).strip():
            self.data = None  # empty: Optional / InputRequired decide
            raise ValueError(self.gettext("Not a valid decimal value."))
        text = str(valuelist[0])
        self.data = finite_decimal(text)
        if self.data is None:
            try:
                decimal.Decimal(text.strip())
            except (decimal.InvalidOperation, ValueError):  # not a number at all: WTForms' message
                raise ValueError(self.gettext("Not a valid decimal value.")) from None
            raise ValueError(_l("Enter a number of a sensible size (not NaN or infinity)."))


def _in_range(day) -> bool:
    return FIRST_DATE <= day <= LAST_DATE


_DATE_RANGE = _l("Enter a date between 1900-01-01 and 9998-12-31.")


class DateField(fields.DateField):
    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not _in_range(self.data):
            self.data = None
            raise ValueError(_DATE_RANGE)


class DateTimeLocalField(fields.DateTimeLocalField):
    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not _in_range(self.data.date()):
            self.data = None
            raise ValueError(_DATE_RANGE)
