"""Permission rules for the evaluation and award stage. Registered by ``create_app``.

The procuring agency's officers run the stage; committee members act only on their own seat; auditors
and admins read the report; the bidders file challenges. Nobody else changes anything.
"""

from __future__ import annotations

from sqlalchemy import exists, select

from marketplace.core.permissions import (
    ADMIN,
    AUDITOR,
    EVALUATOR,
    OFFICER,
    _authenticated,
    _role,
    _same_agency,
)
from marketplace.extensions import db
from marketplace.tenders.bids.bidders import is_member
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.bids.opening import opened_bids
from marketplace.tenders.committee.members import member_may_see_bids, membership
from marketplace.tenders.committee.models import CommitteeMember
from marketplace.tenders.models import Tender


def _has_seat(user) -> bool:
    return bool(db.session.scalar(select(exists().where(CommitteeMember.user_id == user.id))))


def _award_manage(user, tender):
    """Form the committee, qualify, conclude, award, answer challenges: the agency's officers."""
    return isinstance(tender, Tender) and _same_agency(user, tender)


def _award_report(user, tender):
    """The evaluation report: the agency's officers, auditors, admins and the active committee members."""
    if not isinstance(tender, Tender) or not _authenticated(user):
        return False
    if _same_agency(user, tender) or _role(user, AUDITOR, ADMIN):
        return True
    member = membership(tender, user)
    return member is not None and member.active


def _award_challenge(user, tender):
    """A member of an organization whose bid was opened for this tender."""
    if not isinstance(tender, Tender) or not _authenticated(user) or user.organization_id is None:
        return False
    return is_member(user, user.organization_id) and user.organization_id in {
        b.organization_id for b in opened_bids(tender)
    }


def _draw_records(user, tender):
    """The expert draws of a tender, with the names drawn: the agency's officers, auditors and admins
    (the names stay confidential to everyone else until the award notice names the committee)."""
    if not isinstance(tender, Tender) or not _authenticated(user):
        return False
    return _same_agency(user, tender) or _role(user, AUDITOR, ADMIN)


def _experts_manage(user, obj=None):
    """Keep the expert pool: admins."""
    return _role(user, ADMIN)


def _read_bid(user, bid):
    """An opened bid, for an active member who declared no conflict, once the evaluation has started
    (``bids.visibility.visible_bid`` asks this)."""
    return isinstance(bid, Bid) and member_may_see_bids(membership(bid.tender, user))


def _evaluation_mine(user, obj=None):
    """Evaluators, and officers who sit on a committee as the buyer's representative."""
    return _role(user, EVALUATOR) or (_role(user, OFFICER) and _has_seat(user))


def _evaluation_member(user, member):
    """Acting on a committee seat: only the person who holds it."""
    return isinstance(member, CommitteeMember) and _authenticated(user) and member.user_id == user.id


RULES = {
    "committee.manage": _award_manage,
    "committee.report": _award_report,
    "committee.draws": _draw_records,
    "experts.manage": _experts_manage,
    "committee.challenge": _award_challenge,
    "committee.read_bid": _read_bid,
    "committee.mine": _evaluation_mine,
    "committee.seat": _evaluation_member,
}
