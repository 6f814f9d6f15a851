"""The policy module: one place answers "may this user do this?".

Views call :func:`require` (403 on refusal); templates call :func:`can`. Each rule is a small
function of (user, object) in its package's ``policy.py``, listed there in ``RULES`` and registered by
``create_app`` (:func:`register_rules`); nothing registers itself on import. Rules are looked up by
action name, so tests can enumerate them.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort

OFFICER = "officer"
ORG_MEMBER = "org_member"
EVALUATOR = "evaluator"
AUDITOR = "auditor"
ADMIN = "admin"
GRID_WORKER = "grid_worker"  # records residents' needs in its own grids (needs/)
ROLES = (OFFICER, ORG_MEMBER, EVALUATOR, AUDITOR, ADMIN, GRID_WORKER)

_rules: dict[str, Callable] = {}


def _authenticated(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def _role(user, *roles: str) -> bool:
    return _authenticated(user) and user.role in roles


def _same_agency(user, tender) -> bool:
    return _role(user, OFFICER) and user.agency_id is not None and user.agency_id == tender.agency_id


def register_rules(rules: dict[str, Callable]) -> None:
    """Register a package's rules (its ``policy.RULES``); ``create_app`` calls this for every package.

    An action registered twice is a programming error: two packages would answer the same question."""
    for action, fn in rules.items():
        if action in _rules and _rules[action] is not fn:
            raise LookupError(f"permission rule {action!r} registered twice")
        _rules[action] = fn


def can(user, action: str, obj=None) -> bool:
    try:
        fn = _rules[action]
    except KeyError:  # an unknown action is a programming error, never a silent yes
        raise LookupError(f"no permission rule for {action!r}") from None
    return bool(fn(user, obj))


def require(user, action: str, obj=None) -> None:
    if not can(user, action, obj):
        abort(403)


def actions() -> list[str]:
    return sorted(_rules)
