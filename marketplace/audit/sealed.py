"""What the audit log may show before an opening: bid events stay hidden until their tender is opened."""

from __future__ import annotations

from sqlalchemy import exists

from marketplace.audit.models import AuditEvent
from marketplace.tenders.bids.models import BidOpening


def sealed_bid_event_filter():
    """SQL condition hiding bid audit events whose tender has not been opened."""
    opened = exists().where(BidOpening.tender_id == AuditEvent.tender_id)
    return ~(AuditEvent.object_type == "bid") | opened
