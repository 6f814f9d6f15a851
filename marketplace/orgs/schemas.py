"""Load schemas of the organization verbs' inputs: the one validation of what a form or the API sends.

Messages name the field as the registration form does ("Name is required."). Rules that need the
database or today's date (the credit code not registered yet, the district and service areas on
record, a founding date not in the future, a sanction ending after today) stay in the verbs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load, pre_load, validate, validates, validates_schema

from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.schemas import LAST_DATE, InputSchema, LocalDate, Text
from marketplace.orgs import labels
from marketplace.orgs.models import INSPECTION_RESULTS, ORG_TYPES, RATINGS
from marketplace.orgs.uscc import check_uscc, organization_type

MAX_STAFF = 100_000
MAX_SERVICE_AREAS = 200
REASON_MAX = 2000
EARLIEST_FOUNDING = date(1900, 1, 1)

_HAN = re.compile(r"[\u3400-\u9fff]")
_PHONE = re.compile(r"^[0-9+\-() ]{5,40}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_email(value: str) -> bool:
    return _EMAIL.match(value) is not None


# --- fields ---------------------------------------------------------------------------------------


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


def text(label, maximum: int, *, required: bool = True, multiline: bool = False, validate=()) -> Text:
    """Stripped text of at most ``maximum`` characters whose messages name ``label``; an optional one
    is "" when left out."""
    options = {"required": True} if required else {"load_default": ""}
    return Text(
        multiline=multiline,
        validate=[_at_most(label, maximum), *validate],
        error_messages=_required(_l("%(label)s is required.", label=label)),
        **options,
    )


def _choice(choices, message):
    return fields.String(
        required=True, validate=validate.OneOf(choices, error=message), error_messages=_required(message)
    )


class FoundingDate(LocalDate):
    """The founding date: a ``date`` (a form's) or YYYY-MM-DD, not before 1900."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, datetime):
            value = value.date()
        day = (
            value if isinstance(value, date) else fields.Date._deserialize(self, value, attr, data, **kwargs)
        )
        if day < EARLIEST_FOUNDING:
            raise ValidationError(_("Check the founding date: it is implausibly early."))
        if day > LAST_DATE:
            raise ValidationError(_("The founding date cannot be in the future."))
        return day


class Count(fields.Integer):
    """A head count, 0 to ``MAX_STAFF``; messages name ``label``."""

    def __init__(self, label, **kwargs):
        super().__init__(required=True, error_messages=_required(_l("%(label)s is required.", label=label)))
        self.label = label

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or str(value).strip() == "":
            raise self.make_error("required")
        try:
            number = value if isinstance(value, int) else int(str(value).strip())
        except ValueError:
            raise ValidationError(_("%(label)s must be a whole number.", label=str(self.label))) from None
        if not 0 <= number <= MAX_STAFF:
            raise ValidationError(
                _("%(label)s must be between 0 and %(max)d.", label=str(self.label), max=MAX_STAFF)
            )
        return number


class _Input(InputSchema):
    """``None`` is missing: a required field says it is required, an optional one takes its default."""

    @pre_load
    def _none_is_missing(self, data, **kwargs):
        if not isinstance(data, Mapping):
            return data
        return {k: v for k, v in data.items() if v is not None}


# --- the registration data ------------------------------------------------------------------------


def _not_civil_affairs(code: str) -> str:
    """Why a well-formed code is not the code of a social organization (civil affairs, 51/52/53/59)."""
    if code[0] == "5":
        return _(
            "The code %(code)s has category character %(char)s, which civil affairs does not use for "
            "social organizations. Codes of social organizations start with 51, 52, 53 or 59.",
            code=code,
            char=code[1],
        )
    if code[0] == "9":
        return _(
            "The code %(code)s belongs to an enterprise (it starts with 9), not to a social "
            "organization. Codes of social organizations start with 51, 52, 53 or 59.",
            code=code,
        )
    return _(
        "The code %(code)s was not issued by civil affairs (it starts with %(prefix)s). Codes of "
        "social organizations start with 51, 52, 53 or 59.",
        code=code,
        prefix=code[:2],
    )


class CreditCode(fields.String):
    """A unified social credit code of a social organization: well formed (:func:`check_uscc`) and
    issued by civil affairs (51, 52, 53 or 59); normalised to upper case."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            code = check_uscc(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if organization_type(code) is None:
            raise ValidationError(_not_civil_affairs(code))
        return code


def _distinct(values) -> list:
    return list(dict.fromkeys(values or []))


class OrgInputSchema(_Input):
    """The registration data an organization enters at sign-up and corrects before review."""

    name = text(_l("Name"), 200)
    name_en = text(_l("English name"), 200, required=False)
    org_type = _choice(ORG_TYPES, _l("Choose an organization type from the list."))
    uscc = CreditCode(
        required=True, error_messages=_required(_l("The unified social credit code must be text."))
    )
    registration_authority = text(_l("Registration authority"), 200)
    registered_district_code = fields.String(
        required=True, error_messages=_required(_l("Choose the registered district from the list."))
    )
    founded_on = FoundingDate(required=True, error_messages=_required(_l("Enter the founding date.")))
    legal_representative = text(_l("Legal representative"), 100)
    contact_person = text(_l("Contact person"), 100)
    phone = text(_l("Phone"), 40)
    email = text(_l("Email"), 254)
    categories = fields.List(fields.String(), load_default=list)
    service_area_codes = fields.List(fields.String(), load_default=list)
    staff_fulltime = Count(_l("Full-time staff"))
    staff_social_workers = Count(_l("Certified social workers"))
    annual_inspection = _choice(INSPECTION_RESULTS, _l("Choose the latest annual inspection result."))
    rating = _choice(RATINGS, _l("Choose a rating from the list."))
    small_org_declared = fields.Boolean(load_default=False)

    @validates("name")
    def _chinese_name(self, value: str, **kwargs) -> None:
        if not _HAN.search(value):
            raise ValidationError(
                _("Enter the registered Chinese name (the English name has its own field).")
            )

    @validates("phone")
    def _phone(self, value: str, **kwargs) -> None:
        if not _PHONE.match(value):
            raise ValidationError(
                _("Enter a phone number with digits, spaces, +, - or brackets, e.g. 010-6512 3456.")
            )

    @validates("email")
    def _email(self, value: str, **kwargs) -> None:
        if not is_email(value):
            raise ValidationError(_("Enter a valid email address."))

    @validates("categories")
    def _categories(self, value: list, **kwargs) -> None:
        if not value:
            raise ValidationError(_("Choose at least one service category."))
        if any(c not in SERVICE_CATEGORIES for c in value):
            raise ValidationError(_("Choose service categories from the list."))

    @validates("service_area_codes")
    def _areas(self, value: list, **kwargs) -> None:
        areas = _distinct(value)
        if not areas:
            raise ValidationError(_("Choose at least one service area."))
        if len(areas) > MAX_SERVICE_AREAS:
            raise ValidationError(_("Choose at most 200 service areas."))

    @validates_schema(skip_on_field_errors=True)
    def _type_and_staff(self, data, **kwargs) -> None:
        coded = organization_type(data["uscc"])
        if coded != data["org_type"]:
            raise ValidationError(
                _(
                    "The code's first two characters (%(prefix)s) mark a %(coded)s, but you chose "
                    "%(chosen)s. Choose the type on your registration certificate.",
                    prefix=data["uscc"][:2],
                    coded=labels.ORG_TYPES[coded],
                    chosen=labels.ORG_TYPES[data["org_type"]],
                ),
                "org_type",
            )
        if data["staff_social_workers"] > data["staff_fulltime"]:
            raise ValidationError(
                _(
                    "Certified social workers are counted among the full-time staff, so there cannot be "
                    "more of them."
                ),
                "staff_social_workers",
            )

    @post_load
    def _normalise(self, data, **kwargs):
        data["email"] = data["email"].lower()
        data["categories"] = _distinct(data["categories"])
        data["service_area_codes"] = _distinct(data["service_area_codes"])
        return data


# --- decisions, members ---------------------------------------------------------------------------


class ReasonInputSchema(_Input):
    """A review or sanction decision's reason (shown to the organization)."""

    reason = text(_l("Reason"), REASON_MAX, multiline=True)


class SanctionInputSchema(ReasonInputSchema):
    """A suspension or debarment: its last day (inclusive) and reason."""

    until = LocalDate(required=True, error_messages=_required(_l("Enter the last day of the period.")))

    @pre_load
    def _day(self, data, **kwargs):
        until = data.get("until") if isinstance(data, Mapping) else None
        if isinstance(until, datetime):
            return {**data, "until": until.date()}
        return data


class EmailAddress(fields.String):
    """An email address, stripped and lower-cased (the sign-in email of a person to invite)."""

    def _deserialize(self, value, attr, data, **kwargs):
        email = str(value).strip().lower()
        if not is_email(email) or len(email) > 254:
            raise ValidationError(_("Enter a valid email address."))
        return email


class InvitationInputSchema(_Input):
    email = EmailAddress(required=True, error_messages=_required(_l("Enter a valid email address.")))


class FirstMemberInputSchema(_Input):
    """The name of the person who signs an organization up (its first member)."""

    member_name = text(_l("Your name"), 100)


class JoinInputSchema(_Input):
    """The name of an invited person joining an organization."""

    name = text(_l("Your name"), 100)
