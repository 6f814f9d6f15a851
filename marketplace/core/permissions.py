"""The policy module: one place answers "may this user do this?".

Views call :func:`require` (403 on refusal); templates call :func:`can`. Each rule is a small
function of (user, object); rules are looked up by action name so tests can enumerate them.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort

OFFICER = "officer"
ORG_MEMBER = "org_member"
EVALUATOR = "evaluator"
AUDITOR = "auditor"
ADMIN = "admin"
ROLES = (OFFICER, ORG_MEMBER, EVALUATOR, AUDITOR, ADMIN)

_rules: dict[str, Callable] = {}


def rule(action: str):
    def deco(fn):
        _rules[action] = fn
        return fn

    return deco


def _authenticated(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def _role(user, *roles: str) -> bool:
    return _authenticated(user) and user.role in roles


def _same_agency(user, tender) -> bool:
    return _role(user, OFFICER) and user.agency_id is not None and user.agency_id == tender.agency_id


@rule("tender.create")
def _tender_create(user, obj=None):
    return _role(user, OFFICER) and user.agency_id is not None


@rule("tender.view")
def _tender_view(user, tender):
    if tender.is_public:
        return True
    # Drafts: the owning agency's officers, auditors, admins.
    return _same_agency(user, tender) or _role(user, AUDITOR, ADMIN)


@rule("tender.edit")
def _tender_edit(user, tender):
    return _same_agency(user, tender) and tender.status == "draft"


@rule("tender.publish")
def _tender_publish(user, tender):
    return _same_agency(user, tender) and tender.status == "draft"


@rule("tender.delete_draft")
def _tender_delete(user, tender):
    return _same_agency(user, tender) and tender.status == "draft"


@rule("tender.amend")
def _tender_amend(user, tender):
    return _same_agency(user, tender) and tender.status == "open"


@rule("tender.cancel")
def _tender_cancel(user, tender):
    return _same_agency(user, tender) and tender.status in ("draft", "open")


@rule("tender.manage")
def _tender_manage(user, tender):
    return _same_agency(user, tender)


@rule("clarification.ask")
def _clar_ask(user, tender):
    return _role(user, ORG_MEMBER) and tender.status == "open"


@rule("clarification.answer")
def _clar_answer(user, tender):
    return _same_agency(user, tender) and tender.status == "open"


@rule("clarification.view_pending")
def _clar_view_pending(user, tender):
    return _same_agency(user, tender) or _role(user, AUDITOR, ADMIN)


@rule("bid.prepare")
def _bid_prepare(user, obj=None):
    return _role(user, ORG_MEMBER) and user.organization_id is not None


@rule("audit.view")
def _audit_view(user, obj=None):
    return _role(user, AUDITOR, ADMIN)


@rule("officer.dashboard")
def _officer_dashboard(user, obj=None):
    return _role(user, OFFICER)


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
