"""Preparing a bid: the declarations a tender asks for, saving a draft, attachments, submitting
(each submission is a new sealed version with its digest) and withdrawing, all before the deadline."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core import retention
from marketplace.core.documents import StoredFile
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.received import received_at
from marketplace.core.records import require_open_record
from marketplace.core.schemas import load
from marketplace.core.transaction import flush_unique
from marketplace.extensions import db
from marketplace.orgs.models import Organization
from marketplace.tenders.bids.bidders import eligibility_problems, is_member, standing_problems
from marketplace.tenders.bids.ceremony import contents
from marketplace.tenders.bids.digest import canonical_content, digest_of, submitted_attachment_hashes
from marketplace.tenders.bids.models import DRAFT, SUBMITTED, WITHDRAWN, Bid, BidAttachment, BidSubmission
from marketplace.tenders.bids.schemas import BidInputSchema
from marketplace.tenders.bids.visibility import active_bid, last_withdrawn_bid
from marketplace.tenders.models import CANCELLED, OPEN, Tender

MAX_ATTACHMENTS = 10
ATTACHMENT_TYPES = {"pdf", "png", "jpg", "jpeg", "doc", "docx", "xls", "xlsx"}

STANDARD_DECLARATIONS = {
    "no_major_violations": _l(
        "In the three years before this bid the organization had no major illegal record in its operations "
        "(Government Procurement Law, art. 22)."
    ),
    "independent_bid": _l("This bid was prepared independently, without collusion with any other bidder."),
    "accept_terms": _l("The organization accepts the tender documents, their clarifications and amendments."),
    "no_onward_subcontracting": _l(
        "The organization will deliver the service itself, without onward subcontracting."
    ),
}
SMALL_ORG_DECLARATION = {
    "small_organization": _l(
        "The organization declares that it is a small or micro organization (Caiku [2020] 46)."
    ),
}


def required_declarations(tender: Tender) -> dict:
    decl = dict(STANDARD_DECLARATIONS)
    if tender.reserved_for_small:
        decl.update(SMALL_ORG_DECLARATION)
    return decl


def _check_price(price: Decimal | None, tender: Tender) -> None:
    if price is not None and price > tender.budget_ceiling:
        raise RuleViolation(
            _(
                "The price cannot exceed the budget ceiling of %(ceiling)s yuan.",
                ceiling=f"{tender.budget_ceiling:,.2f}",
            ),
            field="price",
        )


def _check_against_tender(data: dict, tender: Tender) -> None:
    """The price within the ceiling, responses to the tender's criteria, its declarations only."""
    _check_price(data["price"], tender)
    criteria = {c.id for c in tender.technical_criteria}
    if any(cid not in criteria for cid in data["responses"]):
        raise RuleViolation(_("Unknown criterion."), field="responses")
    if any(k not in required_declarations(tender) for k in data["declarations"]):
        raise RuleViolation(_("Unknown declaration."), field="declarations")


def lock_tender(tender: Tender) -> Tender:
    """Lock the tender row for the rest of the transaction (PostgreSQL: SELECT … FOR UPDATE).

    The opening, amendments and the cancellation take this lock: they wait for the submissions in
    flight, which hold :func:`share_tender`, and submissions wait for them.
    """
    return db.session.execute(
        select(Tender)
        .where(Tender.id == tender.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def share_tender(tender_id: int) -> Tender:
    """Hold the tender row against changes for the rest of the transaction (PostgreSQL: SELECT … FOR
    SHARE). Any number of bids can be saved, submitted and withdrawn at once; the opening, an
    amendment or a cancellation waits for them, so none of them sees the tender change under it."""
    return db.session.execute(
        select(Tender)
        .where(Tender.id == tender_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).scalar_one()


def _require_before_deadline(tender: Tender, received=None) -> None:
    """The request must have reached the server before the deadline (core.received: its arrival, not
    the moment a worker got round to it), and the bids must not be opened or the tender cancelled."""
    if tender.status == CANCELLED:
        raise RuleViolation(_("This tender was cancelled: it takes no bids."))
    if tender.status != OPEN or (received or received_at()) >= tender.bid_deadline:
        require_open_record(tender)  # a closed procurement says so (no query while bids are taken)
        raise RuleViolation(
            _("The bid deadline has passed: bids can no longer be submitted, changed or withdrawn.")
        )


def _require_member(organization_id: int, actor) -> None:
    if not is_member(actor, organization_id):
        raise RuleViolation(_("Only members of the bidding organization can do this."))


def save_draft(tender: Tender, org, raw: Mapping, actor, attachments: list[StoredFile] | None = None) -> Bid:
    """Create or update the organization's active bid from ``raw`` (a :class:`BidInputSchema`); a
    submitted bid keeps its submitted version until it is submitted again."""
    _require_member(org.id, actor)
    tender = share_tender(tender.id)
    _require_before_deadline(tender)
    problems = eligibility_problems(org, tender)
    if problems:
        raise RuleViolation(problems[0])
    data = load(BidInputSchema(), raw)
    _check_against_tender(data, tender)

    bid = active_bid(tender, org.id)
    created = bid is None
    if created:
        bid = Bid(tender_id=tender.id, organization_id=org.id, status=DRAFT, created_by_id=actor.id)
        db.session.add(bid)
    bid.price = data["price"]
    bid.responses = {str(cid): text for cid, text in data["responses"].items()}
    bid.declarations = sorted(set(data["declarations"]))
    _flush_bid(created)
    if created:
        _carry_over_attachments(bid, last_withdrawn_bid(tender, org.id))
    for stored in attachments or []:
        _attach(bid, stored)
    _note_readiness(bid)
    audit.record(
        actor,
        "bid.save",
        "bid",
        bid.public_id,
        N_("Saved a bid draft") if created else N_("Updated the bid"),
        tender_id=tender.id,
    )
    return bid


def _carry_over_attachments(bid: Bid, withdrawn: Bid | None) -> None:
    """A new bid after a withdrawal starts from the withdrawn bid's working copy (the bid page fills in
    its price, answers and declarations): its attachments are the same organization's files, on the
    same tender (a sealed tender's stay encrypted under the same key), so the rows are copied."""
    if withdrawn is None:
        return
    for old in withdrawn.attachments[:MAX_ATTACHMENTS]:
        bid.attachments.append(
            BidAttachment(
                uploaded_at=clock.now(),
                filename=old.filename,
                content_type=old.content_type,
                size=old.size,
                sha256=old.sha256,
                storage_key=old.storage_key,
                plain_sha256=old.plain_sha256,
                working_key=old.working_key,
            )
        )
    db.session.flush()


def _flush_bid(created: bool) -> None:
    if created:  # a concurrent first save from the same organization may win the race
        flush_unique(_("Your organization already has a bid for this tender. Reload the page."))
    else:
        db.session.flush()


def _note_readiness(bid: Bid) -> None:
    """Check the saved draft now, so that submitting it costs a few statements at the deadline: when
    it is complete, keep the content a submission seals and its digest (eligibility was checked by
    the save); otherwise clear them, and submitting asks for what is missing."""
    if submission_problems(bid):
        bid.ready_content = bid.ready_digest = bid.ready_sealed = None
        return
    bid.ready_content, bid.ready_digest, bid.ready_sealed = _checked_content(bid)


def _checked_content(bid: Bid) -> tuple[dict, str, str | None]:
    """The content a submission seals, its digest and, for a tender with an opening key, the content
    sealed to it (with a random nonce in the digested content: a price cannot be guessed from the
    digest of a bid with few free-text answers)."""
    content = canonical_content(bid)
    if not contents.is_sealed_tender(bid.tender):
        return content, digest_of(content), None
    content["nonce"] = secrets.token_hex(16)
    return content, digest_of(content), contents.seal_ready(bid, content)


def _attach(bid: Bid, stored: StoredFile) -> BidAttachment:
    if contents.is_sealed_tender(bid.tender) and stored.working_key is None:
        # A programming error, never a user's: the bid page stores a sealed tender's uploads encrypted.
        raise ValueError(
            "a sealed tender's bid attachment must be stored with ceremony.contents.store_attachment"
        )
    if len(bid.attachments) >= MAX_ATTACHMENTS:
        raise RuleViolation(_("A bid has at most %(n)d attachments.", n=MAX_ATTACHMENTS), field="attachments")
    att = BidAttachment(uploaded_at=clock.now(), **stored.columns())
    bid.attachments.append(att)
    db.session.flush()
    return att


def remove_attachment(bid: Bid, attachment: BidAttachment, actor) -> None:
    """Take an attachment off the draft. One that a submitted version lists stays in the record
    (marked removed, its file kept and downloadable: GPL 42); one never submitted is deleted."""
    _require_member(bid.organization_id, actor)
    _require_before_deadline(share_tender(bid.tender_id))
    if (
        bid.status == WITHDRAWN
        or attachment.bid_id != bid.id
        or attachment.removed_at is not None
        or attachment.version is not None  # sealed in a submitted version: it stays in that version
    ):
        raise RuleViolation(_("This attachment cannot be removed."))
    if attachment.sha256 in submitted_attachment_hashes(bid):
        attachment.removed_at = clock.now()
        db.session.flush()
        db.session.expire(bid, ["attachments"])
    else:
        retention.permit_removal(attachment)
        bid.attachments.remove(attachment)
        db.session.flush()
    _note_readiness(bid)
    audit.record(
        actor,
        "bid.remove_attachment",
        "bid",
        bid.public_id,
        N_("Removed an attachment"),
        tender_id=bid.tender_id,
    )


def submission_problems(bid: Bid) -> list[str]:
    problems = []
    if bid.price is None:
        problems.append(_("Enter the price."))
    missing = [c.name for c in bid.tender.technical_criteria if not (bid.responses or {}).get(str(c.id))]
    if missing:
        problems.append(_("Respond to every evaluation criterion: %(names)s.", names="、".join(missing)))
    needed = set(required_declarations(bid.tender)) - set(bid.declarations or [])
    if needed:
        problems.append(_("Make every declaration the tender asks for."))
    return problems


def _lock_bid(bid_id: int) -> tuple[Bid, Organization]:
    """The bid, locked against a concurrent submission or withdrawal, with its organization."""
    return db.session.execute(
        select(Bid, Organization)
        .join(Organization, Organization.id == Bid.organization_id)
        .where(Bid.id == bid_id)
        .with_for_update(of=Bid)
        .execution_options(populate_existing=True)
    ).one()


def submit(bid: Bid, actor) -> BidSubmission:
    """Submit (or re-submit, replacing the earlier version) the saved draft before the deadline;
    returns the receipt.

    What was checked when the draft was saved (completeness, the service area, attachment digests) is
    not checked again: the draft's checked content is re-verified against its digest, and the
    organization's standing, which can change at any time, is checked without a query. A handful of
    statements (docs/bidding.md, ``make bench``), so that a rush at the deadline is not refused. A
    draft not checked since it was saved (after an amendment) gets the full check here.
    """
    _require_member(bid.organization_id, actor)
    received = received_at()  # read once: the moment checked is the moment stamped
    tender = share_tender(bid.tender_id)
    _require_before_deadline(tender, received)
    bid, org = _lock_bid(bid.id)
    if bid.status == WITHDRAWN:
        raise RuleViolation(_("This bid was withdrawn. Prepare a new bid instead."))
    problems = standing_problems(org, tender)
    if problems:
        raise RuleViolation(problems[0])
    content, digest, sealed = bid.ready_content, bid.ready_digest, bid.ready_sealed
    if not _still_ready(bid, tender):
        # Not checked since it was saved (an amendment set it aside, or it was saved before drafts were
        # checked): the full check, as a save does it.
        problems = eligibility_problems(org, tender) + submission_problems(bid)
        if problems:
            raise RuleViolation(problems[0])
        content, digest, sealed = _checked_content(bid)
    version = bid.version + 1
    submission = BidSubmission(
        bid_id=bid.id,
        version=version,
        submitted_at=received,
        submitted_by_id=actor.id,
        price=None if sealed else bid.price,
        content=None if sealed else content,
        digest=digest,
        sealed=sealed,
        sealed_sha256=contents.sealed_digest(sealed) if sealed else None,
    )
    db.session.add(submission)
    if sealed:  # the sealed version is all that remains (docs/bidding.md)
        contents.erase_working_copy(bid, version, attachments=bool(content["attachments"]))
    else:
        bid.ready_content, bid.ready_digest = content, digest
    replaced = bid.status == SUBMITTED
    bid.version = version
    bid.status = SUBMITTED
    bid.submitted_at = received
    bid.digest = digest
    bid.needs_reconfirmation = False
    audit.record(
        actor,
        "bid.submit",
        "bid",
        bid.public_id,
        N_("Replaced with version %(version)s") if replaced else N_("Submitted version %(version)s"),
        {"digest": digest, "version": version, "received_at": received.isoformat()},
        tender_id=tender.id,
        params={"version": version},
    )
    return submission


def _still_ready(bid: Bid, tender: Tender) -> bool:
    """The draft's checked content is intact and belongs to this tender (and, sealed, to the next
    version)."""
    content, digest = bid.ready_content, bid.ready_digest
    if not digest or not content or digest_of(content) != digest:
        return False
    if content.get("tender", {}).get("id") != tender.id:
        return False
    return bool(bid.ready_sealed) == contents.is_sealed_tender(tender)


def reconfirm(bid: Bid, actor) -> Bid:
    """Re-confirm a sealed bid's submitted version after an amendment, as it is: nobody can read it
    before the opening, the bidder included, so it is not checked again (the bidder answers for it;
    a new version can be submitted instead)."""
    _require_member(bid.organization_id, actor)
    received = received_at()
    _require_before_deadline(share_tender(bid.tender_id), received)
    bid, _org = _lock_bid(bid.id)
    if bid.status != SUBMITTED or not bid.needs_reconfirmation:
        raise RuleViolation(_("This bid has nothing to re-confirm."))
    bid.needs_reconfirmation = False
    audit.record(
        actor,
        "bid.reconfirm_as_is",
        "bid",
        bid.public_id,
        N_("Re-confirmed version %(version)s after the amendment, unchanged"),
        {"digest": bid.digest, "version": bid.version, "received_at": received.isoformat()},
        tender_id=bid.tender_id,
        params={"version": bid.version},
    )
    return bid


def withdraw(bid: Bid, actor) -> Bid:
    _require_member(bid.organization_id, actor)
    received = received_at()
    _require_before_deadline(share_tender(bid.tender_id), received)
    bid, _org = _lock_bid(bid.id)
    if bid.status == WITHDRAWN:
        raise RuleViolation(_("This bid is already withdrawn."))
    previous = bid.status
    bid.status = WITHDRAWN
    bid.withdrawn_at = received
    audit.record(
        actor,
        "bid.withdraw",
        "bid",
        bid.public_id,
        N_("Withdrew the bid (was %(status)s)"),
        tender_id=bid.tender_id,
        params={"status": previous},
    )
    return bid
