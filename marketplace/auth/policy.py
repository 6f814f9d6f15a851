"""Who may manage accounts (the user admin pages, ending a user's sessions): admins."""

from __future__ import annotations

from marketplace.core.permissions import ADMIN, _role


def manage_users(user, obj=None) -> bool:
    return _role(user, ADMIN)


RULES = {"user.manage": manage_users}
