"""What of a tender, its bids and its committee is kept (GPL 42), and when its procurement is closed.

Registered by ``create_app`` (``core.retention``, ``core.records``); docs/audit.md, "Retention".
"""

from __future__ import annotations

from flask_babel import gettext as _

from marketplace.core.records import closed_reason
from marketplace.extensions import db
from marketplace.tenders.bids.digest import submitted_attachment_hashes
from marketplace.tenders.bids.models import Bid, BidAttachment, BidOpening, BidSubmission
from marketplace.tenders.committee.models import (
    Award,
    AwardPassOver,
    Challenge,
    ChallengeDocument,
    CommitteeMember,
    ConflictDeclaration,
    EvaluationResult,
    ExpertDraw,
    PriceReview,
    Qualification,
    Score,
)
from marketplace.tenders.models import (
    CANCELLED,
    DRAFT,
    FAILED,
    Amendment,
    Clarification,
    Criterion,
    InvitationDraw,
    Tender,
    TenderDocument,
    TenderInvitation,
)

RETAINED = (
    Tender,
    Criterion,
    TenderDocument,
    Amendment,
    Clarification,
    Bid,
    BidAttachment,
    BidSubmission,
    BidOpening,
    CommitteeMember,
    ConflictDeclaration,
    Qualification,
    Score,
    PriceReview,
    EvaluationResult,
    Award,
    AwardPassOver,
    Challenge,
    ChallengeDocument,
    ExpertDraw,
    InvitationDraw,
    TenderInvitation,
)


def _tender_is_draft(tender_id: int) -> bool:
    tender = db.session.get(Tender, tender_id)
    return tender is not None and tender.status == DRAFT


def _criterion_removable(criterion: Criterion) -> bool:
    """A draft's criteria are replaced when the draft is edited; a published tender's are kept."""
    return _tender_is_draft(criterion.tender_id)


def _document_removable(doc: TenderDocument) -> bool:
    """A document of a draft never published; never one an amendment added."""
    return doc.amendment_id is None and _tender_is_draft(doc.tender_id)


def _attachment_removable(attachment: BidAttachment) -> bool:
    """An attachment no submitted version lists (a draft's only): nobody but the bidder ever had it."""
    return attachment.sha256 not in submitted_attachment_hashes(attachment.bid)


def _invitation_removable(invitation: TenderInvitation) -> bool:
    """An invitation of a draft, not sent yet (publishing sends them; the draw record stays)."""
    return _tender_is_draft(invitation.tender_id)


REMOVABLE = {
    TenderInvitation: _invitation_removable,
    Criterion: _criterion_removable,
    TenderDocument: _document_removable,
    BidAttachment: _attachment_removable,
}


def tender_closed(tender: Tender) -> str | None:
    """A failed tender (its failure notice goes out at once) or a cancelled one is closed."""
    if tender.status == FAILED:
        return _(
            "This procurement is closed: the tender failed. Its records are kept and can no longer change."
        )
    if tender.status == CANCELLED:
        return _(
            "This procurement is closed: the tender was cancelled. Its records are kept and can no longer "
            "change."
        )
    return None


def _of_tender(record) -> str | None:
    return closed_reason(record.tender)


CLOSED_RULES = {
    Tender: tender_closed,
    Bid: _of_tender,
    CommitteeMember: _of_tender,
    Award: _of_tender,
}
