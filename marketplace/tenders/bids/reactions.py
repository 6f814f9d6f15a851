"""How bids react to what happens to their tender (receivers of :mod:`marketplace.tenders.signals`,
connected by :func:`marketplace.tenders.subscriptions.connect_signals`)."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.extensions import db
from marketplace.tenders.bids.bidders import organization_members
from marketplace.tenders.bids.models import ACTIVE, SUBMITTED, Bid
from marketplace.tenders.models import Amendment, Tender


def ask_for_reconfirmation(tender: Tender, amendment: Amendment, **_kwargs) -> None:
    """After an amendment, submitted bids must be re-confirmed; their organizations are told (only them).
    Every active bid's checked draft is set aside: the amendment may have changed what a complete bid
    is, so the draft is saved (and checked) again before it can be submitted."""
    active = db.session.scalars(select(Bid).where(Bid.tender_id == tender.id, Bid.status.in_(ACTIVE))).all()
    bids = [b for b in active if b.status == SUBMITTED]
    for bid in active:
        bid.ready_content = bid.ready_digest = bid.ready_sealed = None
    for bid in bids:
        bid.needs_reconfirmation = True
    notify(
        organization_members({b.organization_id for b in bids}),
        "bid.reconfirm",
        N_("Tender amended: please re-confirm your bid — %(title)s"),
        N_("Amendment %(number)s: review it and re-submit or re-confirm your bid before the deadline."),
        f"/bids/tender/{tender.id}",
        params={"title": tender.title, "number": str(amendment.number)},
    )


def tell_bidders_of_cancellation(tender: Tender, **_kwargs) -> None:
    """The organizations with an active (draft or submitted) bid learn that the tender was cancelled."""
    bids = db.session.scalars(select(Bid).where(Bid.tender_id == tender.id, Bid.status.in_(ACTIVE))).all()
    notify(
        organization_members({b.organization_id for b in bids}),
        "tender.cancelled",
        N_("Tender cancelled — %(title)s"),
        N_("Reason: %(reason)s"),
        f"/tenders/{tender.id}",
        params={"title": tender.title, "reason": tender.cancel_reason or ""},
    )
