"""The one place the tender signals are connected to their receivers. ``create_app`` calls
:func:`connect_signals`; importing a module connects nothing."""

from __future__ import annotations

from marketplace.tenders.bids import reactions
from marketplace.tenders.signals import tender_amended, tender_cancelled


def connect_signals() -> None:
    """Connect every receiver (idempotent: connecting the same receiver twice keeps one)."""
    tender_amended.connect(reactions.ask_for_reconfirmation)
    tender_cancelled.connect(reactions.tell_bidders_of_cancellation)
