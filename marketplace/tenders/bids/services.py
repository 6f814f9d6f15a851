"""Bid verbs and the only queries that read bids.

Confidentiality rule: before a tender's opening, a bid is visible to the members of the bidding
organization and to nobody else. Every read goes through :func:`visible_bid` or the per-organization
queries here; the opening record is made once, at the deadline, by :func:`open_bids`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.districts import District
from marketplace.core.documents import StoredFile
from marketplace.core.errors import RuleViolation
from marketplace.core.notifications import notify
from marketplace.core.permissions import ADMIN, AUDITOR, OFFICER, ORG_MEMBER
from marketplace.extensions import db
from marketplace.tenders import procedures
from marketplace.tenders.bids.models import (
    ACTIVE,
    DRAFT,
    SUBMITTED,
    WITHDRAWN,
    Bid,
    BidAttachment,
    BidOpening,
    BidSubmission,
)
from marketplace.tenders.models import CANCELLED, FAILED, OPEN, OPENED, Tender

RESPONSE_MAX = 5000
MAX_ATTACHMENTS = 10
ATTACHMENT_TYPES = {"pdf", "png", "jpg", "jpeg", "doc", "docx", "xls", "xlsx"}

STANDARD_DECLARATIONS = {
    "no_major_violations": _l(
        "In the three years before this bid the organization had no major illegal record in its operations "
        "(GPL 22)."
    ),
    "independent_bid": _l("This bid was prepared independently, without collusion with any other bidder."),
    "accept_terms": _l("The organization accepts the tender documents, their clarifications and amendments."),
    "no_onward_subcontracting": _l(
        "The organization will deliver the service itself, without onward subcontracting."
    ),
}
SMALL_ORG_DECLARATION = {
    "small_organization": _l("The organization declares that it is a small or micro organization (C46)."),
}


def required_declarations(tender: Tender) -> dict:
    decl = dict(STANDARD_DECLARATIONS)
    if tender.reserved_for_small:
        decl.update(SMALL_ORG_DECLARATION)
    return decl


# --- who may see what -------------------------------------------------------------------------------


def is_member(user, organization_id: int | None) -> bool:
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.role == ORG_MEMBER
        and organization_id is not None
        and user.organization_id == organization_id
    )


def opening_of(tender: Tender) -> BidOpening | None:
    return db.session.scalar(select(BidOpening).where(BidOpening.tender_id == tender.id))


def may_view_opened_bids(user, tender: Tender) -> bool:
    """After opening: the tender's officers, auditors and admins. (The committee joins in the next stage.)"""
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
    return any(is_member(user, row["organization_id"]) for row in opening.record)


def visible_bid(bid_id, user) -> Bid | None:
    """The bid if ``user`` may see it, else ``None`` (the caller answers 404: existence is not disclosed)."""
    try:
        bid = db.session.get(Bid, int(bid_id))
    except (TypeError, ValueError):
        return None
    if bid is None:
        return None
    if is_member(user, bid.organization_id):
        return bid
    if bid.status != SUBMITTED or opening_of(bid.tender) is None:
        return None
    if may_view_opened_bids(user, bid.tender):
        return bid
    from marketplace.tenders.committee.services import committee_may_see_bid  # the committee builds on bids

    if committee_may_see_bid(user, bid):
        return bid
    return None


def active_bid(tender: Tender, organization_id: int) -> Bid | None:
    return db.session.scalar(
        select(Bid).where(
            Bid.tender_id == tender.id, Bid.organization_id == organization_id, Bid.status.in_(ACTIVE)
        )
    )


def bids_of_organization(organization_id: int):
    return (
        select(Bid)
        .where(Bid.organization_id == organization_id)
        .order_by(Bid.updated_at.desc(), Bid.id.desc())
    )


# --- eligibility ------------------------------------------------------------------------------------


def _covered_codes(org) -> set[str]:
    """District codes an organization serves: its areas and everything below them."""
    codes = set()
    frontier = [d.code for d in org.service_areas]
    while frontier:
        codes.update(frontier)
        frontier = list(db.session.scalars(select(District.code).where(District.parent_code.in_(frontier))))
        frontier = [c for c in frontier if c not in codes]
    return codes


def eligibility_problems(org, tender: Tender) -> list[str]:
    problems = []
    if org is None:
        return [_("Only members of a registered organization can bid.")]
    if not org.may_bid:
        if org.is_sanctioned:
            problems.append(
                _(
                    "The organization is suspended or debarred until %(date)s.",
                    date=str(org.sanction_until or "—"),
                )
            )
        else:
            problems.append(
                _(
                    "Only verified organizations can bid. Your organization's status: %(status)s.",
                    status=org.status,
                )
            )
    if tender.category not in (org.categories or []):
        problems.append(_("The tender's service category is not among your organization's categories."))
    covered = _covered_codes(org)
    wanted = {d.code for d in tender.service_areas} or {tender.district_code}
    if not (wanted & covered):
        problems.append(_("Your organization does not serve the tender's service area."))
    if tender.reserved_for_small and not org.small_org_declared:
        problems.append(_("This tender is reserved for small and micro organizations."))
    return problems


# --- input and the digest ---------------------------------------------------------------------------


@dataclass
class BidInput:
    price: Decimal | None
    responses: dict[int, str] = field(default_factory=dict)  # criterion id → text
    declarations: list[str] = field(default_factory=list)


def _check_price(price, tender: Tender) -> Decimal | None:
    if price is None or price == "":
        return None
    try:
        value = Decimal(price)
    except (InvalidOperation, TypeError, ValueError):
        raise RuleViolation(_("Enter the price in yuan, for example 350000.00."), field="price") from None
    if not value.is_finite() or value <= 0:
        raise RuleViolation(_("The price must be more than zero."), field="price")
    if value != value.quantize(Decimal("0.01")):
        raise RuleViolation(_("Amounts have at most two decimal places (fen)."), field="price")
    if value > tender.budget_ceiling:
        raise RuleViolation(
            _(
                "The price cannot exceed the budget ceiling of %(ceiling)s yuan.",
                ceiling=f"{tender.budget_ceiling:,.2f}",
            ),
            field="price",
        )
    return value


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
            ({"filename": a.filename, "size": a.size, "sha256": a.sha256} for a in bid.attachments),
            key=lambda a: (a["sha256"], a["filename"]),
        ),
    }


def digest_of(content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def has_unsubmitted_changes(bid: Bid) -> bool:
    return bid.status == SUBMITTED and digest_of(canonical_content(bid)) != bid.digest


# --- the verbs --------------------------------------------------------------------------------------


def lock_tender(tender: Tender) -> Tender:
    """Lock the tender row for the rest of the transaction (PostgreSQL: SELECT … FOR UPDATE).

    Submissions, withdrawals and the opening all take this lock, so they are serialised per tender and
    the deadline is checked against the clock after it is held.
    """
    return db.session.execute(
        select(Tender)
        .where(Tender.id == tender.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _require_before_deadline(tender: Tender) -> None:
    if tender.status == CANCELLED:
        raise RuleViolation(_("This tender was cancelled: it takes no bids."))
    if tender.status != OPEN or clock.now() >= tender.bid_deadline:
        raise RuleViolation(
            _("The bid deadline has passed: bids can no longer be submitted, changed or withdrawn.")
        )


def _require_member(bid_or_org_id: int, actor) -> None:
    if not is_member(actor, bid_or_org_id):
        raise RuleViolation(_("Only members of the bidding organization can do this."))


def save_draft(
    tender: Tender, org, data: BidInput, actor, attachments: list[StoredFile] | None = None
) -> Bid:
    """Create or update the organization's active bid (a submitted bid keeps its submitted version until
    it is submitted again)."""
    _require_member(org.id, actor)
    tender = lock_tender(tender)
    _require_before_deadline(tender)
    problems = eligibility_problems(org, tender)
    if problems:
        raise RuleViolation(problems[0])
    price = _check_price(data.price, tender)
    criteria = {c.id for c in tender.technical_criteria}
    responses = {}
    for cid, text in (data.responses or {}).items():
        if int(cid) not in criteria:
            raise RuleViolation(_("Unknown criterion."), field="responses")
        text = (text or "").strip()
        if len(text) > RESPONSE_MAX:
            raise RuleViolation(
                _("Each response has at most %(n)d characters.", n=RESPONSE_MAX), field="responses"
            )
        responses[str(int(cid))] = text
    allowed = required_declarations(tender)
    if any(k not in allowed for k in data.declarations or []):
        raise RuleViolation(_("Unknown declaration."), field="declarations")

    bid = active_bid(tender, org.id)
    created = bid is None
    if created:
        bid = Bid(tender_id=tender.id, organization_id=org.id, status=DRAFT, created_by_id=actor.id)
        db.session.add(bid)
    bid.price = price
    bid.responses = responses
    bid.declarations = sorted(set(data.declarations or []))
    try:
        if created:  # a savepoint, so a lost race undoes only this insert, not the request's transaction
            with db.session.begin_nested():
                db.session.flush()
        else:
            db.session.flush()
    except IntegrityError:  # a concurrent first save from the same organization won the race
        raise RuleViolation(
            _("Your organization already has a bid for this tender. Reload the page.")
        ) from None
    for stored in attachments or []:
        _attach(bid, stored)
    audit.record(
        actor, "bid.save", "bid", bid.id, "saved bid draft" if created else "updated bid", tender_id=tender.id
    )
    return bid


def _attach(bid: Bid, stored: StoredFile) -> BidAttachment:
    if len(bid.attachments) >= MAX_ATTACHMENTS:
        raise RuleViolation(_("A bid has at most %(n)d attachments.", n=MAX_ATTACHMENTS), field="attachments")
    att = BidAttachment(uploaded_at=clock.now(), **stored.columns())
    bid.attachments.append(att)
    db.session.flush()
    return att


def remove_attachment(bid: Bid, attachment: BidAttachment, actor) -> None:
    _require_member(bid.organization_id, actor)
    _require_before_deadline(lock_tender(bid.tender))
    if bid.status == WITHDRAWN or attachment.bid_id != bid.id:
        raise RuleViolation(_("This attachment cannot be removed."))
    bid.attachments.remove(attachment)
    audit.record(
        actor, "bid.remove_attachment", "bid", bid.id, "removed an attachment", tender_id=bid.tender_id
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


def submit(bid: Bid, actor) -> BidSubmission:
    """Submit (or re-submit, replacing the earlier version) before the deadline; returns the receipt."""
    _require_member(bid.organization_id, actor)
    tender = lock_tender(bid.tender)
    _require_before_deadline(tender)
    db.session.refresh(bid)
    if bid.status == WITHDRAWN:
        raise RuleViolation(_("This bid was withdrawn. Prepare a new bid instead."))
    problems = eligibility_problems(bid.organization, tender) + submission_problems(bid)
    if problems:
        raise RuleViolation(problems[0])
    content = canonical_content(bid)
    digest = digest_of(content)
    now = clock.now()
    bid.version += 1
    submission = BidSubmission(
        version=bid.version,
        submitted_at=now,
        submitted_by_id=actor.id,
        price=bid.price,
        content=content,
        digest=digest,
    )
    bid.submissions.append(submission)
    replaced = bid.status == SUBMITTED
    bid.status = SUBMITTED
    bid.submitted_at = now
    bid.digest = digest
    bid.needs_reconfirmation = False
    db.session.flush()
    audit.record(
        actor,
        "bid.submit",
        "bid",
        bid.id,
        f"{'replaced with' if replaced else 'submitted'} version {bid.version}",
        {"digest": digest, "version": bid.version},
        tender_id=tender.id,
    )
    return submission


def withdraw(bid: Bid, actor) -> Bid:
    _require_member(bid.organization_id, actor)
    _require_before_deadline(lock_tender(bid.tender))
    db.session.refresh(bid)
    if bid.status == WITHDRAWN:
        raise RuleViolation(_("This bid is already withdrawn."))
    previous = bid.status
    bid.status = WITHDRAWN
    bid.withdrawn_at = clock.now()
    audit.record(actor, "bid.withdraw", "bid", bid.id, f"withdrew ({previous})", tender_id=bid.tender_id)
    return bid


def _members(organization_ids) -> list:
    from marketplace.auth.models import User

    if not organization_ids:
        return []
    return list(
        db.session.scalars(
            select(User).where(User.organization_id.in_(list(organization_ids)), User.active.is_(True))
        )
    )


def mark_for_reconfirmation(tender: Tender, amendment_number: int) -> None:
    """After an amendment, submitted bids must be re-confirmed; their organizations are told (only them)."""
    bids = db.session.scalars(select(Bid).where(Bid.tender_id == tender.id, Bid.status == SUBMITTED)).all()
    for bid in bids:
        bid.needs_reconfirmation = True
    notify(
        _members({b.organization_id for b in bids}),
        "bid.reconfirm",
        f"招标项目已更正，请重新确认投标 / Tender amended: please re-confirm your bid — {tender.title}",
        f"更正公告第{amendment_number}号。请查看更正内容并重新提交或确认投标。 / "
        f"Amendment {amendment_number}: review it and re-submit or re-confirm your bid before the deadline.",
        f"/bids/tender/{tender.id}",
    )


def notify_cancellation(tender: Tender) -> None:
    bids = db.session.scalars(select(Bid).where(Bid.tender_id == tender.id, Bid.status.in_(ACTIVE))).all()
    notify(
        _members({b.organization_id for b in bids}),
        "tender.cancelled",
        f"招标项目已终止 / Tender cancelled — {tender.title}",
        tender.cancel_reason or "",
        f"/tenders/{tender.id}",
    )


def open_bids(tender: Tender, actor=None) -> BidOpening:
    """Make the opening record at (or after) the deadline. Idempotent: a second call returns the first record.

    With fewer bids than the procedure's minimum the tender fails (流标, O87 41) and bidders are told why.
    """
    tender = lock_tender(tender)
    existing = opening_of(tender)
    if existing is not None:
        return existing
    if tender.status != OPEN:
        raise RuleViolation(_("Only a published tender's bids can be opened."))
    now = clock.now()
    if now < tender.bid_deadline:
        raise RuleViolation(_("Bids are opened at the deadline, not before."))
    bids = db.session.scalars(
        select(Bid)
        .where(Bid.tender_id == tender.id, Bid.status == SUBMITTED)
        .order_by(Bid.submitted_at, Bid.id)
    ).all()
    record = []
    for bid in bids:
        latest = bid.submissions[-1]
        record.append(
            {
                "bid_id": bid.id,
                "organization_id": bid.organization_id,
                "organization": bid.organization.name,
                "uscc": bid.organization.uscc,
                "price": f"{latest.price:.2f}",
                "submitted_at": latest.submitted_at.isoformat(),
                "version": latest.version,
                "digest": latest.digest,
                "reconfirmed": not bid.needs_reconfirmation,
            }
        )
    profile = procedures.profile(tender.method)
    failed = len(record) < profile.min_bids
    reason = None
    if failed:
        reason = (
            f"只收到{len(record)}份投标，少于本采购方式要求的{profile.min_bids}份（财政部87号令第41条）。 / "
            f"Only {len(record)} bid(s) were received; {tender.method} requires at least {profile.min_bids} "
            "(O87 41)."
        )
    opening = BidOpening(
        tender_id=tender.id,
        opened_at=now,
        bid_count=len(record),
        failed=failed,
        failure_reason=reason,
        record=record,
    )
    db.session.add(opening)
    tender.status = FAILED if failed else OPENED
    tender.failure_reason = reason
    db.session.flush()
    audit.record(
        actor,
        "tender.open_bids",
        "tender",
        tender.id,
        f"opened {len(record)} bid(s){'; tender failed' if failed else ''}",
        {"bid_count": len(record), "failed": failed},
    )
    notify(
        _members({r["organization_id"] for r in record}),
        "tender.opened",
        (
            f"投标未达法定数量，项目流标 / Too few bids: the tender failed — {tender.title}"
            if failed
            else f"已开标 / Bids opened — {tender.title}"
        ),
        reason or "开标记录已公布给投标人。 / The opening record is available to the bidders.",
        f"/bids/opening/{tender.id}",
    )
    return opening


def open_if_due(tender: Tender) -> bool:
    """Open the bids when the deadline has passed and nobody has yet (the first access does it until the
    scheduler does). Returns True when it opened them now (the caller commits)."""
    if tender.status != OPEN or clock.now() < tender.bid_deadline:
        return False
    if db.session.scalar(select(exists().where(BidOpening.tender_id == tender.id))):
        return False
    open_bids(tender)
    return True
