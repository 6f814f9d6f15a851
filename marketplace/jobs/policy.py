"""Who may see the run log and run a job now: admins."""

from __future__ import annotations

from marketplace.core.permissions import ADMIN, _role


def jobs_admin(user, obj=None) -> bool:
    return _role(user, ADMIN)


RULES = {"jobs.admin": jobs_admin}
