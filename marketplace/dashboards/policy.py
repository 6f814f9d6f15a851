"""Who sees which dashboard. The officer's uses the existing ``officer.dashboard`` rule; the
organization's is for members of a registered organization (they see their own organization only).
"""

from __future__ import annotations

from marketplace.core.permissions import OFFICER, ORG_MEMBER, _role


def _organization_dashboard(user, obj=None):
    return _role(user, ORG_MEMBER) and user.organization_id is not None


def _officer_dashboard(user, obj=None):
    return _role(user, OFFICER)


RULES = {
    "officer.dashboard": _officer_dashboard,
    "organization.dashboard": _organization_dashboard,
}
