"""Which processes changed since a moment, and how far each indicator's recomputation must reach.

A process (tender) changed when any row of its history was written since: the tender, its bids and
opening, amendments, qualification, award, the audit events filed under it, its contract and the
contract's variations, milestones, submissions, service records, payments, acceptance and
evaluations, and the bidding organizations (their legal representative or phone)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, union

from marketplace.audit.models import AuditEvent
from marketplace.contracts.models import (
    Acceptance,
    Contract,
    Milestone,
    MilestoneSubmission,
    Payment,
    ServiceRecord,
    Variation,
)
from marketplace.extensions import db
from marketplace.orgs.models import Organization
from marketplace.performance.models import Evaluation
from marketplace.tenders.bids.models import Bid, BidOpening
from marketplace.tenders.committee.models import Award, Qualification
from marketplace.tenders.models import Amendment, Tender


def _by_contract(*conditions, join=None):
    stmt = select(Contract.tender_id)
    if join is not None:
        stmt = stmt.join(*join)
    return stmt.where(*conditions)


def changed_since(since: datetime):
    """A SELECT of the ids of the processes with a row written at or after ``since``."""
    return union(
        select(Tender.id).where(Tender.updated_at >= since),
        select(Bid.tender_id).where(Bid.updated_at >= since),
        select(BidOpening.tender_id).where(BidOpening.opened_at >= since),
        select(Amendment.tender_id).where(Amendment.created_at >= since),
        select(Qualification.tender_id).where(Qualification.decided_at >= since),
        select(Award.tender_id).where((Award.published_at >= since) | (Award.final_at >= since)),
        select(AuditEvent.tender_id).where(
            AuditEvent.occurred_at >= since, AuditEvent.tender_id.is_not(None)
        ),
        _by_contract(
            (Contract.created_at >= since)
            | (Contract.activated_at >= since)
            | (Contract.unsigned_flagged_at >= since)
            | (Contract.completed_at >= since)
            | (Contract.terminated_at >= since)
        ),
        _by_contract(
            (Variation.requested_at >= since) | (Variation.decided_at >= since),
            join=(Variation, Variation.contract_id == Contract.id),
        ),
        _by_contract(Milestone.accepted_at >= since, join=(Milestone, Milestone.contract_id == Contract.id)),
        select(Contract.tender_id)
        .join(Milestone, Milestone.contract_id == Contract.id)
        .join(MilestoneSubmission, MilestoneSubmission.milestone_id == Milestone.id)
        .where((MilestoneSubmission.submitted_at >= since) | (MilestoneSubmission.decided_at >= since)),
        _by_contract(
            ServiceRecord.recorded_at >= since, join=(ServiceRecord, ServiceRecord.contract_id == Contract.id)
        ),
        _by_contract(Payment.recorded_at >= since, join=(Payment, Payment.contract_id == Contract.id)),
        _by_contract(
            Acceptance.accepted_at >= since, join=(Acceptance, Acceptance.contract_id == Contract.id)
        ),
        _by_contract(
            Evaluation.submitted_at >= since, join=(Evaluation, Evaluation.contract_id == Contract.id)
        ),
        select(Bid.tender_id)
        .join(Organization, Organization.id == Bid.organization_id)
        .where(Organization.updated_at >= since),
    )


def changed_ids(since: datetime, limit: int) -> list[int] | None:
    """The ids of the processes changed since ``since``, or None when more than ``limit`` changed (the
    caller then recomputes everything)."""
    sub = changed_since(since).subquery()
    ids = list(db.session.scalars(select(sub.c[0]).limit(limit + 1)))
    return None if len(ids) > limit else ids


def reach(kind: str | None, ids: list[int]):
    """The SELECT of the process ids a recomputation for ``ids`` must cover (see ``indicators``)."""
    if kind is None:
        return select(Tender.id).where(Tender.id.in_(ids))
    if kind in ("agency_category", "district_category"):
        column = Tender.agency_id if kind == "agency_category" else Tender.district_code
        changed = select(column, Tender.category).where(Tender.id.in_(ids)).distinct().subquery()
        return select(Tender.id).join(
            changed, (changed.c[0] == column) & (changed.c.category == Tender.category)
        )
    if kind == "bidders":
        bidders = select(Bid.organization_id).where(Bid.tender_id.in_(ids)).distinct()
        return union(
            select(Tender.id).where(Tender.id.in_(ids)),
            select(Bid.tender_id).where(Bid.organization_id.in_(bidders)),
        )
    raise ValueError(kind)
