"""Who sees red flags: auditors and admins every agency's; an officer only their own agency's; nobody
else any. Only auditors and admins mark a flag reviewed."""

from __future__ import annotations

from marketplace.core.permissions import ADMIN, AUDITOR, OFFICER, _role


def _view(user, obj=None):
    return _role(user, AUDITOR, ADMIN) or (_role(user, OFFICER) and user.agency_id is not None)


def _see_all(user, obj=None):
    return _role(user, AUDITOR, ADMIN)


def _view_flag(user, flag):
    if _role(user, AUDITOR, ADMIN):
        return True
    return (
        flag is not None
        and _role(user, OFFICER)
        and user.agency_id is not None
        and flag.tender.agency_id == user.agency_id
    )


def _review(user, flag=None):
    return _role(user, AUDITOR, ADMIN)


RULES = {
    "redflags.view": _view,
    "redflags.see_all": _see_all,
    "redflags.view_flag": _view_flag,
    "redflags.review": _review,
}
