"""What a bid's SHA-256 digest covers, and the digest itself (the bidder's receipt shows it)."""

from __future__ import annotations

import hashlib
import json

from flask_babel import gettext as _

from marketplace.core.timeutil import to_local
from marketplace.tenders.bids.models import SUBMITTED, Bid, BidSubmission


def canonical_content(bid: Bid) -> dict:
    """What the digest covers: the bid's content and its attachments' hashes, in a fixed form."""
    tender = bid.tender
    return {
        "tender": {"id": tender.id, "reference": tender.reference},
        "organization": {"id": bid.organization_id, "uscc": bid.organization.uscc},
        "price": f"{bid.price:.2f}" if bid.price is not None else None,
        "responses": [
            {
                "criterion": c.name,
                "position": c.position,
                "response": (bid.responses or {}).get(str(c.id), ""),
            }
            for c in tender.technical_criteria
        ],
        "declarations": sorted(bid.declarations or []),
        "attachments": sorted(
            (
                {"filename": a.filename, "size": a.size, "sha256": a.plain_sha256 or a.sha256}
                for a in bid.attachments
            ),
            key=lambda a: (a["sha256"], a["filename"]),
        ),
    }


def digest_of(content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def submitted_attachment_hashes(bid: Bid) -> set[str]:
    """The SHA-256 of every attachment a submitted version of ``bid`` lists (kept in the record)."""
    return {a["sha256"] for s in bid.submissions for a in (s.content or {}).get("attachments", [])}


def has_unsubmitted_changes(bid: Bid) -> bool:
    """A submitted bid with a working copy that differs from it (a sealed bid's submission erases its
    working copy: anything in it is a change)."""
    if bid.status != SUBMITTED:
        return False
    if bid.tender.bid_public_key:
        return bid.price is not None or bool(bid.responses) or bool(bid.declarations) or bool(bid.attachments)
    return digest_of(canonical_content(bid)) != bid.digest


def receipt_of(submission: BidSubmission) -> dict:
    """The downloadable receipt of one submitted version: enough to check its digest independently
    (a sealed version's content only after the opening decrypted it)."""
    bid = submission.bid
    receipt = {
        "receipt": _("Bid receipt"),
        "tender": {"id": bid.tender_id, "reference": bid.tender.reference},
        "organization": {"id": bid.organization_id, "uscc": bid.organization.uscc},
        "version": submission.version,
        "submitted_at_utc": submission.submitted_at.isoformat(),
        "submitted_at_local": to_local(submission.submitted_at).isoformat(),
        "sha256": submission.digest,
        "content": submission.content,
        "how_to_check": _(
            "SHA-256 of the UTF-8 JSON of `content` with sorted keys, no spaces (separators ',' and ':'), "
            "non-ASCII kept as is."
        ),
    }
    if submission.sealed_sha256:
        receipt["sealed_sha256"] = submission.sealed_sha256
    if submission.content is None:
        receipt["sealed"] = _(
            "The content is encrypted to the tender's opening key: nobody, the platform included, can read "
            "it before the opening ceremony. After the opening this receipt carries it, to check the digest."
        )
    return receipt
