"""Amending a published tender (澄清或者修改, IR 31; O87 27): what may change, and the deadline rules.

Bidders who already submitted must re-confirm: the bids layer does that on :data:`tender_amended`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from flask_babel import format_date
from flask_babel import gettext as _

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core import rules
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.documents import StoredFile
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.records import require_open_record
from marketplace.core.schemas import load
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.tenders.drafting import attach_document
from marketplace.tenders.models import OPEN, Amendment, Clarification, Tender
from marketplace.tenders.schemas import AmendmentInputSchema
from marketplace.tenders.signals import tender_amended

# Clarifications or amendments need this many calendar days before the deadline (IR 31; O87 27).


def amendment_min_deadline_date() -> date:
    """The earliest local date an amended deadline may be set to (15 days after today, start excluded)."""
    cal = WorkingCalendar.load()
    return cal.add_calendar_days(local_date(clock.now()), rules.days("AMENDMENT_NOTICE_DAYS"))


def deadline_must_move(t: Tender) -> bool:
    """Fewer than 15 days remain before the deadline: an amendment must move it (IR 31)."""
    return t.bid_deadline - clock.now() < timedelta(days=rules.days("AMENDMENT_NOTICE_DAYS"))


def amend(
    t: Tender,
    raw: Mapping,
    actor,
    documents: Sequence[StoredFile] = (),
    clarification: Clarification | None = None,
) -> Amendment:
    """Amend a published tender (``raw``: an :class:`AmendmentInputSchema`; ``documents`` are added).
    Subject (category) and eligibility cannot change (IR 31). The officer classifies the change: a
    substantive one follows the 15-day rule and asks bidders to re-confirm; one that is not (contact
    details, typos) leaves the deadline where it is. ``clarification``: the answer to it is what
    changes the documents."""
    now = clock.now()
    _require_open_before_deadline(t, now)
    data = load(AmendmentInputSchema(), raw)
    reason, substantive = data["reason"], data["substantive"]
    previous_deadline = t.bid_deadline
    changes = _field_changes(t, data)
    if not substantive:
        _require_minor(changes, documents)
    new_deadline = _checked_deadline(t, data["bid_deadline"] or t.bid_deadline, now, substantive)
    if new_deadline != t.bid_deadline:
        changes["bid_deadline"] = [t.bid_deadline, new_deadline]
    if clarification is not None:
        changes["clarification"] = [None, clarification.id]
    if not changes and not documents:
        raise RuleViolation(_("The amendment changes nothing. Change at least one field or add a document."))

    for name, (_old, new) in changes.items():
        setattr(t, name, new)
    amendment = Amendment(
        number=len(t.amendments) + 1,
        reason=reason,
        changes=audit._jsonable(changes),
        previous_deadline=previous_deadline,
        new_deadline=new_deadline,
        created_at=now,
        created_by_id=actor.id,
        substantive=substantive,
    )
    t.amendments.append(amendment)
    db.session.flush()
    if documents:
        for stored in documents:
            attach_document(t, stored, actor, amendment_id=amendment.id)
        changes["documents_added"] = [None, [d.filename for d in documents]]
        amendment.changes = audit._jsonable(changes)
    audit.record(
        actor,
        "tender.amend",
        "tender",
        t.id,
        N_("Amendment %(number)s (substantive): %(reason)s")
        if substantive
        else N_("Amendment %(number)s (not substantive): %(reason)s"),
        {**changes, "substantive": substantive},
        params={"number": amendment.number, "reason": reason[:200]},
    )
    if substantive:  # bids are re-confirmed only after a change that could affect them
        tender_amended.send(t, amendment=amendment)
    return amendment


# Changes that always could affect bids: never classified as not substantive.
_ALWAYS_SUBSTANTIVE = ("budget_ceiling", "contract_term_months")


def _require_minor(changes: dict, documents: Sequence[StoredFile]) -> None:
    if documents or any(name in changes for name in _ALWAYS_SUBSTANTIVE):
        raise RuleViolation(
            _(
                "A change to the budget ceiling, the contract term or the tender documents could affect "
                "bids: classify it as substantive."
            ),
            field="substantive",
        )


def _require_open_before_deadline(t: Tender, now: datetime) -> None:
    require_open_record(t)
    if t.status != OPEN:
        raise RuleViolation(_("Only a published tender that is open for bids can be amended."))
    if now >= t.bid_deadline:
        raise RuleViolation(_("The bid deadline has passed; the tender can no longer be amended."))


_CHANGEABLE = (
    "description",
    "budget_ceiling",
    "contract_term_months",
    "contact_name",
    "contact_phone",
    "contact_email",
)


def _field_changes(t: Tender, data: dict) -> dict:
    """``{field: [old, new]}`` for every field (but the deadline) the amendment changes."""
    return {
        name: [getattr(t, name), data[name]]
        for name in _CHANGEABLE
        if data[name] is not None and data[name] != getattr(t, name)
    }


def _checked_deadline(t: Tender, new_deadline: datetime, now: datetime, substantive: bool = True) -> datetime:
    """The amended deadline: never earlier, within a year, 15 days' notice, on a working day."""
    if new_deadline < t.bid_deadline:
        raise RuleViolation(
            _("An amendment may move the bid deadline later, never earlier."), field="bid_deadline"
        )
    if new_deadline > now + timedelta(days=366):
        raise RuleViolation(_("The bid deadline must be within a year."), field="bid_deadline")
    if substantive and deadline_must_move(t):
        earliest = amendment_min_deadline_date()
        if local_date(new_deadline) < earliest:
            raise RuleViolation(
                _(
                    "Fewer than %(n)d days remain before the deadline, so it must move to %(date)s or later "
                    "(Government Procurement Regulations, art. 31).",
                    n=rules.days("AMENDMENT_NOTICE_DAYS"),
                    date=format_date(earliest, "medium"),
                ),
                field="bid_deadline",
            )
    if new_deadline != t.bid_deadline and not WorkingCalendar.load().is_working_day(local_date(new_deadline)):
        raise RuleViolation(
            _("The bid deadline (= bid opening) must fall on a working day."), field="bid_deadline"
        )
    return new_deadline
