"""Personal data that free text on the platform must not hold: a resident identity number
(居民身份证号码, GB 11643).

Service records, progress and milestone reports and the acceptance's representatives hold counts and
names only. Anything shaped like an identity number (17 digits and a digit or X) is refused, whether
or not its check digit is right: a mistyped number is still a person's number.

Input schemas use :func:`no_identity_number` (a marshmallow validator), other code
:func:`looks_like_identity_number` or :func:`refuse_identity_numbers`.
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _
from marshmallow import ValidationError

from marketplace.core.errors import RuleViolation

# 18 characters: 17 digits and a digit or X (GB 11643). Full-width digits are folded by NFKC first.
_IDENTITY_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
# Spaces and hyphens people type inside a number ("110101 19491001 1234").
_SEPARATORS = re.compile(r"[\s\-]")
# A mainland mobile number (11 digits from 13x to 19x, an optional +86) or a landline with its area code
# (010-6512 3456): a resident's contact, which service records must not hold either.
_PHONE_NUMBER = re.compile(
    r"(?<![0-9])(?:(?:\+?86[\s\-]?)?1[3-9][0-9](?:[\s\-]?[0-9]{4}){2}|0[1-9][0-9]{1,2}[\s\-]?[0-9]{3,4}[\s\-]?[0-9]{4})(?![0-9])"
)


def looks_like_identity_number(text: str | None) -> bool:
    """Whether ``text`` holds something shaped like a resident identity number."""
    folded = unicodedata.normalize("NFKC", text or "")
    return bool(_IDENTITY_NUMBER.search(folded)) or bool(_IDENTITY_NUMBER.search(_SEPARATORS.sub("", folded)))


def looks_like_phone_number(text: str | None) -> bool:
    """Whether ``text`` holds something shaped like a mainland mobile or landline number."""
    return bool(_PHONE_NUMBER.search(unicodedata.normalize("NFKC", text or "")))


def no_phone_number(text: str | None) -> None:
    """A marshmallow validator: no resident's phone number in a record's free text."""
    if looks_like_phone_number(text):
        raise ValidationError(
            _("Remove the phone number: records hold counts only, never a resident's contact details.")
        )


def _refusal() -> str:
    return _(
        "Remove the identity number: records hold counts and names only, never a resident's "
        "identity number (身份证号)."
    )


def no_identity_number(text: str | None) -> None:
    """A marshmallow validator for a text field of an input schema: ``validate=[no_identity_number]``."""
    if looks_like_identity_number(text):
        raise ValidationError(_refusal())


def refuse_identity_numbers(text: str | None, field_name: str) -> None:
    """The same check in a verb: a ``RuleViolation`` on ``field_name``."""
    if looks_like_identity_number(text):
        raise RuleViolation(_refusal(), field=field_name)
