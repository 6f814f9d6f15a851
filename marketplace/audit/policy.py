"""Who may read the audit log, the contract histories and the exports: auditors and admins."""

from __future__ import annotations

from marketplace.core.permissions import ADMIN, AUDITOR, _role


def _audit_view(user, obj=None):
    return _role(user, AUDITOR, ADMIN)


RULES = {
    "audit.view": _audit_view,
}
