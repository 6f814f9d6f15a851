"""The history of review and sanction decisions an organization sees, and telling its members."""

from __future__ import annotations

from datetime import date

from marketplace import clock
from marketplace.core.notifications import notify
from marketplace.orgs.members import members
from marketplace.orgs.models import Organization, OrgDecision


def record_decision(
    org: Organization, action: str, actor, reason: str = "", until: date | None = None
) -> OrgDecision:
    """Keep a decision (submitted, verified, rejected, suspended, …) in the organization's history."""
    decision = OrgDecision(
        action=action,
        reason=reason,
        until=until,
        decided_at=clock.now(),
        decided_by_id=getattr(actor, "id", None),
    )
    org.decisions.append(decision)
    return decision


def notify_members(org: Organization, kind: str, subject: str, body: str, params: dict) -> None:
    """Tell every active member, linking to the organization's own page (``subject`` and ``body``:
    message ids, ``params``: their values)."""
    notify(members(org), kind, subject, body, "/orgs/mine", params=params)
