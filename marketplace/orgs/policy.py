"""Permission rules for organizations (``RULES``, registered by ``create_app``).

Auditors see everything and change nothing; officers and admins review and sanction; members act
only for their own organization.
"""

from __future__ import annotations

from marketplace.core.permissions import ADMIN, AUDITOR, OFFICER, ORG_MEMBER, _role
from marketplace.orgs.models import EDITABLE_STATUSES, Organization


def is_member(user, org) -> bool:
    """``user`` is an active member of ``org`` (and ``org`` really is an organization)."""
    return (
        isinstance(org, Organization)
        and org.id is not None
        and _role(user, ORG_MEMBER)
        and user.organization_id == org.id
    )


def _org_mine(user, obj=None):
    return _role(user, ORG_MEMBER) and user.organization_id is not None


def _org_review(user, obj=None):
    return _role(user, OFFICER, ADMIN)


def _org_sanction(user, obj=None):
    return _role(user, OFFICER, ADMIN)


def _org_view_private(user, org=None):
    return _role(user, OFFICER, ADMIN, AUDITOR) or is_member(user, org)


def _org_view(user, org):
    """The profile: public once the verification stands; before that, members and reviewers only."""
    return isinstance(org, Organization) and (org.is_listed or _org_view_private(user, org))


def _org_edit(user, org):
    return is_member(user, org) and org.status in EDITABLE_STATUSES


def _org_invite(user, org):
    return is_member(user, org)


RULES = {
    "org.mine": _org_mine,
    "org.review": _org_review,
    "org.sanction": _org_sanction,
    "org.view": _org_view,
    "org.view_private": _org_view_private,
    "org.edit": _org_edit,
    "org.invite": _org_invite,
}
