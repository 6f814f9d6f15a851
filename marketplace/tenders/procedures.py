"""Procurement methods as data: one profile per method (DOMAIN.md, "Procurement methods").

Provinces set their own thresholds, so every number can be overridden with the
``PROCEDURE_OVERRIDES`` setting, e.g. ``{"public_tender": {"min_days": 25}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

CALENDAR_DAYS = "calendar"
WORKING_DAYS = "working"


@dataclass(frozen=True)
class ProcedureProfile:
    code: str
    label: object
    # Minimum time from publication to the bid deadline (= opening).
    min_days: int
    day_kind: str
    # Fewer bids than this: the tender is not opened / fails.
    min_bids: int
    # Purchased services under competitive consultation may go on with 2 qualified bids.
    min_qualified_bids: int
    committee_min: int
    committee_min_large: int
    large_budget: Decimal
    price_weight_min: int
    price_weight_max: int
    independent_share: Decimal = Decimal("0.6667")
    source: str = ""
    # Invited procedures: at least this many invited suppliers before publication (O87 14); 0 = open.
    min_invitations: int = 0

    @property
    def by_invitation(self) -> bool:
        return self.min_invitations > 0

    def committee_size_for(self, budget: Decimal) -> int:
        return self.committee_min_large if budget >= self.large_budget else self.committee_min


_BIG = Decimal("10000000")

PROFILES: dict[str, ProcedureProfile] = {
    p.code: p
    for p in (
        ProcedureProfile(
            "public_tender",
            _l("Open tender (公开招标)"),
            20,
            CALENDAR_DAYS,
            3,
            3,
            5,
            7,
            _BIG,
            10,
            100,
            source="GPL 35; O87 41, 45",
        ),
        ProcedureProfile(
            "invited_tender",
            _l("Invited tender (邀请招标)"),
            20,
            CALENDAR_DAYS,
            3,
            3,
            5,
            7,
            _BIG,
            10,
            100,
            source="O87 14, 41, 45",
            min_invitations=3,
        ),
        ProcedureProfile(
            "competitive_consultation",
            _l("Competitive consultation (竞争性磋商)"),
            10,
            CALENDAR_DAYS,
            2,  # purchased services may go on with 2 bids, must stop with 1 (C214; DOMAIN.md)
            2,
            3,
            3,
            _BIG,
            10,
            30,
            source="C214",
        ),
        ProcedureProfile(
            "competitive_negotiation",
            _l("Competitive negotiation (竞争性谈判)"),
            3,
            WORKING_DAYS,
            3,
            3,
            3,
            3,
            _BIG,
            10,
            100,
            source="GPL 38",
        ),
        ProcedureProfile(
            "single_source",
            _l("Single source (单一来源)"),
            5,
            WORKING_DAYS,
            1,
            1,
            3,
            3,
            _BIG,
            10,
            100,
            source="GPL 31, 39",
        ),
        ProcedureProfile(
            "request_for_quotation",
            _l("Request for quotation (询价)"),
            3,
            WORKING_DAYS,
            3,
            3,
            3,
            3,
            _BIG,
            10,
            100,
            source="GPL 40",
        ),
    )
}

METHODS = tuple(PROFILES)

EVALUATION_METHODS = {
    "comprehensive_scoring": _l("Comprehensive scoring (综合评分法)"),
    "lowest_price": _l("Lowest evaluated price (最低评标价法)"),
}


def profile(code: str) -> ProcedureProfile:
    base = PROFILES[code]
    if has_app_context():
        overrides = current_app.config.get("PROCEDURE_OVERRIDES", {}).get(code)
        if overrides:
            return replace(base, **overrides)
    return base
