"""Load schemas of the account verbs' inputs. Whether an email is taken, or an officer has an agency,
is checked by the verbs (it needs the database or the agency row)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields

from marketplace.core.permissions import ROLES
from marketplace.core.schemas import InputSchema, Text

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
EMAIL_MAX = 254
NAME_MAX = 100


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


class EmailAddress(fields.String):
    """A sign-in email: stripped and lower-cased, with an @, at most 254 characters."""

    default_error_messages = {
        "required": _l("Enter a valid email address."),
        "null": _l("Enter a valid email address."),
    }

    def _deserialize(self, value, attr, data, **kwargs):
        email = normalise_email(str(value))
        if "@" not in email or len(email) > EMAIL_MAX:
            raise ValidationError(_("Enter a valid email address."))
        return email


class Password(fields.String):
    """A new password: at least ten characters, at most 200 (taken as typed, never stripped)."""

    default_error_messages = {
        "required": _l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
        "null": _l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
    }

    def _deserialize(self, value, attr, data, **kwargs):
        password = super()._deserialize(value, attr, data, **kwargs)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValidationError(
                _("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
            )
        if len(password) > MAX_PASSWORD_LENGTH:
            raise ValidationError(_("The password is too long."))
        return password


class Role(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        if value not in ROLES:
            raise ValidationError(_("Unknown role %(role)s.", role=value))
        return value


def _name_fits(name: str) -> None:
    if len(name) > NAME_MAX:
        raise ValidationError(
            _("%(label)s is too long (at most %(n)d characters).", label=_("Name"), n=NAME_MAX)
        )


class AccountInputSchema(InputSchema):
    """A new account: sign-in email, role, password and display name."""

    email = EmailAddress(required=True)
    role = Role(required=True)
    password = Password(required=True)
    name = Text(load_default="", validate=[_name_fits])


class NewPasswordInputSchema(InputSchema):
    new_password = Password(required=True)
