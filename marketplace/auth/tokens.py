"""Signed links for email confirmation and password reset (itsdangerous, keyed by ``SECRET_KEY``,
one salt per purpose). Their age is measured with :mod:`marketplace.clock`, the app's only "now".

- a confirmation link names the account and its email, and expires after ``EMAIL_VERIFICATION_HOURS``;
- a reset link names the account, a fingerprint of its current password hash and its session version,
  and expires after ``PASSWORD_RESET_MINUTES``: setting a new password (or signing out, or any
  other change of either) makes it useless, so it works once.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from marketplace import clock
from marketplace.auth.models import User
from marketplace.extensions import db

VERIFY = "email-verification"
RESET = "password-reset"
_MAX_LENGTH = 500


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"marketplace.{purpose}")


def _password_fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def _claims(user: User, purpose: str) -> dict:
    if purpose == VERIFY:
        return {"u": user.id, "e": user.email}
    return {"u": user.id, "p": _password_fingerprint(user), "v": user.session_version}


def _max_age(purpose: str) -> float:
    if purpose == VERIFY:
        return current_app.config["EMAIL_VERIFICATION_HOURS"] * 3600
    return current_app.config["PASSWORD_RESET_MINUTES"] * 60


def make(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps({**_claims(user, purpose), "t": int(clock.now().timestamp())})


def read(token: str | None, purpose: str) -> User | None:
    """The account a valid, unexpired ``token`` of ``purpose`` was made for, while the account still
    matches it; else ``None``."""
    if not token or len(token) > _MAX_LENGTH:
        return None
    try:
        data = _serializer(purpose).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("t"), int):
        return None
    age = clock.now().timestamp() - data["t"]
    if age < -60 or age > _max_age(purpose):
        return None
    user = db.session.get(User, data["u"])
    if user is None or {k: v for k, v in data.items() if k != "t"} != _claims(user, purpose):
        return None
    return user
