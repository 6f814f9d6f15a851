"""Demo bids: eligible verified organizations bid two days after a tender's publication."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from marketplace import clock
from marketplace.orgs.models import Organization
from marketplace.tenders.bids import submission
from marketplace.tenders.bids.bidders import eligibility_problems
from marketplace.tenders.models import Tender


def place_bids(tender: Tender, bidders: list[Organization], published_at: datetime, limit: int) -> int:
    """Bids from eligible verified organizations, submitted two days after publication."""
    clock.set_now(published_at + timedelta(days=2))
    placed = 0
    for n, org in enumerate(bidders):
        if placed >= limit or eligibility_problems(org, tender):
            continue
        member = org.members[0]
        price = (tender.budget_ceiling * Decimal(str(0.97 - 0.04 * placed - 0.01 * (n % 3)))).quantize(
            Decimal("1")
        )
        bid = submission.save_draft(
            tender,
            org,
            {
                "price": price,
                "responses": {
                    c.id: f"{org.name}关于“{c.name}”的响应。Our response on {c.name}."
                    for c in tender.technical_criteria
                },
                "declarations": list(submission.required_declarations(tender)),
            },
            member,
        )
        submission.submit(bid, member)
        placed += 1
    return placed
