"""The scheduled jobs: what each does, as a function of "now", and how often.

A job is either **per item**: ``due(now, after, limit)`` lists the keys of the next due items, at most
``limit`` of them in key order after ``after`` (one bounded query; a keyset, so no run holds every
id), with where the next batch starts (``None`` after the last one), and ``run(now, key)`` handles
one item in a transaction of its own (a failing item is recorded and the others go on); or
**set-based**: ``run(now)`` changes every due row with a few statements whose number does not depend
on the number of rows, in one transaction. Either returns what it changed: a bool per item, or
``{"changed": n, ...counts and at most DETAIL_IDS ids}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace.alerts import digest as saved_search_digest
from marketplace.audit import chain, export_tasks, published
from marketplace.bonds import returns as bond_returns
from marketplace.contracts import schedule
from marketplace.core import orphans
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.jobs import pruning
from marketplace.needs import services as needs_loop
from marketplace.ocds import feed as ocds_feed
from marketplace.redflags import job as red_flags
from marketplace.tenders.bids import opening
from marketplace.tenders.bids.ceremony import verbs as ceremony
from marketplace.tenders.committee import awards
from marketplace.tenders.committee.models import Award
from marketplace.tenders.models import OPEN, Tender
from marketplace.timelimits import tracking

Batch = tuple[list, Any]  # (keys of due items, in order; the ``after`` of the next batch or None)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable  # run(now) for a set-based job; run(now, key) for one item of a per-item job
    interval_setting: str  # the config key holding its interval in seconds
    description: str
    # per-item jobs: due(now, after, limit) -> (keys of the next due items, where the next batch starts)
    due: Callable[[datetime, Any, int], Batch] | None = None
    label: str = "changed"  # per-item jobs: the details key listing the items that changed
    record_idle: bool = True  # False: a run that changed nothing leaves no row in the run log


class UnknownJob(LookupError):
    pass


def _next_ids(stmt, column, after: int | None, limit: int) -> Batch:
    """The next ``limit`` values of ``column`` selected by ``stmt``, after ``after`` (a keyset)."""
    if after is not None:
        stmt = stmt.where(column > after)
    ids = list(db.session.scalars(stmt.order_by(column).limit(limit)))
    return ids, (ids[-1] if len(ids) == limit else None)


# --- open-bids and finalize-awards: per tender ---------------------------------------------------


def _tenders_past_deadline(now: datetime, after: int | None, limit: int) -> Batch:
    return _next_ids(
        select(Tender.id).where(Tender.status == OPEN, Tender.bid_deadline <= now - opening.opening_grace()),
        Tender.id,
        after,
        limit,
    )


def _open_bids(now: datetime, tender_id: int) -> bool:
    """Open one tender's bids, or begin or close its opening ceremony (idempotent: False when there was
    nothing to do)."""
    tender = db.session.get(Tender, tender_id)
    return tender is not None and ceremony.open_if_due(tender)


def _awards_past_window(now: datetime, after: int | None, limit: int) -> Batch:
    return _next_ids(
        select(Award.tender_id).where(Award.status == "notice", Award.challenge_deadline < now).distinct(),
        Award.tender_id,
        after,
        limit,
    )


def _finalize_award(now: datetime, tender_id: int) -> bool:
    tender = db.session.get(Tender, tender_id)
    return tender is not None and awards.finalize_if_due(tender)


# --- the audit chain: set-based -------------------------------------------------------------------


def _seal_audit(now: datetime) -> dict:
    """Link the committed, unsealed audit events into the hash chain (docs/audit.md)."""
    return {"changed": chain.seal_all()}


# --- the contract jobs: set-based ----------------------------------------------------------------


def _flag_overdue(now: datetime) -> dict:
    return schedule.flag_overdue(local_date(now))


def _send_reminders(now: datetime) -> dict:
    return schedule.send_reminders(local_date(now), int(current_app.config["REMINDER_DAYS"]))


def _contract_deadlines(now: datetime) -> dict:
    return schedule.contract_deadlines(now)


# --- statutory time limits: per limit ----------------------------------------------------------


def _time_limits_due(now: datetime, after: int | None, limit: int) -> Batch:
    return tracking.due_reminders(local_date(now), after, limit)


def _remind_time_limit(now: datetime, key: str) -> bool:
    """Remind the officers of one limit passing soon (idempotent: False once reminded)."""
    return tracking.send_reminder(local_date(now), key)


def _bond_returns_due(now: datetime, after: int | None, limit: int) -> Batch:
    return bond_returns.due_flags(local_date(now), after, limit)


def _flag_bond_return(now: datetime, bond_id: int) -> bool:
    """Flag one bid bond overdue for return and tell the officers (idempotent: False once flagged)."""
    return bond_returns.flag_overdue_return(local_date(now), bond_id)


# --- the OCDS release feed: per process (docs/ocds.md, "The release feed") --------------------------


def _live_processes(now: datetime, after: int | None, limit: int) -> Batch:
    return _next_ids(ocds_feed.live_processes_query(), Tender.id, after, limit)


def _all_processes(now: datetime, after: int | None, limit: int) -> Batch:
    return _next_ids(ocds_feed.all_processes_query(), Tender.id, after, limit)


def _position_releases(now: datetime, tender_id: int) -> bool:
    """Give feed positions to one process's new releases (idempotent: False when it had none)."""
    return ocds_feed.position_releases(tender_id) > 0


# --- background exports past their retention time: per export ------------------------------------


def _exports_past_retention(now: datetime, after: int | None, limit: int) -> Batch:
    return export_tasks.due_for_expiry(now, after, limit)


def _expire_export(now: datetime, export_id: int) -> bool:
    """Delete one export's file and mark it expired (idempotent: False once expired)."""
    return export_tasks.expire(export_id, now)


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "seal-audit",
            _seal_audit,
            "AUDIT_SEAL_INTERVAL",
            _l("Seal new audit events into the hash chain"),
            record_idle=False,
        ),
        Job(
            "publish-audit-head",
            published.publish,
            "AUDIT_PUBLISH_INTERVAL",
            _l("Publish the audit chain's head (open data page and a signed file) when it has moved"),
            record_idle=False,
        ),
        Job(
            "open-bids",
            _open_bids,
            "JOB_FAST_INTERVAL",
            _l("Open the bids of tenders past their deadline, or begin and close their opening ceremonies"),
            due=_tenders_past_deadline,
            label="opened",
        ),
        Job(
            "finalize-awards",
            _finalize_award,
            "JOB_FAST_INTERVAL",
            _l("Make awards final at the end of the challenge window"),
            due=_awards_past_window,
            label="finalized",
        ),
        Job(
            "flag-overdue",
            _flag_overdue,
            "JOB_SLOW_INTERVAL",
            _l("Flag milestones past due and not met; one digest a day to each person of both parties"),
        ),
        Job(
            "send-reminders",
            _send_reminders,
            "JOB_SLOW_INTERVAL",
            _l("Remind organizations of milestones due soon, one digest per person"),
        ),
        Job(
            "contract-deadlines",
            _contract_deadlines,
            "JOB_SLOW_INTERVAL",
            _l("Flag contracts unsigned after 30 days; announce contracts ending soon"),
        ),
        Job(
            "time-limit-reminders",
            _remind_time_limit,
            "JOB_SLOW_INTERVAL",
            _l("Remind officers of statutory time limits passing soon, once each"),
            due=_time_limits_due,
            label="reminded",
        ),
        Job(
            "bond-returns",
            _flag_bond_return,
            "JOB_SLOW_INTERVAL",
            _l("Flag bid bonds not returned within 5 working days, once each"),
            due=_bond_returns_due,
            label="flagged",
        ),
        Job(
            "ocds-feed",
            _position_releases,
            "OCDS_FEED_INTERVAL",
            _l("Give OCDS feed positions to the new releases of processes still under way"),
            due=_live_processes,
            label="processes",
            record_idle=False,
        ),
        Job(
            "ocds-feed-sweep",
            _position_releases,
            "JOB_SLOW_INTERVAL",
            _l("Give OCDS feed positions to the new releases of every process, ended ones included"),
            due=_all_processes,
            label="processes",
            record_idle=False,
        ),
        Job(
            "expire-exports",
            _expire_export,
            "JOB_SLOW_INTERVAL",
            _l("Delete background export files past their retention time, once each"),
            due=_exports_past_retention,
            label="expired",
        ),
        Job(
            "red-flags",
            red_flags.run_incremental,
            "REDFLAG_INTERVAL",
            _l("Recompute the red flags of the processes changed since the last run, per indicator"),
            due=red_flags.due_incremental,
            label="indicators",
            record_idle=False,
        ),
        Job(
            "red-flags-full",
            red_flags.run_full,
            "REDFLAG_FULL_INTERVAL",
            _l("Recompute every process's red flags, per indicator"),
            due=red_flags.due_full,
            label="indicators",
        ),
        Job(
            "sweep-uploads",
            orphans.sweep_orphans,
            "JOB_SLOW_INTERVAL",
            _l("Delete stored files no document refers to (left by failed forms) once old enough"),
            record_idle=False,
        ),
        Job(
            "saved-search-alerts",
            saved_search_digest.send_alerts,
            "SAVED_SEARCH_ALERT_INTERVAL",
            _l("Send each user the new tenders of their saved searches: inbox and one daily email digest"),
            due=saved_search_digest.users_due,
            label="alerted_users",
        ),
        Job(
            "prune-operational",
            pruning.prune,
            "JOB_PRUNE_INTERVAL",
            _l("Delete old run log rows, old read notifications, expired exports and idle sign-in locks"),
            record_idle=False,
        ),
        Job(
            "close-needs",
            needs_loop.close_the_loop,
            "JOB_SLOW_INTERVAL",
            _l("Link residents' needs to their tender's contract; mark them met once it serves their grid"),
            record_idle=False,
        ),
    )
}


def get(name: str) -> Job:
    job = JOBS.get(name)
    if job is None:
        raise UnknownJob(name)
    return job
