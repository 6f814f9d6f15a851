"""The officers' review of registrations: verify, reject, or ask for more information; the queue.

Each verb checks its rules, changes rows, writes an audit event and tells the organization's members;
the caller commits.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, case, func, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.errors import RuleViolation
from marketplace.core.labels import label
from marketplace.core.messages import N_
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.orgs.decisions import notify_members, record_decision
from marketplace.orgs.models import (
    INFO_REQUESTED,
    PENDING,
    REJECTED,
    REVIEWABLE_STATUSES,
    VERIFIED,
    Organization,
)
from marketplace.orgs.schemas import ReasonInputSchema


def _require_reviewable(org: Organization) -> None:
    if not org.awaits_review:
        raise RuleViolation(
            _(
                "Only a pending registration (or one awaiting information) can be reviewed; this one is "
                "%(status)s.",
                status=label("org", org.status),
            )
        )


def verify(org: Organization, actor) -> Organization:
    _require_reviewable(org)
    previous = org.status
    org.status = VERIFIED
    org.status_reason = None
    org.sanction_until = None
    org.verified_at = clock.now()
    record_decision(org, "verified", actor)
    audit.record(
        actor, "org.verify", "organization", org.id, N_("verified"), {"status": [previous, VERIFIED]}
    )
    notify_members(
        org,
        "org.verified",
        N_("Your organization is verified: %(name)s"),
        N_("Your organization is verified and may now bid."),
        {"name": org.name},
    )
    return org


def reject(org: Organization, reason: str, actor) -> Organization:
    _require_reviewable(org)
    reason = load(ReasonInputSchema(), {"reason": reason})["reason"]
    previous = org.status
    org.status = REJECTED
    org.status_reason = reason
    record_decision(org, "rejected", actor, reason)
    audit.record(
        actor,
        "org.reject",
        "organization",
        org.id,
        N_("rejected: %(reason)s"),
        {"status": [previous, REJECTED]},
        params={"reason": reason[:200]},
    )
    notify_members(
        org,
        "org.rejected",
        N_("Registration rejected: %(name)s"),
        N_("Reason: %(reason)s\nPlease correct the registration and resubmit."),
        {"name": org.name, "reason": reason},
    )
    return org


def request_info(org: Organization, reason: str, actor) -> Organization:
    if org.status != PENDING:
        raise RuleViolation(_("More information can be requested only for a pending registration."))
    reason = load(ReasonInputSchema(), {"reason": reason})["reason"]
    org.status = INFO_REQUESTED
    org.status_reason = reason
    record_decision(org, "info_requested", actor, reason)
    audit.record(
        actor,
        "org.request_info",
        "organization",
        org.id,
        N_("asked for more information: %(reason)s"),
        {"status": [PENDING, INFO_REQUESTED]},
        params={"reason": reason[:200]},
    )
    notify_members(
        org,
        "org.info_requested",
        N_("More information requested: %(name)s"),
        N_("%(reason)s\nPlease add the information and resubmit."),
        {"name": org.name, "reason": reason},
    )
    return org


# --- the queue ------------------------------------------------------------------------------------


def review_queue_query(status: str = "") -> Select:
    """Pending and info-requested registrations first (oldest first), then the rest."""
    stmt = select(Organization)
    if status:
        stmt = stmt.where(Organization.status == status)
    waiting = case((Organization.status.in_(REVIEWABLE_STATUSES), 0), else_=1)
    return stmt.order_by(waiting, Organization.submitted_at.asc(), Organization.id.asc())


def waiting_count() -> int:
    """Registrations waiting for a reviewer (pending or with information requested)."""
    return (
        db.session.scalar(
            select(func.count()).select_from(Organization).where(Organization.status.in_(REVIEWABLE_STATUSES))
        )
        or 0
    )
