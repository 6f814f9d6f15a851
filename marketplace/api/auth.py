"""API authentication: personal API tokens sent as ``Authorization: Bearer <token>`` (issue 19).

Interface used by every API module (implemented by the API foundation):

- ``current_api_user()``: the User the request's token belongs to, or None (anonymous).
- ``require_scope(scope)``: decorator for an API view; 401 problem+json without a valid token, 403
  when the token lacks ``scope`` (``read``, ``delivery:write``, ``audit:read``). The policy layer
  (``marketplace.core.permissions.can``) still decides what that user may do.
- ``allow_anonymous(scope)``: the same for a public view: no token is fine, but a token that is sent
  must be valid (else 401) and carry ``scope`` (else 403).

A token that is sent but revoked, expired, malformed or unknown is refused (401), whatever the route.
Its use is recorded (``last_used_at``, an ``api_token.use`` audit event) after the request's own
transaction has ended, in a transaction of its own (``core.transaction.afterwards``, docs/api.md):
a GET still writes nothing in its transaction. The scope is checked against the token *and* against
what the user's role allows today (``api.scope``): a user who lost a role loses the token's scope.

Rate limits: per token (keyed by the token's public prefix, read from the header without the
database) and per address for anonymous requests (``API_RATE_LIMIT``, ``API_ANONYMOUS_RATE_LIMIT``).
"""

from __future__ import annotations

import functools
from copy import deepcopy

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_smorest import abort

from marketplace.auth import api_tokens
from marketplace.auth.models import ApiToken
from marketplace.core.permissions import can
from marketplace.core.transaction import afterwards

_G_KEY = "_api_token"  # where the request's token is kept in flask.g
_NO_TOKEN = object()
BEARER_SCHEME = "bearerAuth"
SECURITY_SCHEMES = {
    BEARER_SCHEME: {"type": "http", "scheme": "bearer", "description": "A personal API token"}
}


def _bearer() -> str | None:
    """The token sent in the Authorization header; None without one. A header that is not a Bearer
    credential is refused."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _sep, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        _unauthorized(_("Send the token as: Authorization: Bearer <token>."))
    return credential.strip()


def _unauthorized(message: str | None = None):
    abort(
        401,
        message=message or _("Send a valid API token in the Authorization header (Bearer)."),
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


def current_token() -> ApiToken | None:
    """The request's valid token, None when none was sent; 401 when the one sent is not valid."""
    cached = g.get(_G_KEY, None)
    if cached is not None:
        return None if cached is _NO_TOKEN else cached
    raw = _bearer()
    if raw is None:
        g.setdefault(_G_KEY, _NO_TOKEN)
        return None
    token = api_tokens.authenticate(raw)
    if token is None:
        _unauthorized(_("This API token is not valid: it is unknown, expired or revoked."))
    setattr(g, _G_KEY, token)
    token_id, method, path = token.id, request.method, request.path
    afterwards(lambda status: api_tokens.record_use(token_id, method, path, status))
    return token


def current_api_user():
    """The User the request's token belongs to, or None (anonymous)."""
    token = current_token()
    return token.user if token is not None else None


def _check_scope(token: ApiToken, scope: str | None) -> None:
    if scope is None:  # any valid token
        return
    if scope not in (token.scopes or []) or not can(token.user, "api.scope", scope):
        abort(403, message=_("This API token does not have the scope %(scope)s.", scope=scope))


def _documented(wrapper, anonymous: bool):
    doc = deepcopy(getattr(wrapper, "_apidoc", {}))
    security = [{BEARER_SCHEME: []}] + ([{}] if anonymous else [])
    doc.setdefault("manual_doc", {})["security"] = security
    responses = doc.setdefault("response", {}).setdefault("responses", {})
    if not anonymous:
        responses.setdefault(401, []).append("UNAUTHORIZED")
    responses.setdefault(403, []).append("FORBIDDEN")
    responses.setdefault(429, []).append("TOO_MANY_REQUESTS")
    wrapper._apidoc = doc
    return wrapper


def require_scope(scope: str | None):
    """A view for token holders only: 401 without a valid token, 403 without ``scope`` (None: any
    valid token will do)."""

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            token = current_token()
            if token is None:
                _unauthorized()
            _check_scope(token, scope)
            return fn(*args, **kwargs)

        return _documented(wrapper, anonymous=False)

    return decorator


def allow_anonymous(scope: str = "read"):
    """A public view: anonymous callers are welcome; a token sent must be valid and carry ``scope``."""

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            token = current_token()
            if token is not None:
                _check_scope(token, scope)
            return fn(*args, **kwargs)

        return _documented(wrapper, anonymous=True)

    return decorator


# --- rate limits ------------------------------------------------------------------------------------


def rate_limit_key() -> str:
    """The token's public prefix, or the caller's address when no well-formed token is sent."""
    header = request.headers.get("Authorization") or ""
    prefix = api_tokens.prefix_of(header.partition(" ")[2].strip())
    return f"api-token:{prefix}" if prefix else f"api-ip:{get_remote_address()}"


def rate_limit() -> str:
    key = rate_limit_key()
    if key.startswith("api-token:"):
        return current_app.config["API_RATE_LIMIT"]
    return current_app.config["API_ANONYMOUS_RATE_LIMIT"]
