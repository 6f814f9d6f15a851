"""Publishing a draft: the earliest deadline each procedure allows, what stops publication, the verb."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import format_date
from flask_babel import gettext as _

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.records import require_open_record
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.tenders import invitations, procedures
from marketplace.tenders.drafting import input_from, validate
from marketplace.tenders.models import DRAFT, OPEN, Tender
from marketplace.tenders.signals import tender_publication_check, tender_publishing


def earliest_deadline_date(method: str, published_on: date) -> date:
    """The first local date the bid deadline may fall on when publishing on ``published_on``."""
    prof = procedures.profile(method)
    cal = WorkingCalendar.load()
    if prof.day_kind == procedures.WORKING_DAYS:
        return cal.add_working_days(published_on, prof.min_days)
    return cal.add_calendar_days(published_on, prof.min_days)


def earliest_deadline_hint(method: str) -> date:
    """The earliest deadline date for ``method`` when publishing today."""
    return earliest_deadline_date(method, local_date(clock.now()))


def default_deadline(method: str) -> datetime:
    """The earliest allowed deadline day for ``method``, at 09:30 local time (a new draft's default)."""
    day = earliest_deadline_hint(method)
    return start_of_local_day(day) + timedelta(hours=9, minutes=30)


def publication_problems(t: Tender) -> list[str]:
    """Everything that stops ``t`` from being published now (empty when it can be)."""
    problems: list[str] = []
    try:
        validate(input_from(t))
    except RuleViolation as exc:
        problems.append(exc.message)
    if t.bid_deadline is not None and t.bid_deadline > clock.now():
        problem = _deadline_problem(t)
        if problem:
            problems.append(problem)
    problems.extend(invitations.publication_problems(t))
    problems.extend(problem for _receiver, problem in tender_publication_check.send(t) if problem)
    return problems


def _deadline_problem(t: Tender) -> str | None:
    """Why the (future) bid deadline is too early for the procedure or not on a working day."""
    earliest = earliest_deadline_hint(t.method)
    deadline_day = local_date(t.bid_deadline)
    prof = procedures.profile(t.method)
    if deadline_day < earliest:
        unit = _("working days") if prof.day_kind == procedures.WORKING_DAYS else _("days")
        return _(
            "For %(method)s the bid deadline must be at least %(n)d %(unit)s after publication: "
            "on or after %(date)s.",
            method=prof.label,
            n=prof.min_days,
            unit=unit,
            date=format_date(earliest, "medium"),
        )
    if not WorkingCalendar.load().is_working_day(deadline_day):
        return _("The bid deadline (= bid opening) must fall on a working day.")
    return None


def publish(t: Tender, actor, *, confirm_not_excluded: bool) -> Tender:
    require_open_record(t)
    if t.status != DRAFT:
        raise RuleViolation(_("Only a draft can be published."))
    if not confirm_not_excluded:
        raise RuleViolation(
            _(
                "Confirm that the service is not one the government may not purchase (MOF Order 102, "
                "art. 10)."
            ),
            field="confirm_not_excluded",
        )
    invitations.hold_for_publication(t)
    problems = publication_problems(t)
    if problems:
        raise RuleViolation(problems[0], field="bid_deadline")
    t.status = OPEN
    t.not_excluded_confirmed = True
    t.published_at = clock.now()
    if not t.reference:
        year = local_date(t.published_at).year
        t.reference = f"{t.district_code}-{year}-{t.id:05d}"
    audit.record(
        actor,
        "tender.publish",
        "tender",
        t.id,
        N_("Published tender %(reference)s"),
        {"bid_deadline": t.bid_deadline, "method": t.method},
        params={"reference": t.reference},
    )
    tender_publishing.send(t, actor=actor)
    invitations.send_invitations(t, actor)
    return t
