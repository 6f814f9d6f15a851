"""Indicators of the tendering and award stages: one SELECT each, over the whole data set."""

from __future__ import annotations

import math

from sqlalchemy import Integer, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import aliased

from marketplace.orgs.models import Organization
from marketplace.redflags.indicators.common import (
    Thresholds,
    count_if,
    days_between,
    live_awards,
    null_contract,
    opened_bids,
)
from marketplace.tenders import procedures
from marketplace.tenders.bids.models import BidOpening
from marketplace.tenders.committee.models import AwardPassOver, Qualification
from marketplace.tenders.models import DRAFT, Amendment, Tender

# Methods where bidders compete: every method but single-source procurement (单一来源).
NON_COMPETITIVE = ("single_source",)


def single_bid(t: Thresholds):
    """One bid opened, or one bid passing the qualification, in a competitive method."""
    passed = (
        select(
            Qualification.tender_id,
            func.count().label("qualified"),
            count_if(Qualification.passed.is_(True)).label("passed"),
        )
        .group_by(Qualification.tender_id)
        .subquery()
    )
    return (
        select(
            Tender.id.label("tender_id"),
            null_contract(),
            Tender.method.label("method"),
            BidOpening.bid_count.label("bids"),
            passed.c.passed.label("qualified_bids"),
        )
        .join(BidOpening, BidOpening.tender_id == Tender.id)
        .outerjoin(passed, passed.c.tender_id == Tender.id)
        .where(Tender.method.not_in(NON_COMPETITIVE), or_(BidOpening.bid_count == 1, passed.c.passed == 1))
    )


def _legal_minimum_days():
    """The method's minimum period in calendar days (a working-day minimum as ⌈days × 7 / 5⌉)."""
    whens = []
    for code in procedures.METHODS:
        p = procedures.profile(code)
        days = p.min_days if p.day_kind == procedures.CALENDAR_DAYS else math.ceil(p.min_days * 7 / 5)
        whens.append((Tender.method == code, days))
    return case(*whens, else_=0)


def short_tender_period(t: Thresholds):
    """A tender period at the legal minimum (plus the margin), or shorter than a share of the median
    period of the tenders of its district and category (with enough of them to have a median)."""
    period = days_between(Tender.published_at, Tender.bid_deadline)
    periods = (
        select(
            Tender.id.label("tender_id"),
            Tender.district_code,
            Tender.category,
            period.label("days"),
            _legal_minimum_days().label("minimum"),
        )
        .where(Tender.published_at.is_not(None), Tender.status != DRAFT)
        .subquery("periods")
    )
    ranked = select(
        periods.c.district_code,
        periods.c.category,
        periods.c.days,
        func.row_number()
        .over(partition_by=(periods.c.district_code, periods.c.category), order_by=periods.c.days)
        .label("rn"),
        func.count().over(partition_by=(periods.c.district_code, periods.c.category)).label("n"),
    ).subquery("ranked")
    medians = (
        select(
            ranked.c.district_code,
            ranked.c.category,
            func.avg(ranked.c.days).label("median"),
            func.max(ranked.c.n).label("sample"),
        )
        .where(ranked.c.rn.in_([cast((ranked.c.n + 1) / 2, Integer), cast((ranked.c.n + 2) / 2, Integer)]))
        .group_by(ranked.c.district_code, ranked.c.category)
        .subquery("medians")
    )
    at_minimum = periods.c.days <= periods.c.minimum + t.period_margin_days
    below_median = and_(
        medians.c.sample >= t.period_median_min_sample,
        periods.c.days < medians.c.median * float(t.period_median_share),
    )
    return (
        select(
            periods.c.tender_id,
            null_contract(),
            periods.c.days.label("period_days"),
            periods.c.minimum.label("legal_minimum_days"),
            medians.c.median.label("median_days"),
            medians.c.sample.label("median_sample"),
        )
        .join(
            medians,
            and_(
                medians.c.district_code == periods.c.district_code, medians.c.category == periods.c.category
            ),
        )
        .where(or_(at_minimum, below_median))
    )


def late_amendment(t: Thresholds):
    """An amendment published fewer than N days before the deadline it changed."""
    before = days_between(Amendment.created_at, Amendment.previous_deadline)
    return select(
        Amendment.tender_id.label("tender_id"),
        null_contract(),
        Amendment.number.label("amendment"),
        Amendment.created_at.label("amended_at"),
        Amendment.previous_deadline.label("previous_deadline"),
        Amendment.new_deadline.label("new_deadline"),
        before.label("days_before_deadline"),
        Amendment.substantive.label("substantive"),
    ).where(before < t.amendment_days)


def price_near_ceiling(t: Thresholds):
    """The winning price within the margin (1 %) of the budget ceiling."""
    awards = live_awards()
    return (
        select(
            awards.c.tender_id,
            null_contract(),
            awards.c.price.label("winning_price"),
            Tender.budget_ceiling.label("budget_ceiling"),
        )
        .join(Tender, Tender.id == awards.c.tender_id)
        .where(
            awards.c.price.is_not(None),
            awards.c.price * 100 >= Tender.budget_ceiling * (100 - t.ceiling_margin_percent),
        )
    )


def _phone(column):
    return func.replace(func.replace(func.replace(func.trim(column), " ", ""), "-", ""), "+86", "")


def shared_contacts(t: Thresholds):
    """Two bids of one process from organizations sharing a legal representative or a phone number."""
    b1, b2 = opened_bids().alias("b1"), opened_bids().alias("b2")
    o1, o2 = aliased(Organization), aliased(Organization)
    same_rep = and_(
        func.trim(o1.legal_representative) != "",
        func.trim(o1.legal_representative) == func.trim(o2.legal_representative),
    )
    same_phone = and_(_phone(o1.phone) != "", _phone(o1.phone) == _phone(o2.phone))
    return (
        select(
            b1.c.tender_id,
            null_contract(),
            o1.id.label("organization_a"),
            o1.name.label("organization_a_name"),
            o2.id.label("organization_b"),
            o2.name.label("organization_b_name"),
            case((same_rep, literal(True)), else_=literal(False)).label("same_legal_representative"),
            case((same_phone, literal(True)), else_=literal(False)).label("same_phone"),
        )
        .join(b2, and_(b2.c.tender_id == b1.c.tender_id, b1.c.organization_id < b2.c.organization_id))
        .join(o1, o1.id == b1.c.organization_id)
        .join(o2, o2.id == b2.c.organization_id)
        .where(or_(same_rep, same_phone))
    )


def all_but_winner_disqualified(t: Thresholds):
    """At least two bids qualified or disqualified, and only the winner's passed."""
    awards = live_awards()
    return (
        select(
            Qualification.tender_id.label("tender_id"),
            null_contract(),
            func.count().label("bids_examined"),
            count_if(Qualification.passed.is_(False)).label("disqualified"),
        )
        .join(awards, awards.c.tender_id == Qualification.tender_id)
        .group_by(Qualification.tender_id)
        .having(
            and_(
                func.count() >= 2,
                count_if(Qualification.passed.is_(True)) == 1,
                count_if(and_(Qualification.passed.is_(True), Qualification.bid_id == awards.c.bid_id)) == 1,
            )
        )
    )


def award_not_rank_1(t: Thresholds):
    """The award went to a bid ranked below first (passed-over candidates are listed)."""
    awards = live_awards()
    passed_over = (
        select(AwardPassOver.tender_id, func.count().label("passed_over"))
        .group_by(AwardPassOver.tender_id)
        .subquery()
    )
    return (
        select(
            awards.c.tender_id,
            null_contract(),
            awards.c.rank.label("awarded_rank"),
            func.coalesce(passed_over.c.passed_over, 0).label("passed_over_recorded"),
        )
        .outerjoin(passed_over, passed_over.c.tender_id == awards.c.tender_id)
        .where(awards.c.rank > 1)
    )
