"""Who sees a tender's statutory time limits: its agency's officers, auditors and admins."""

from __future__ import annotations

from marketplace.core.permissions import ADMIN, AUDITOR, _role, _same_agency
from marketplace.tenders.models import Tender


def _time_limits_view(user, tender):
    return isinstance(tender, Tender) and (_same_agency(user, tender) or _role(user, AUDITOR, ADMIN))


RULES = {"time_limits.view": _time_limits_view}
