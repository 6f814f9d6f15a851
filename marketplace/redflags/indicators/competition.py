"""Indicators across processes: who wins an agency's awards, who loses together, who never wins."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from marketplace.orgs.models import Organization
from marketplace.redflags.indicators.common import (
    Thresholds,
    count_if,
    day_number,
    live_awards,
    losing_bids,
    null_contract,
    opened_bids,
)
from marketplace.tenders.models import Tender


def winner_share(t: Thresholds):
    """The winner took more than the share (50 %) of its agency's awards in the category over the rolling
    window (365 days) ending at this award, with at least N (3) awards of its own in it. Two window
    counts over the awards in time order (RANGE over a day number): no self-join."""
    awards = live_awards()
    day = day_number(awards.c.published_at)
    window = (-t.winner_window_days, 0)
    base = (
        select(
            awards.c.tender_id,
            awards.c.organization_id,
            Tender.agency_id,
            Tender.category,
            func.count()
            .over(partition_by=(Tender.agency_id, Tender.category), order_by=day, range_=window)
            .label("agency_awards"),
            func.count()
            .over(
                partition_by=(Tender.agency_id, Tender.category, awards.c.organization_id),
                order_by=day,
                range_=window,
            )
            .label("won"),
        )
        .join(Tender, Tender.id == awards.c.tender_id)
        .subquery("agency_awards")
    )
    return (
        select(
            base.c.tender_id,
            null_contract(),
            base.c.organization_id.label("winner"),
            Organization.name.label("winner_name"),
            base.c.agency_id.label("agency"),
            base.c.category.label("category"),
            base.c.won.label("won_in_window"),
            base.c.agency_awards.label("agency_awards_in_window"),
        )
        .join(Organization, Organization.id == base.c.organization_id)
        .where(
            base.c.won >= t.winner_min_awards,
            base.c.won * 100 > base.c.agency_awards * t.winner_share_percent,
        )
    )


def bid_rotation(t: Thresholds):
    """Two organizations that lost together in at least N (3) processes: each process where they did."""
    l1, l2 = losing_bids().alias("l1"), losing_bids().alias("l2")
    pairs = (
        select(
            l1.c.organization_id.label("a"),
            l2.c.organization_id.label("b"),
            func.count(func.distinct(l1.c.tender_id)).label("together"),
        )
        .join(l2, and_(l2.c.tender_id == l1.c.tender_id, l1.c.organization_id < l2.c.organization_id))
        .group_by(l1.c.organization_id, l2.c.organization_id)
        .having(func.count(func.distinct(l1.c.tender_id)) >= t.rotation_min_together)
        .subquery("pairs")
    )
    m1, m2 = losing_bids().alias("m1"), losing_bids().alias("m2")
    o1, o2 = aliased(Organization), aliased(Organization)
    return (
        select(
            m1.c.tender_id,
            null_contract(),
            pairs.c.a.label("organization_a"),
            o1.name.label("organization_a_name"),
            pairs.c.b.label("organization_b"),
            o2.name.label("organization_b_name"),
            pairs.c.together.label("lost_together"),
        )
        .join(m2, and_(m2.c.tender_id == m1.c.tender_id, m1.c.organization_id < m2.c.organization_id))
        .join(pairs, and_(pairs.c.a == m1.c.organization_id, pairs.c.b == m2.c.organization_id))
        .join(o1, o1.id == pairs.c.a)
        .join(o2, o2.id == pairs.c.b)
    )


def losers_never_win(t: Thresholds):
    """An organization with at least N (5) opened bids in awarded processes and no award: each process
    where it lost."""
    bids, awards = opened_bids(), live_awards()
    records = (
        select(
            bids.c.organization_id,
            func.count(func.distinct(bids.c.tender_id)).label("bids"),
            count_if(awards.c.bid_id == bids.c.bid_id).label("won"),
        )
        .join(awards, awards.c.tender_id == bids.c.tender_id)
        .group_by(bids.c.organization_id)
        .having(
            and_(
                func.count(func.distinct(bids.c.tender_id)) >= t.loser_min_bids,
                count_if(awards.c.bid_id == bids.c.bid_id) == 0,
            )
        )
        .subquery("never_won")
    )
    losers = losing_bids()
    return (
        select(
            losers.c.tender_id,
            null_contract(),
            records.c.organization_id.label("organization"),
            Organization.name.label("organization_name"),
            records.c.bids.label("bids_in_awarded_processes"),
        )
        .join(records, records.c.organization_id == losers.c.organization_id)
        .join(Organization, Organization.id == records.c.organization_id)
    )
