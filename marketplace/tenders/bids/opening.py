"""The opening of the bids at the deadline (开标): the record, made once, and the opened bids.

With fewer bids than the procedure's minimum the bids stay sealed and the tender fails (流标, O87 41);
when every bid is over the budget ceiling, or too few are within it, it fails too (GPL 36). Bidders
are told why.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.extensions import db
from marketplace.tenders import procedures
from marketplace.tenders.bids.bidders import is_member, organization_members
from marketplace.tenders.bids.models import SUBMITTED, Bid, BidOpening
from marketplace.tenders.bids.submission import lock_tender
from marketplace.tenders.bids.visibility import opening_of
from marketplace.tenders.models import FAILED, OPEN, OPENED, Tender
from marketplace.tenders.records import record_text


def opened_bids(tender: Tender) -> list[Bid]:
    """The bids in the opening record, in its order."""
    opening = opening_of(tender)
    if opening is None:
        return []
    ids = [row["bid_id"] for row in opening.record]
    bids = {b.id: b for b in db.session.scalars(select(Bid).where(Bid.id.in_(ids)))}
    return [bids[i] for i in ids if i in bids]


def own_opened_bid(tender: Tender, user) -> Bid | None:
    """The opened bid of ``user``'s organization, if it bid."""
    return next((b for b in opened_bids(tender) if is_member(user, b.organization_id)), None)


def opening_grace() -> timedelta:
    """How long after the deadline the bids are opened: requests that reached the server before the
    deadline may still be in flight, and their bids count (docs/bidding.md)."""
    seconds = current_app.config.get("BID_OPENING_GRACE_SECONDS", 90) if has_app_context() else 90
    return timedelta(seconds=max(0, int(seconds)))


def opening_time(tender: Tender) -> datetime:
    """When the tender's bids are opened: its deadline plus the grace for requests in flight."""
    return tender.bid_deadline + opening_grace()


def _record_row(bid: Bid, tender: Tender) -> dict:
    latest = bid.submissions[-1]
    return {
        "bid_id": bid.id,
        "organization_id": bid.organization_id,
        "organization": bid.organization.name,
        "uscc": bid.organization.uscc,
        "price": f"{latest.price:.2f}",
        "submitted_at": latest.submitted_at.isoformat(),
        "version": latest.version,
        "digest": latest.digest,
        # the SHA-256 of the ciphertext that was decrypted (a bid of a tender with an opening key)
        "sealed_sha256": latest.sealed_sha256,
        "reconfirmed": not bid.needs_reconfirmation,
        "over_ceiling": latest.price > tender.budget_ceiling,
    }


def _failure(tender: Tender, counted: list[dict]) -> str | None:
    """Why the opening fails the tender, or None (DOMAIN.md "Minimum bidders"; GPL 36)."""
    profile = procedures.profile(tender.method)
    if len(counted) < profile.min_bids:
        return record_text(
            N_(
                "Only %(n)s bid(s) were received; %(method)s requires at least %(minimum)s (MOF "
                "Order 87, art. 41)."
            ),
            n=len(counted),
            method=tender.method,
            minimum=profile.min_bids,
        )
    within = [r for r in counted if not r["over_ceiling"]]
    if not within:
        return record_text(N_("Every bid exceeds the budget ceiling (Government Procurement Law, art. 36)."))
    if len(within) < profile.min_qualified_bids:
        return record_text(
            N_(
                "Only %(n)s bid(s) are within the budget ceiling; %(method)s requires at least %(minimum)s "
                "(Government Procurement Law, art. 36)."
            ),
            n=len(within),
            method=tender.method,
            minimum=profile.min_qualified_bids,
        )
    return None


def open_bids(
    tender: Tender, actor=None, *, undecrypted: list[dict] | None = None, failure: str | None = None
) -> BidOpening:
    """Make the opening record at (or after) the deadline. Idempotent: a second call returns the first
    record.

    A tender with an opening key (its bids encrypted) gets its record from the ceremony
    (``ceremony.verbs``), which passes the bids that did not decrypt (``undecrypted``) and, when the
    key was not rebuilt, the ``failure``; called directly, only when too few bids came in to be
    decrypted at all.

    Only bids re-confirmed after the last amendment are opened and counted. With fewer than the
    procedure's minimum the bids stay sealed: the record names nobody and shows no price (O87 41).
    A bid over the budget ceiling (which an amendment may have lowered) is opened but cannot
    qualify; when every bid, or all but fewer than the minimum, is over it, the tender fails.
    """
    tender = lock_tender(tender)
    existing = opening_of(tender)
    if existing is not None:
        return existing
    if tender.status != OPEN:
        raise RuleViolation(_("Only a published tender's bids can be opened."))
    now = clock.now()
    if now < opening_time(tender):
        raise RuleViolation(
            _(
                "Bids are not opened before the deadline and %(n)s seconds more, in which the bids "
                "received before it are recorded.",
                n=int(opening_grace().total_seconds()),
            )
        )
    bids = db.session.scalars(
        select(Bid)
        .where(Bid.tender_id == tender.id, Bid.status == SUBMITTED)
        .order_by(Bid.submitted_at, Bid.id)
    ).all()
    counted_bids = [bid for bid in bids if not bid.needs_reconfirmation]
    sealed = len(counted_bids) < procedures.profile(tender.method).min_bids
    if tender.bid_public_key and undecrypted is None and not sealed:
        raise RuleViolation(
            _("The bids are encrypted: they are opened by the opening ceremony, with the officers' shares.")
        )
    # Bids that stay sealed are not read (an encrypted one could not be): only who bid is kept.
    counted = (
        [{"organization_id": bid.organization_id} for bid in counted_bids]
        if sealed
        else [_record_row(bid, tender) for bid in counted_bids]
    )
    reason = failure or _failure(tender, counted)
    opening = BidOpening(
        tender_id=tender.id,
        opened_at=now,
        bid_count=len(counted),
        failed=reason is not None,
        failure_reason=reason,
        record=[] if sealed else counted,
        unconfirmed_count=len(bids) - len(counted),
        undecrypted=undecrypted or None,
    )
    if sealed:  # left unset otherwise: SQL NULL, which the audit filter (audit.sealed) tests
        opening.sealed_organizations = [r["organization_id"] for r in counted] + [
            u["organization_id"] for u in undecrypted or []
        ]
    db.session.add(opening)
    tender.status = FAILED if reason else OPENED
    tender.failure_reason = reason
    tender.failed_at = now if reason else None
    db.session.flush()
    audit.record(
        actor,
        "tender.open_bids",
        "tender",
        tender.id,
        N_("Opened %(n)s bid(s); the tender failed") if reason else N_("Opened %(n)s bid(s)"),
        {"bid_count": len(counted), "failed": reason is not None, "sealed": sealed},
        params={"n": len(counted)},
    )
    notify(
        organization_members({r["organization_id"] for r in counted}),
        "tender.opened",
        N_("The tender failed — %(title)s") if reason else N_("Bids opened — %(title)s"),
        N_("Reason: %(reason)s") if reason else N_("The opening record is available to the bidders."),
        f"/bids/opening/{tender.id}",
        params={"title": tender.title, "reason": reason or ""},
    )
    return opening
