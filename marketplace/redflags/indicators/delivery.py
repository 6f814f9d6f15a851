"""Indicators of the contract stage: signature, variations, acceptance, payments, ex-post grades."""

from __future__ import annotations

from sqlalchemy import and_, exists, func, or_, select

from marketplace.contracts.models import (
    Acceptance,
    Contract,
    Milestone,
    MilestoneDocument,
    MilestoneSubmission,
    Payment,
    ServiceRecord,
    Variation,
)
from marketplace.performance.models import Evaluation
from marketplace.redflags.indicators.common import Thresholds, days_between
from marketplace.tenders.committee.models import Award


def variation_near_cap(t: Thresholds):
    """Approved variations raised the value to within reach of the cap: the increase is at least the
    used share (90 %) of the cap (10 % of the original value, GPL 49)."""
    floor = t.variation_cap_share * t.variation_cap_used
    approved = (
        select(Variation.contract_id, func.count().label("approved"))
        .where(Variation.status == "approved")
        .group_by(Variation.contract_id)
        .subquery()
    )
    return (
        select(
            Contract.tender_id.label("tender_id"),
            Contract.id.label("contract_id"),
            Contract.original_value.label("original_value"),
            Contract.value.label("value"),
            func.coalesce(approved.c.approved, 0).label("approved_variations"),
        )
        .outerjoin(approved, approved.c.contract_id == Contract.id)
        .where(
            Contract.value > Contract.original_value,
            Contract.value - Contract.original_value >= Contract.original_value * floor,
        )
    )


def late_signature(t: Thresholds):
    """Signed by both parties more than N (30) days after the award notice, or still unsigned and
    flagged so by the contract-deadlines job."""
    days = days_between(Award.published_at, Contract.activated_at)
    return (
        select(
            Contract.tender_id.label("tender_id"),
            Contract.id.label("contract_id"),
            Award.published_at.label("award_notice_at"),
            Contract.activated_at.label("signed_at"),
            days.label("days_to_signature"),
            Contract.unsigned_flagged_at.label("unsigned_flagged_at"),
        )
        .join(Award, Award.id == Contract.award_id)
        .where(
            or_(
                and_(Contract.activated_at.is_not(None), days > t.signature_days),
                and_(Contract.activated_at.is_(None), Contract.unsigned_flagged_at.is_not(None)),
            )
        )
    )


def acceptance_without_evidence(t: Thresholds):
    """A milestone accepted with no document in any of its submissions and no service record of the
    contract dated on or before its acceptance."""
    documents = (
        select(MilestoneDocument.id)
        .join(MilestoneSubmission, MilestoneSubmission.id == MilestoneDocument.submission_id)
        .where(MilestoneSubmission.milestone_id == Milestone.id)
    )
    records = select(ServiceRecord.id).where(
        ServiceRecord.contract_id == Milestone.contract_id,
        or_(Milestone.met_on.is_(None), ServiceRecord.service_date <= Milestone.met_on),
    )
    return (
        select(
            Contract.tender_id.label("tender_id"),
            Contract.id.label("contract_id"),
            Milestone.id.label("milestone"),
            Milestone.deliverable.label("deliverable"),
            Milestone.accepted_at.label("accepted_at"),
        )
        .join(Contract, Contract.id == Milestone.contract_id)
        .where(Milestone.status == "accepted", ~exists(documents), ~exists(records))
    )


def payment_before_acceptance(t: Thresholds):
    """A payment for a milestone made before the milestone was accepted (or while it is not)."""
    return (
        select(
            Contract.tender_id.label("tender_id"),
            Contract.id.label("contract_id"),
            Payment.id.label("payment"),
            Payment.paid_on.label("paid_on"),
            Payment.amount.label("amount"),
            Milestone.id.label("milestone"),
            Milestone.status.label("milestone_status"),
            Milestone.met_on.label("accepted_on"),
        )
        .join(Milestone, Milestone.id == Payment.milestone_id)
        .join(Contract, Contract.id == Payment.contract_id)
        .where(
            or_(
                Milestone.status != "accepted", Milestone.met_on.is_(None), Milestone.met_on > Payment.paid_on
            )
        )
    )


def poor_grade_after_acceptance(t: Thresholds):
    """The ex-post performance evaluation graded poor while the final acceptance passed."""
    return (
        select(
            Contract.tender_id.label("tender_id"),
            Contract.id.label("contract_id"),
            Evaluation.grade.label("grade"),
            Evaluation.total.label("total"),
            Acceptance.accepted_at.label("accepted_at"),
        )
        .join(Contract, Contract.id == Evaluation.contract_id)
        .join(Acceptance, Acceptance.contract_id == Contract.id)
        .where(
            Evaluation.stage == "ex_post",
            Evaluation.status == "submitted",
            Evaluation.grade.in_(t.poor_grades),
            Acceptance.result == "passed",
        )
    )
