"""Demo bonds: the bid bonds of the first award's bidders (one loser's still not returned: overdue,
flagged on the officer's dashboard and by the bond-returns job) and its contract's performance bond.

The demo's time limits need no data of their own: the third award was decided weeks after the
committee's report, so its decision limit shows as met late on the health commission officer's
dashboard (officer2@example.org) and on the tender's time-limits page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from marketplace import clock
from marketplace.bonds import services as bonds
from marketplace.contracts.queries import contract_of
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.tenders.bids.opening import opened_bids, opening_time
from marketplace.tenders.committee.awards import current_award
from marketplace.tenders.models import Tender


def _award_bonds(tender: Tender) -> int:
    """The losers' bid bonds recorded just after the opening, the first returned three days after the
    award notice and the others not; the winner's performance bond at 10 % of the contract value."""
    officer = tender.created_by
    award = current_award(tender)
    clock.set_now(opening_time(tender) + timedelta(hours=1))
    received = local_date(tender.bid_deadline) - timedelta(days=1)
    losers = [b for b in opened_bids(tender) if b.id != award.bid_id]
    for n, bid in enumerate(losers):
        amount = (tender.bid_bond_cap / Decimal(2 + n)).quantize(Decimal("1"))
        bonds.record_bid_bond(
            tender,
            {
                "bid_id": bid.public_id,
                "amount": str(amount),
                "form": "transfer",
                "received_on": received.isoformat(),
            },
            officer,
        )
    recorded = bonds.bid_bonds(tender)
    if recorded:
        returned = local_date(award.published_at) + timedelta(days=3)
        clock.set_now(start_of_local_day(returned) + timedelta(hours=10))
        bonds.return_bid_bond(recorded[0], {"returned_on": returned.isoformat()}, officer)
    contract = contract_of(tender)
    if contract is not None and contract.activated_at is not None:
        clock.set_now(contract.activated_at + timedelta(hours=1))
        bonds.record_performance_bond(
            contract,
            {
                "amount": str(bonds.performance_bond_cap(contract)),
                "form": "bank_guarantee",
                "received_on": local_date(clock.now()).isoformat(),
            },
            officer,
        )
    return len(recorded)


def load_obligations(awarded: list[Tender], real_now: datetime) -> int:
    """Returns how many bid bonds the demo recorded."""
    count = _award_bonds(awarded[0]) if awarded else 0
    clock.set_now(real_now)
    return count
