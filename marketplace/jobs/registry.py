"""The scheduled jobs: what each does, as a function of "now", and how often.

A job is either **per item**: ``due(now)`` lists the keys of the items that are due (one query) and
``run(now, key)`` handles one of them, in a transaction of its own (a failing item is recorded and
the others go on); or **set-based**: ``run(now)`` changes every due row with a few statements, in one
transaction. Either returns what it changed: a bool per item, or ``{"changed": n, ...counts}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace.audit import chain
from marketplace.bonds import returns as bond_returns
from marketplace.contracts import schedule
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.tenders.bids import opening
from marketplace.tenders.bids.ceremony import verbs as ceremony
from marketplace.tenders.committee import awards
from marketplace.tenders.committee.models import Award
from marketplace.tenders.models import OPEN, Tender
from marketplace.timelimits import tracking


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable  # run(now) for a set-based job; run(now, key) for one item of a per-item job
    interval_setting: str  # the config key holding its interval in seconds
    description: str
    due: Callable[[datetime], list] | None = None  # per-item jobs: the keys of the due items
    label: str = "changed"  # per-item jobs: the details key listing the items that changed
    record_idle: bool = True  # False: a run that changed nothing leaves no row in the run log


class UnknownJob(LookupError):
    pass


# --- open-bids and finalize-awards: per tender ---------------------------------------------------


def _tenders_past_deadline(now: datetime) -> list[int]:
    return list(
        db.session.scalars(
            select(Tender.id)
            .where(Tender.status == OPEN, Tender.bid_deadline <= now - opening.opening_grace())
            .order_by(Tender.id)
        )
    )


def _open_bids(now: datetime, tender_id: int) -> bool:
    """Open one tender's bids, or begin or close its opening ceremony (idempotent: False when there was
    nothing to do)."""
    tender = db.session.get(Tender, tender_id)
    return tender is not None and ceremony.open_if_due(tender)


def _awards_past_window(now: datetime) -> list[int]:
    return list(
        db.session.scalars(
            select(Award.tender_id)
            .where(Award.status == "notice", Award.challenge_deadline < now)
            .distinct()
            .order_by(Award.tender_id)
        )
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


def _time_limits_due(now: datetime) -> list[str]:
    return tracking.due_reminders(local_date(now))


def _remind_time_limit(now: datetime, key: str) -> bool:
    """Remind the officers of one limit passing soon (idempotent: False once reminded)."""
    return tracking.send_reminder(local_date(now), key)


def _bond_returns_due(now: datetime) -> list[int]:
    return bond_returns.due_flags(local_date(now))


def _flag_bond_return(now: datetime, bond_id: int) -> bool:
    """Flag one bid bond overdue for return and tell the officers (idempotent: False once flagged)."""
    return bond_returns.flag_overdue_return(local_date(now), bond_id)


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
            _l("Flag milestones past due and not met; notify once a day"),
        ),
        Job(
            "send-reminders",
            _send_reminders,
            "JOB_SLOW_INTERVAL",
            _l("Remind organizations of milestones due soon"),
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
    )
}


def get(name: str) -> Job:
    job = JOBS.get(name)
    if job is None:
        raise UnknownJob(name)
    return job
