"""The red flags' verbs and reads: the auditor's review, and the flags a user may see."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import false, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.permissions import can
from marketplace.redflags.models import RedFlag
from marketplace.tenders.models import Tender

NOTE_MAX = 2000


def review_flag(flag: RedFlag, note: str, actor) -> RedFlag:
    """Mark a flag reviewed with the auditor's note (again: the newer note replaces it on the flag; each
    review stays in the audit log). The flag itself is kept."""
    note = (note or "").strip()
    if not note:
        raise RuleViolation(_("Write a note on what the review found."), field="note")
    if len(note) > NOTE_MAX:
        raise RuleViolation(_("The note is too long (at most %(n)d characters).", n=NOTE_MAX), field="note")
    before = {"reviewed_at": flag.reviewed_at, "review_note": flag.review_note}
    flag.reviewed_at = clock.now()
    flag.reviewed_by_id = actor.id
    flag.review_note = note
    audit.record(
        actor,
        "redflag.reviewed",
        "red_flag",
        flag.id,
        N_("Red flag %(indicator)s reviewed"),
        {"before": before, "note": note, "figures": flag.figures},
        tender_id=flag.tender_id,
        params={"indicator": flag.indicator},
    )
    return flag


def visible_to(user):
    """The WHERE condition on ``Tender`` (joined to ``RedFlag``) of the flags ``user`` may see."""
    if can(user, "redflags.see_all"):
        return Tender.id.is_not(None)
    if can(user, "redflags.view"):
        return Tender.agency_id == user.agency_id
    return false()


def flags_query(user, conditions=()):
    return select(RedFlag).join(Tender, Tender.id == RedFlag.tender_id).where(visible_to(user), *conditions)
