"""Who may see and record bonds: the procuring agency's officers record them; auditors and admins read."""

from __future__ import annotations

from marketplace.contracts.models import Contract
from marketplace.core.permissions import ADMIN, AUDITOR, _role, _same_agency
from marketplace.tenders.bids.bidders import is_member
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.models import Tender


def _bond_manage(user, obj):
    """A tender's bid bonds, a contract's performance bond: an officer of the procuring agency."""
    return isinstance(obj, Tender | Contract) and _same_agency(user, obj)


def _bond_view(user, obj):
    return _bond_manage(user, obj) or (isinstance(obj, Tender | Contract) and _role(user, AUDITOR, ADMIN))


def _bond_declare(user, bid):
    """A bid's own bond: the members of the bidding organization."""
    return isinstance(bid, Bid) and is_member(user, bid.organization_id)


RULES = {
    "bond.declare": _bond_declare,
    "bond.manage": _bond_manage,
    "bond.view": _bond_view,
}
