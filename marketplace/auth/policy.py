"""Who may manage accounts (the user admin pages, ending a user's sessions): admins. Which scopes a
personal API token of a user may carry (docs/api.md): ``read`` any active account, ``delivery:write``
the members of an organization, ``audit:read`` auditors and admins."""

from __future__ import annotations

from marketplace.core.permissions import ADMIN, AUDITOR, ORG_MEMBER, _authenticated, _role


def manage_users(user, obj=None) -> bool:
    return _role(user, ADMIN)


def api_scope(user, scope=None) -> bool:
    if scope == "read":
        return _authenticated(user)
    if scope == "delivery:write":
        return _role(user, ORG_MEMBER) and user.organization_id is not None
    if scope == "audit:read":
        return _role(user, AUDITOR, ADMIN)
    return False


def api_tokens(user, obj=None) -> bool:
    """Keeping personal API tokens: any signed-in account."""
    return _authenticated(user)


RULES = {"user.manage": manage_users, "api.scope": api_scope, "api.tokens": api_tokens}
