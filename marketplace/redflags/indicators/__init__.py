"""The indicators: code, label, source, query and how far a change reaches (docs/red-flags.md).

``reach`` says which other processes a change to one process can flag or clear, for the incremental
run: ``None`` (only itself), ``"agency_category"`` (the agency's awards in the category),
``"district_category"`` (the median period of its district and category) or ``"bidders"`` (every
process its bidders took part in).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from marketplace.redflags.indicators import competition, delivery, tendering


@dataclass(frozen=True)
class Indicator:
    code: str
    label: object
    source: str
    query: Callable  # query(thresholds) -> SELECT of (tender_id, contract_id, figures...)
    reach: str | None = None
    stage: str = "tender"  # where the evidence is: "tender" (its history) or "contract" (its history)
    cardinal: str | None = None  # Cardinal's indicator code, when it computes the same thing


INDICATORS: dict[str, Indicator] = {
    i.code: i
    for i in (
        Indicator(
            "single_bid",
            _l("Single bid or single qualified bid"),
            "Cardinal R018; OCP red flags guide",
            tendering.single_bid,
            cardinal="R018",
        ),
        Indicator(
            "short_tender_period",
            _l("Short tender period"),
            "Cardinal R003; OCP red flags guide",
            tendering.short_tender_period,
            reach="district_category",
            cardinal="R003",
        ),
        Indicator(
            "late_amendment",
            _l("Amendment close to the deadline"),
            "OCP red flags guide",
            tendering.late_amendment,
        ),
        Indicator(
            "winner_share",
            _l("Winner's share of the agency's awards"),
            "OCP red flags guide (supplier concentration)",
            competition.winner_share,
            reach="agency_category",
        ),
        Indicator(
            "price_near_ceiling",
            _l("Winning price close to the budget ceiling"),
            "OCP red flags guide",
            tendering.price_near_ceiling,
        ),
        Indicator(
            "shared_contacts",
            _l("Bidders sharing a legal representative or phone"),
            "Cardinal R044; OCP red flags guide",
            tendering.shared_contacts,
            reach="bidders",
            cardinal="R044",
        ),
        Indicator(
            "bid_rotation",
            _l("The same losers losing together"),
            "OCP red flags guide (bid rotation)",
            competition.bid_rotation,
            reach="bidders",
        ),
        Indicator(
            "losers_never_win",
            _l("Bidder that never wins"),
            "Cardinal R025; OCP red flags guide",
            competition.losers_never_win,
            reach="bidders",
            cardinal="R025",
        ),
        Indicator(
            "all_but_winner_disqualified",
            _l("All bids but the winner's disqualified"),
            "Cardinal R035",
            tendering.all_but_winner_disqualified,
            cardinal="R035",
        ),
        Indicator(
            "award_not_rank_1",
            _l("Award to other than the first-ranked bid"),
            "OCP red flags guide",
            tendering.award_not_rank_1,
        ),
        Indicator(
            "variation_near_cap",
            _l("Contract value raised close to the cap"),
            "OCP red flags guide (contract amendments)",
            delivery.variation_near_cap,
            stage="contract",
        ),
        Indicator(
            "late_signature",
            _l("Contract signed long after the award notice"),
            "OCP red flags guide",
            delivery.late_signature,
            stage="contract",
        ),
        Indicator(
            "acceptance_without_evidence",
            _l("Milestone accepted without evidence or records"),
            "OCP red flags guide (implementation)",
            delivery.acceptance_without_evidence,
            stage="contract",
        ),
        Indicator(
            "payment_before_acceptance",
            _l("Payment before acceptance"),
            "OCP red flags guide (implementation)",
            delivery.payment_before_acceptance,
            stage="contract",
        ),
        Indicator(
            "poor_grade_after_acceptance",
            _l("Poor ex-post grade after a passed acceptance"),
            "OCP red flags guide (implementation)",
            delivery.poor_grade_after_acceptance,
            stage="contract",
        ),
    )
}
CODES = tuple(INDICATORS)


def get(code: str) -> Indicator:
    return INDICATORS[code]
