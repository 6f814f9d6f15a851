"""Email confirmation and password reset by email (ASVS 2.5, 3.x).

Each verb changes rows, writes its audit event and queues its mail (sent only after the commit,
``core.notifications.queue_mail``); the caller commits. The answers shown to the person asking never
depend on whether an account uses the email: the verbs that take an email return nothing.
"""

from __future__ import annotations

from flask import url_for

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth import passwords, schemas, sessions, tokens
from marketplace.auth.models import User
from marketplace.auth.services import find_user_by_email
from marketplace.core.messages import N_
from marketplace.core.notifications import queue_mail
from marketplace.core.schemas import load


def send_verification(user: User) -> None:
    """Mail ``user`` a link that confirms the address (expires after EMAIL_VERIFICATION_HOURS)."""
    link = url_for("auth.verify_email", token=tokens.make(user, tokens.VERIFY))
    queue_mail(
        user.email,
        N_("Confirm your email address"),
        N_(
            "Follow this link to confirm your email address and activate your account. If you did not "
            "register, ignore this message."
        ),
        link,
    )


def resend_verification(email: str) -> None:
    """A new confirmation link, when an unconfirmed account uses ``email`` (else nothing, silently)."""
    user = find_user_by_email(email)
    if user is not None and user.is_active and not user.is_verified:
        send_verification(user)


def note_registration_attempt(email: str, password: str) -> None:
    """Someone registered with an email that an account already uses: tell its owner, and spend the
    time that hashing a new account's password would (the answer must not be faster)."""
    passwords.hash_password(password or "")
    queue_mail(
        email,
        N_("Someone tried to register with your email address"),
        N_(
            "Someone tried to register a new account with this email address, which already has an "
            "account. If it was you, sign in, or reset your password with the link below if you forgot "
            "it. Otherwise you can ignore this message."
        ),
        url_for("auth.request_reset"),
    )


def verify_email(user: User) -> None:
    """The owner followed the confirmation link."""
    if user.is_verified:
        return
    user.email_verified_at = clock.now()
    audit.record(user, "user.verify_email", "user", user.id, N_("confirmed the email address"))


def request_reset(email: str) -> None:
    """Mail a reset link to the account using ``email``, if an active one does (else nothing)."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return
    link = url_for("auth.reset_password", token=tokens.make(user, tokens.RESET))
    queue_mail(
        user.email,
        N_("Reset your password"),
        N_(
            "Follow this link to choose a new password. It works once, for a limited time. If you did not "
            "ask for it, ignore this message: your password stays as it is."
        ),
        link,
    )
    audit.record(None, "user.request_password_reset", "user", user.id, N_("a password reset was requested"))


def reset_password(user: User, new: str) -> None:
    """Set a new password from a reset link; every session of the account ends. Following the link
    also proves the address, so an unconfirmed account becomes confirmed."""
    new = load(schemas.NewPasswordInputSchema(), {"new_password": new})["new_password"]
    user.set_password(new)
    sessions.end_all(user)
    if not user.is_verified:
        user.email_verified_at = clock.now()
    audit.record(user, "user.reset_password", "user", user.id, N_("reset the password by email"))
