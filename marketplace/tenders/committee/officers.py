"""The procuring agency's officers: they run the evaluation and award stage, and are told of it."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import OFFICER
from marketplace.core.records import require_open_record
from marketplace.extensions import db
from marketplace.tenders.models import Tender


def require_officer(tender: Tender, actor, *, closed_ok: bool = False) -> None:
    """Raise unless ``actor`` is an officer of the agency that runs ``tender``, and (unless
    ``closed_ok``: re-running a failed tender) the procurement is still open (core.records)."""
    if not (actor is not None and actor.role == OFFICER and actor.agency_id == tender.agency_id):
        raise RuleViolation(_("Only an officer of the procuring agency can do this."))
    if not closed_ok:
        require_open_record(tender)


def agency_users(tender: Tender) -> list[User]:
    """The active users of the procuring agency (whom a conflict or a challenge is reported to)."""
    return list(
        db.session.scalars(select(User).where(User.agency_id == tender.agency_id, User.active.is_(True)))
    )
