"""Who may see which bid, and the only queries that read bids.

Confidentiality rule: before a tender's opening, a bid is visible to the members of the bidding
organization and to nobody else. Every read goes through :func:`visible_bid` or the per-organization
queries here; the opening record is made once, at the deadline (:mod:`.opening`). What the committee
may read is its own rule (``committee.read_bid``), asked through the policy registry.
"""

from __future__ import annotations

from sqlalchemy import select

from marketplace.core.permissions import ADMIN, AUDITOR, OFFICER, can
from marketplace.extensions import db
from marketplace.tenders.bids.bidders import is_member
from marketplace.tenders.bids.models import ACTIVE, SUBMITTED, WITHDRAWN, Bid, BidOpening
from marketplace.tenders.models import Tender


def opening_of(tender: Tender) -> BidOpening | None:
    return db.session.scalar(select(BidOpening).where(BidOpening.tender_id == tender.id))


def may_view_opened_bids(user, tender: Tender) -> bool:
    """After opening: the tender's officers, auditors and admins (the committee: ``committee.read_bid``)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.role in (AUDITOR, ADMIN):
        return True
    return user.role == OFFICER and user.agency_id == tender.agency_id


def may_view_opening(user, tender: Tender, opening: BidOpening | None) -> bool:
    if opening is None:
        return False
    if may_view_opened_bids(user, tender):
        return True
    bidders = [row["organization_id"] for row in opening.record] + list(opening.sealed_organizations or [])
    bidders += [row["organization_id"] for row in opening.undecrypted or []]
    return any(is_member(user, org_id) for org_id in bidders)


def was_opened(bid: Bid, opening: BidOpening | None) -> bool:
    """Whether the bid is in the opening record (bids that stayed sealed, or were not re-confirmed
    after an amendment, never are)."""
    return opening is not None and any(row["bid_id"] == bid.id for row in opening.record)


def visible_bid(public_id, user) -> Bid | None:
    """The bid with that public id if ``user`` may see it, else ``None`` (the caller answers 404:
    existence is not disclosed). Only the random public id finds a bid: never the sequential id."""
    if not isinstance(public_id, str) or not public_id:
        return None
    bid = db.session.scalar(select(Bid).where(Bid.public_id == public_id))
    if bid is None:
        return None
    if is_member(user, bid.organization_id):
        return bid
    if bid.status != SUBMITTED or not was_opened(bid, opening_of(bid.tender)):
        return None
    if may_view_opened_bids(user, bid.tender) or can(user, "committee.read_bid", bid):
        return bid
    return None


def active_bid(tender: Tender, organization_id: int) -> Bid | None:
    return db.session.scalar(
        select(Bid).where(
            Bid.tender_id == tender.id, Bid.organization_id == organization_id, Bid.status.in_(ACTIVE)
        )
    )


def last_withdrawn_bid(tender: Tender, organization_id: int) -> Bid | None:
    """The organization's most recently withdrawn bid on the tender (its own: only its members ask)."""
    return db.session.scalar(
        select(Bid)
        .where(Bid.tender_id == tender.id, Bid.organization_id == organization_id, Bid.status == WITHDRAWN)
        .order_by(Bid.withdrawn_at.desc(), Bid.id.desc())
        .limit(1)
    )


def reusable_content(bid: Bid | None) -> bool:
    """Whether a withdrawn bid still holds a working copy to start the next bid from (a sealed bid's
    submitted version cannot be read back: its working copy was erased when it was submitted)."""
    if bid is None:
        return False
    return bid.price is not None or any((bid.responses or {}).values()) or bool(bid.attachments)


def bids_of_organization(organization_id: int):
    return (
        select(Bid)
        .where(Bid.organization_id == organization_id)
        .order_by(Bid.updated_at.desc(), Bid.id.desc())
    )


def bidding_organization_ids(tender: Tender) -> set[int]:
    """The organizations with an active (draft or submitted) bid on ``tender``: their staff may not
    evaluate it. Only the ids leave this module, never the bids."""
    return set(
        db.session.scalars(
            select(Bid.organization_id).where(Bid.tender_id == tender.id, Bid.status.in_(ACTIVE))
        )
    )
