"""Personal API tokens (issue 19): the verbs that create, revoke, authenticate and record the use of one.

A token reads ``mkp_<prefix>_<secret>``: the prefix (8 characters, not secret) names it in the settings
list and keys its rate limit; only the SHA-256 of the whole token is stored, so the token is shown once.
A token acts as its user: it never has more rights than the user, and each request asks the policy
layer as the web pages do (``can``); the scopes only narrow what it may be used for. Which scopes a user
may give a token is the ``api.scope`` rule (auth/policy.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth.models import API_SCOPES, ApiToken, User
from marketplace.auth.schemas import ApiTokenInputSchema
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.permissions import can
from marketplace.core.schemas import InputErrors, load
from marketplace.extensions import db

PREFIX = "mkp_"
MAX_ACTIVE_TOKENS = 20
_FORMAT = re.compile(r"mkp_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{43})")
_ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def prefix_of(raw: str | None) -> str | None:
    """The token's public prefix when ``raw`` is shaped like a token (no database asked), else None."""
    match = _FORMAT.fullmatch(raw or "")
    return match.group(1) if match else None


def allowed_scopes(user) -> list[str]:
    """The scopes ``user``'s role allows a token to carry, in the canonical order."""
    return [scope for scope in API_SCOPES if can(user, "api.scope", scope)]


def active_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(ApiToken.id)).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > clock.now()
        )
    )


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens, newest first (revoked and expired ones too: they stay in the list)."""
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()).limit(100)
        )
    )


def create_token(user: User, data: dict) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns it with its plain text, which is never stored nor shown again."""
    values = load(ApiTokenInputSchema(), data)
    scopes = list(dict.fromkeys(values["scopes"]))
    refused = [s for s in scopes if s not in allowed_scopes(user)]
    if refused:
        raise InputErrors(
            {"scopes": [_("Your account cannot give a token the scope %(s)s.", s=refused[0][:40])]}
        )
    if active_count(user) >= MAX_ACTIVE_TOKENS:
        raise RuleViolation(
            _("You have %(n)d tokens in use: revoke one before creating another.", n=MAX_ACTIVE_TOKENS)
        )
    prefix = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(8))
    raw = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    now = clock.now()
    token = ApiToken(
        user_id=user.id,
        name=values["name"],
        prefix=prefix,
        token_hash=digest(raw),
        scopes=[s for s in API_SCOPES if s in scopes],
        created_at=now,
        expires_at=now + timedelta(days=values["expires_in_days"]),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        user,
        "api_token.create",
        "api_token",
        token.id,
        N_("created API token %(name)s (%(prefix)s) with scopes %(scopes)s"),
        changes={"scopes": token.scopes, "expires_at": token.expires_at},
        params={"name": token.name, "prefix": prefix, "scopes": ", ".join(token.scopes)},
    )
    return token, raw


def revoke_token(token: ApiToken, actor: User) -> None:
    if token.user_id != actor.id:
        raise RuleViolation(_("This is not one of your tokens."))
    if token.revoked_at is not None:
        raise RuleViolation(_("This token is already revoked."))
    token.revoked_at = clock.now()
    audit.record(
        actor,
        "api_token.revoke",
        "api_token",
        token.id,
        N_("revoked API token %(name)s (%(prefix)s)"),
        params={"name": token.name, "prefix": token.prefix},
    )


def authenticate(raw: str | None) -> ApiToken | None:
    """The usable token ``raw`` names (not revoked, not expired, its user active), else None."""
    if prefix_of(raw) is None:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(raw)))
    if token is None or not hmac.compare_digest(token.token_hash, digest(raw)):
        return None
    if not token.usable_at(clock.now()) or not token.user.is_active:
        return None
    return token


def record_use(token_id: int, method: str, path: str, status: int) -> None:
    """The token was used: its ``last_used_at`` and an audit event (run after the request's own
    transaction ended, in one of its own: core.transaction.afterwards)."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        return
    now = clock.now()
    db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
    audit.record(
        token.user,
        "api_token.use",
        "api_token",
        token.id,
        N_("used API token %(prefix)s: %(method)s %(path)s (%(status)s)"),
        params={"prefix": token.prefix, "method": method, "path": path[:200], "status": status},
    )
