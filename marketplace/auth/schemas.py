"""Load schemas of the account verbs' inputs. Whether an email is taken, or an officer has an agency,
is checked by the verbs (it needs the database or the agency row)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields

from marketplace.auth import passwords
from marketplace.core.permissions import ROLES
from marketplace.core.schemas import InputSchema, Text

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


def _too_short() -> str:
    return _("The password must have at least %(n)d characters.", n=passwords.min_length())


class Password(fields.String):
    """A new password: at least ``PASSWORD_MIN_LENGTH`` characters, at most 200 (taken as typed, never
    stripped), and not a common or breached password (:mod:`marketplace.auth.passwords`)."""

    default_error_messages = {
        "required": _l("Enter a password."),
        "null": _l("Enter a password."),
    }

    def _deserialize(self, value, attr, data, **kwargs):
        password = super()._deserialize(value, attr, data, **kwargs)
        problem = passwords.problem(password)
        if problem == "short":
            raise ValidationError(_too_short())
        if problem == "long":
            raise ValidationError(_("The password is too long."))
        if problem == "common":
            raise ValidationError(
                _(
                    "This password is too common: it is on a list of passwords known to attackers. "
                    "Choose another."
                )
            )
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


class AccountEmailPasswordSchema(InputSchema):
    """A self-registration's sign-in email and new password, checked before the account is looked up."""

    email = EmailAddress(required=True)
    password = Password(required=True)


# --- personal API tokens (issue 19) ---------------------------------------------------------------------

TOKEN_LIFETIMES_DAYS = (30, 90, 180, 365)


class ApiTokenInputSchema(InputSchema):
    """A new personal API token: its name, scopes (which the user's role allows: the verb asks the
    policy) and lifetime in days."""

    name = Text(
        required=True,
        max_length=NAME_MAX,
        error_messages={"required": _l("Give the token a name."), "null": _l("Give the token a name.")},
    )
    scopes = fields.List(
        fields.String(),
        required=True,
        validate=lambda v: bool(v) or _raise(_("Choose at least one scope.")),
        error_messages={"required": _l("Choose at least one scope.")},
    )
    expires_in_days = fields.Integer(
        required=True,
        strict=False,
        validate=lambda v: v in TOKEN_LIFETIMES_DAYS or _raise(_("Choose how long the token is valid.")),
        error_messages={"required": _l("Choose how long the token is valid.")},
    )


def _raise(message: str):
    raise ValidationError(message)
