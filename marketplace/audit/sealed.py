"""What the audit log may show before an opening: bid events stay hidden until their tender is opened
(and for good when the bids stayed sealed)."""

from __future__ import annotations

from sqlalchemy import exists

from marketplace.audit.models import AuditEvent
from marketplace.tenders.bids.models import BidOpening


def sealed_bid_event_filter():
    """SQL condition hiding bid audit events whose tender has not been opened, or whose bids stayed
    sealed because too few came in (O87 41: nobody learns who bid)."""
    opened = exists().where(
        BidOpening.tender_id == AuditEvent.tender_id, BidOpening.sealed_organizations.is_(None)
    )
    return ~(AuditEvent.object_type == "bid") | opened
