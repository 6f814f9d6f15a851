"""The agency's reviews of the opened bids: qualification (资格审查) and abnormally low prices (O87 60)."""

from __future__ import annotations

from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.tenders.bids.bidders import organization_members
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.bids.opening import opened_bids
from marketplace.tenders.committee import scoring
from marketplace.tenders.committee.members import committee
from marketplace.tenders.committee.models import PriceReview, Qualification
from marketplace.tenders.committee.officers import require_officer
from marketplace.tenders.committee.schemas import PriceReviewInputSchema, QualificationInputSchema
from marketplace.tenders.models import EVALUATION, Tender


def price_settings() -> tuple[Decimal, Decimal]:
    """The small-organization price deduction (C46: 10-20 %) and the abnormally-low ratio."""
    cfg = current_app.config
    deduction = Decimal(str(cfg.get("SMALL_ORG_PRICE_DEDUCTION", "0.10")))
    if not Decimal("0.10") <= deduction <= Decimal("0.20"):
        raise RuntimeError("SMALL_ORG_PRICE_DEDUCTION must be between 0.10 and 0.20")
    return deduction, Decimal(str(cfg.get("ABNORMALLY_LOW_RATIO", "0.80")))


# --- qualification ---------------------------------------------------------------------------------


def qualification_of(bid: Bid) -> Qualification | None:
    return db.session.scalar(select(Qualification).where(Qualification.bid_id == bid.id))


def qualified_bids(tender: Tender) -> list[Bid]:
    passed = set(
        db.session.scalars(
            select(Qualification.bid_id).where(
                Qualification.tender_id == tender.id, Qualification.passed.is_(True)
            )
        )
    )
    return [b for b in opened_bids(tender) if b.id in passed]


def qualification_open(tender: Tender, qualification: Qualification | None) -> bool:
    """Whether a bid's qualification can still be recorded or changed: during the evaluation, and once
    a member submitted scores only when none was recorded yet."""
    if tender.status != EVALUATION:
        return False
    return qualification is None or not any(m.scores_submitted_at for m in committee(tender))


def qualify(tender: Tender, bid: Bid, passed: bool, reason: str, actor) -> Qualification:
    require_officer(tender, actor)
    if tender.status != EVALUATION:
        raise RuleViolation(_("Qualification review happens during the evaluation."))
    if bid.id not in {b.id for b in opened_bids(tender)}:
        raise RuleViolation(_("This bid was not opened for this tender."))
    reason = load(QualificationInputSchema(), {"passed": passed, "reason": reason})["reason"]
    if passed and bid.price is not None and bid.price > tender.budget_ceiling:
        raise RuleViolation(
            _(
                "A bid over the budget ceiling cannot pass the qualification review (Government "
                "Procurement Law, art. 36)."
            ),
            field="passed",
        )
    q = qualification_of(bid)
    if q is None:
        q = Qualification(
            bid_id=bid.id,
            tender_id=tender.id,
            passed=passed,
            reason=reason,
            decided_at=clock.now(),
            decided_by_id=actor.id,
        )
        db.session.add(q)
    else:
        if not qualification_open(tender, q):
            raise RuleViolation(_("Scores were submitted: the qualification can no longer change."))
        q.passed, q.reason, q.decided_at, q.decided_by_id = passed, reason, clock.now(), actor.id
    db.session.flush()
    audit.record(
        actor,
        "bid.qualify",
        "bid",
        bid.public_id,
        N_("Qualification passed") if passed else N_("Qualification failed"),
        {"reason": reason},
        tender_id=tender.id,
    )
    if not passed:
        notify(
            organization_members({bid.organization_id}),
            "bid.disqualified",
            N_("Your bid did not pass the qualification review — %(title)s"),
            N_("Reason: %(reason)s"),
            f"/bids/{bid.public_id}",
            params={"title": tender.title, "reason": reason},
        )
    return q


# --- abnormally low prices -------------------------------------------------------------------------


def abnormally_low_bids(tender: Tender) -> set[int]:
    deduction, ratio = price_settings()
    prices = {}
    for bid in qualified_bids(tender):
        fig = scoring.BidFigures(bid.id, bid.price, small_org=bid.organization.small_org_declared)
        prices[bid.id] = scoring.evaluated_price(
            fig, reserved_for_small=tender.reserved_for_small, small_deduction=deduction
        )
    return scoring.abnormally_low(prices, ratio)


def price_review_of(bid: Bid) -> PriceReview | None:
    return db.session.scalar(select(PriceReview).where(PriceReview.bid_id == bid.id))


def review_price(tender: Tender, bid: Bid, accepted: bool, justification: str, actor) -> PriceReview:
    """Record the committee's decision on an abnormally low price (O87 60)."""
    require_officer(tender, actor)
    if bid.id not in abnormally_low_bids(tender):
        raise RuleViolation(_("This price is not flagged as abnormally low."))
    justification = load(PriceReviewInputSchema(), {"accepted": accepted, "justification": justification})[
        "justification"
    ]
    review = price_review_of(bid) or PriceReview(
        bid_id=bid.id,
        accepted=accepted,
        justification=justification,
        decided_at=clock.now(),
        decided_by_id=actor.id,
    )
    review.accepted, review.justification = accepted, justification
    db.session.add(review)
    db.session.flush()
    audit.record(
        actor,
        "bid.price_review",
        "bid",
        bid.public_id,
        N_("Abnormally low price justified") if accepted else N_("Abnormally low price invalid"),
        tender_id=tender.id,
    )
    return review
