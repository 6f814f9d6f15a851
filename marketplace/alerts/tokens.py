"""The signed link in a digest that stops its emails without signing in (itsdangerous, keyed by
``SECRET_KEY``, a salt of its own, as ``auth.tokens``). It names the account only; using it twice
is harmless (the second time there is nothing left to stop)."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from marketplace.auth.models import User
from marketplace.extensions import db

# The path of the unsubscribe page (views.unsubscribe), built here because a digest is made by a job,
# outside any request.
UNSUBSCRIBE_PATH = "/saved-searches/unsubscribe/"
_MAX_LENGTH = 300


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="marketplace.saved-search-unsubscribe")


def make(user: User) -> str:
    return _serializer().dumps({"u": user.id})


def unsubscribe_path(user: User) -> str:
    return f"{UNSUBSCRIBE_PATH}{make(user)}"


def read(token: str | None) -> User | None:
    """The account a valid ``token`` names, else ``None`` (tampered, truncated, unknown account)."""
    if not token or len(token) > _MAX_LENGTH:
        return None
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or len(data) != 1:
        return None
    return db.session.get(User, data["u"])
