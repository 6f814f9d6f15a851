"""Sanctions: a verified organization suspended or debarred through a last day (inclusive), and
reinstated. While sanctioned it cannot bid; when the period ends it may bid again.

Each verb checks its rules, changes rows, writes an audit event and tells the organization's members;
the caller commits.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.schemas import load
from marketplace.core.timeutil import local_date
from marketplace.orgs.decisions import notify_members, record_decision
from marketplace.orgs.models import DEBARRED, SUSPENDED, VERIFIED, Organization
from marketplace.orgs.schemas import ReasonInputSchema, SanctionInputSchema

# A sanction longer than this is almost certainly a typo in the date.
MAX_SANCTION_DAYS = 10 * 366


def _check_until(until: date) -> None:
    """The period ends after today, and within ten years."""
    today = local_date(clock.now())
    if until <= today:
        raise RuleViolation(_("The period must end after today."), field="until")
    if until > today + timedelta(days=MAX_SANCTION_DAYS):
        raise RuleViolation(_("The period can be at most ten years."), field="until")


def _require_sanctionable(org: Organization, status: str) -> None:
    if not org.is_listed:
        raise RuleViolation(
            _(
                "Only a verified organization can be suspended or debarred; reject a pending "
                "registration instead."
            )
        )
    if status == SUSPENDED and org.is_debarred_now:
        raise RuleViolation(
            _(
                "The organization is debarred until %(date)s; reinstate it before suspending it.",
                date=org.sanction_until,
            )
        )


_SANCTION_MESSAGES = {
    SUSPENDED: (
        N_("Your organization is suspended: %(name)s"),
        N_("Suspended until %(until)s.\nReason: %(reason)s"),
    ),
    DEBARRED: (
        N_("Your organization is debarred: %(name)s"),
        N_("Debarred until %(until)s (inclusive).\nReason: %(reason)s"),
    ),
}


def _notify_sanction(org: Organization, status: str, until: date, reason: str) -> None:
    subject, body = _SANCTION_MESSAGES[status]
    params = {"name": org.name, "until": until.isoformat(), "reason": reason}
    notify_members(org, f"org.{status}", subject, body, params)


def _sanction(org: Organization, status: str, until, reason: str, actor) -> Organization:
    _require_sanctionable(org, status)
    data = load(SanctionInputSchema(), {"until": until, "reason": reason})
    until, reason = data["until"], data["reason"]
    _check_until(until)
    previous = (org.status, org.sanction_until)
    org.status = status
    org.status_reason = reason
    org.sanction_until = until
    record_decision(org, status, actor, reason, until)
    audit.record(
        actor,
        "org.suspend" if status == SUSPENDED else "org.debar",
        "organization",
        org.id,
        N_("suspended until %(until)s: %(reason)s")
        if status == SUSPENDED
        else N_("debarred until %(until)s: %(reason)s"),
        {"status": [previous[0], status], "sanction_until": [previous[1], until]},
        params={"until": until.isoformat(), "reason": reason[:200]},
    )
    _notify_sanction(org, status, until, reason)
    return org


def suspend(org: Organization, until: date, reason: str, actor) -> Organization:
    """Suspend a verified organization through ``until`` (a local date, inclusive)."""
    return _sanction(org, SUSPENDED, until, reason, actor)


def debar(org: Organization, until: date, reason: str, actor) -> Organization:
    """Debar a verified organization through ``until`` (a local date, inclusive): it cannot bid."""
    return _sanction(org, DEBARRED, until, reason, actor)


def reinstate(org: Organization, reason: str, actor) -> Organization:
    if not org.has_sanction:
        raise RuleViolation(_("Only a suspended or debarred organization can be reinstated."))
    reason = load(ReasonInputSchema(), {"reason": reason})["reason"]
    previous = (org.status, org.sanction_until)
    org.status = VERIFIED
    org.status_reason = None
    org.sanction_until = None
    record_decision(org, "reinstated", actor, reason)
    audit.record(
        actor,
        "org.reinstate",
        "organization",
        org.id,
        N_("reinstated: %(reason)s"),
        {"status": [previous[0], VERIFIED], "sanction_until": [previous[1], None]},
        params={"reason": reason[:200]},
    )
    notify_members(
        org,
        "org.reinstated",
        N_("Your organization is reinstated: %(name)s"),
        N_("Reason: %(reason)s"),
        {"name": org.name, "reason": reason},
    )
    return org
