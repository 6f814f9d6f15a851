"""The one place the tender signals are connected to their receivers. ``create_app`` calls
:func:`connect_signals`; importing a module connects nothing."""

from __future__ import annotations

from marketplace.tenders.bids import reactions
from marketplace.tenders.bids.ceremony import keys
from marketplace.tenders.signals import (
    tender_amended,
    tender_cancelled,
    tender_publication_check,
    tender_publishing,
)


def connect_signals() -> None:
    """Connect every receiver (idempotent: connecting the same receiver twice keeps one)."""
    tender_amended.connect(reactions.ask_for_reconfirmation)
    tender_cancelled.connect(reactions.tell_bidders_of_cancellation)
    tender_publication_check.connect(keys.on_publication_check)
    tender_publishing.connect(keys.on_publishing)
