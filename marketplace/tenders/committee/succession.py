"""The award follows the ranking (O87 68): rank 1 wins unless it withdraws, is disqualified or fails
to sign; then the next in order, with the reason recorded. Nobody is passed over by preference."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.extensions import db
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.committee.models import AwardPassOver, EvaluationResult
from marketplace.tenders.committee.ranking import results
from marketplace.tenders.models import Tender
from marketplace.tenders.records import record_text

WITHDREW, DISQUALIFIED, FAILED_TO_SIGN = "withdrew", "disqualified", "failed_to_sign"
GROUNDS = {
    WITHDREW: _l("The candidate withdrew"),
    DISQUALIFIED: _l("The candidate was disqualified"),
    FAILED_TO_SIGN: _l("The winner failed to sign the contract"),
}


def pass_overs(tender: Tender) -> list[AwardPassOver]:
    return list(
        db.session.scalars(
            select(AwardPassOver).where(AwardPassOver.tender_id == tender.id).order_by(AwardPassOver.rank)
        )
    )


def next_candidate(tender: Tender) -> EvaluationResult | None:
    """The first ranked bid not passed over: the only one the award may go to."""
    skipped = {p.bid_id for p in pass_overs(tender)}
    return next((r for r in results(tender) if r.rank and r.bid_id not in skipped), None)


def succession_note(tender: Tender) -> str:
    """Why the award does not go to rank 1, for the award's record ("" when it does)."""
    return "; ".join(
        record_text(
            N_("rank %(rank)s passed over (%(ground)s): %(reason)s"),
            rank=p.rank,
            ground=p.ground,
            reason=p.reason,
        )
        for p in pass_overs(tender)
    )


def require_next_candidate(tender: Tender, bid: Bid, rank: int) -> None:
    candidate = next_candidate(tender)
    if candidate is None or candidate.bid_id != bid.id:
        raise RuleViolation(
            _(
                "The award follows the ranking: it goes to rank %(rank)s. A candidate ranked above is passed "
                "over only when it withdrew, was disqualified or failed to sign (MOF Order 87, art. "
                "68); record that first.",
                rank=candidate.rank if candidate else rank,
            ),
            field="bid",
        )
