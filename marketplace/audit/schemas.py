"""The load schema of the contract filter (the auditor's index page, exports on the web and the CLI).

Query-string and command-line values arrive as text: empty values mean "any". Rules that need the
database (does the district exist?) stay in :func:`marketplace.audit.filters.parse_filter`.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, pre_load, validates, validates_schema

from marketplace.contracts.models import CONTRACT_STATUSES
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.errors import RuleViolation
from marketplace.core.schemas import InputSchema
from marketplace.core.timeutil import parse_local_date

MAX_ID = 2**31 - 1  # an INTEGER column


class RecordId(fields.Field):
    """The id of a row to filter on: a whole number from 1 to the largest INTEGER."""

    def __init__(self, *, label, **kwargs):
        super().__init__(**kwargs)
        self.label = label

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if number is None or not 1 <= number <= MAX_ID:
            raise ValidationError(_("%(label)s must be a number.", label=self.label))
        return number


class FilterDate(fields.Field):
    """A local date written YYYY-MM-DD, within the range the date filters accept."""

    def __init__(self, *, label, **kwargs):
        super().__init__(**kwargs)
        self.label = label

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_local_date(str(value), str(self.label))
        except RuleViolation as exc:
            raise ValidationError(exc.message) from None


class ContractFilterSchema(InputSchema):
    """``district`` (a county code), ``agency`` and ``organization`` (ids), ``category``,
    ``from``/``to`` (YYYY-MM-DD) and ``status``; every key may be missing or empty."""

    # Codes checked against their lists below (so no Text: a code with a NUL is just unknown).
    district = fields.String()
    category = fields.String()
    status = fields.String()
    date_from = FilterDate(data_key="from", label=_l("The start date"))
    date_to = FilterDate(data_key="to", label=_l("The end date"))
    agency_id = RecordId(data_key="agency", label=_l("The agency"))
    organization_id = RecordId(data_key="organization", label=_l("The organization"))

    @pre_load
    def _drop_empty(self, data, **kwargs):
        """Empty values filter nothing: leave them out (command-line options not given are None)."""
        stripped = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return {k: v for k, v in stripped.items() if v not in (None, "")}

    @validates("district")
    def _district_code(self, value, **kwargs):
        # Codes are digits (GB/T 2260); anything else is never looked up (PostgreSQL refuses NUL bytes).
        if not re.fullmatch(r"[0-9]{6,12}", value):
            raise ValidationError(_("Unknown district code %(code)s.", code=value[:12]))

    @validates("category")
    def _known_category(self, value, **kwargs):
        if value not in SERVICE_CATEGORIES:
            raise ValidationError(_("Unknown service category %(c)s.", c=value[:40]))

    @validates("status")
    def _known_status(self, value, **kwargs):
        if value not in CONTRACT_STATUSES:
            raise ValidationError(
                _("Unknown status %(s)s: use one of %(all)s.", s=value[:20], all=", ".join(CONTRACT_STATUSES))
            )

    @validates_schema
    def _dates_in_order(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ValidationError(str(_l("The end date cannot be before the start date.")), "to")
