"""What every indicator query shares: the thresholds, portable date arithmetic and the base sets
(opened tenders, live awards, losing bids). Each indicator is a SELECT of
``(tender_id, contract_id, <figures>...)``: one row per hit, read in one statement (docs/red-flags.md)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from sqlalchemy import Float, and_, case, cast, func, literal, select

from marketplace.extensions import db
from marketplace.tenders.bids.models import SUBMITTED, Bid, BidOpening
from marketplace.tenders.committee.models import Award


@dataclass(frozen=True)
class Thresholds:
    """The configurable thresholds (config.py, ``REDFLAG_*``), read once per computation."""

    period_margin_days: int
    period_median_share: Decimal
    period_median_min_sample: int
    amendment_days: int
    winner_share_percent: int
    winner_min_awards: int
    winner_window_days: int
    ceiling_margin_percent: Decimal
    rotation_min_together: int
    loser_min_bids: int
    variation_cap_share: Decimal
    variation_cap_used: Decimal
    signature_days: int
    poor_grades: tuple[str, ...]

    @classmethod
    def from_config(cls) -> Thresholds:
        c = current_app.config
        return cls(
            period_margin_days=int(c["REDFLAG_PERIOD_MARGIN_DAYS"]),
            period_median_share=Decimal(str(c["REDFLAG_PERIOD_MEDIAN_SHARE"])),
            period_median_min_sample=int(c["REDFLAG_PERIOD_MEDIAN_MIN_SAMPLE"]),
            amendment_days=int(c["REDFLAG_AMENDMENT_DAYS"]),
            winner_share_percent=int(c["REDFLAG_WINNER_SHARE_PERCENT"]),
            winner_min_awards=int(c["REDFLAG_WINNER_MIN_AWARDS"]),
            winner_window_days=int(c["REDFLAG_WINNER_WINDOW_DAYS"]),
            ceiling_margin_percent=Decimal(str(c["REDFLAG_CEILING_MARGIN_PERCENT"])),
            rotation_min_together=int(c["REDFLAG_ROTATION_MIN_TOGETHER"]),
            loser_min_bids=int(c["REDFLAG_LOSER_MIN_BIDS"]),
            variation_cap_share=Decimal(str(c["VARIATION_CAP_SHARE"])),
            variation_cap_used=Decimal(str(c["REDFLAG_VARIATION_CAP_USED"])),
            signature_days=int(c["REDFLAG_SIGNATURE_DAYS"]),
            poor_grades=tuple(c["REDFLAG_POOR_GRADES"]),
        )


def dialect_name() -> str:
    return db.session.get_bind().dialect.name


def days_between(start, end):
    """``end - start`` in days (a float), for two UTC timestamp columns, on SQLite and PostgreSQL."""
    if dialect_name() == "sqlite":
        return func.julianday(end) - func.julianday(start)
    return cast(func.extract("epoch", end - start), Float) / 86400.0


def day_number(column):
    """A UTC timestamp as a number of days (a float), to order a RANGE window by on both databases."""
    if dialect_name() == "sqlite":
        return func.julianday(column)
    return cast(func.extract("epoch", column), Float) / 86400.0


def null_contract():
    return literal(None).label("contract_id")


def live_awards():
    """Awards in force (notice or final, not annulled) with their winning bid's organization and price."""
    return (
        select(
            Award.id.label("award_id"),
            Award.tender_id,
            Award.bid_id,
            Award.rank,
            Award.published_at,
            Bid.organization_id,
            Bid.price,
        )
        .join(Bid, Bid.id == Award.bid_id)
        .where(Award.status != "annulled")
        .subquery("live_awards")
    )


def opened_bids():
    """Submitted bids of tenders whose bids were opened (an opening record, not failed): nothing about a
    bid that stayed sealed is read (tests/test_sealed_side_channels.py)."""
    return (
        select(Bid.id.label("bid_id"), Bid.tender_id, Bid.organization_id, Bid.price)
        .join(BidOpening, BidOpening.tender_id == Bid.tender_id)
        .where(Bid.status == SUBMITTED, BidOpening.failed.is_(False))
        .subquery("opened_bids")
    )


def losing_bids():
    """Opened bids of awarded tenders other than the winning one: ``(tender_id, organization_id)``."""
    bids, awards = opened_bids(), live_awards()
    return (
        select(bids.c.tender_id, bids.c.organization_id, bids.c.bid_id)
        .join(awards, awards.c.tender_id == bids.c.tender_id)
        .where(bids.c.bid_id != awards.c.bid_id)
        .subquery("losing_bids")
    )


def count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def both(*conditions):
    return and_(*conditions)
