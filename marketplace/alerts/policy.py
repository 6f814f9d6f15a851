"""Who may keep saved searches: the users of a social organization, each organization's searches
its own (another organization's are not found: 404 before 403, see views)."""

from __future__ import annotations

from marketplace.alerts.models import SavedSearch
from marketplace.core.permissions import ORG_MEMBER, _role


def _member(user) -> bool:
    return _role(user, ORG_MEMBER) and user.organization_id is not None


def _create(user, obj=None):
    return _member(user)


def _manage(user, saved):
    return isinstance(saved, SavedSearch) and _member(user) and saved.organization_id == user.organization_id


RULES = {
    "saved_search.create": _create,
    "saved_search.manage": _manage,
}
