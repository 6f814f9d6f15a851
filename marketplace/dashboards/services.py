"""Read-only aggregates for the dashboards. Nothing here changes a row.

Every query is scoped in SQL to the viewer's agency or organization, and sums and counts are done
by the database (GROUP BY), not by loading rows into Python. Sealed bids: the officer's dashboard
counts tenders, never bids; the organization's reads only its own bids, through ``bids.services``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import joinedload

from marketplace.contracts.models import (
    ACTIVE,
    COMPLETED,
    DRAFT,
    Contract,
    ContractTarget,
    Milestone,
    Payment,
    ServiceRecord,
)
from marketplace.contracts.signing import deadline_after, unsigned_cutoff
from marketplace.core.calendar import WorkingCalendar
from marketplace.extensions import db
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.bids.visibility import bids_of_organization
from marketplace.tenders.committee.models import Award
from marketplace.tenders.models import CLOSED, OPEN, STATUSES, Tender

# GPL 46: the contract is signed within 30 days of the award notice.
ENDING_WITHIN_DAYS = 30
UPCOMING_WITHIN_DAYS = 30
TOP_CONTRACTS = 10
MAX_ROWS = 100
RECENT_BIDS = 10

ZERO = Decimal("0.00")

# Why a contract is at risk (the template turns the codes into words).
UNSIGNED = "unsigned"
ENDING = "ending"
EXPIRED = "expired"
OVERDUE = "overdue"


def _money(value) -> Decimal:
    """A SUM from the database (Decimal, or float/int on SQLite) as a two-place Decimal."""
    if value is None:
        return ZERO
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _percent(part: Decimal, whole: Decimal) -> int:
    if not whole:
        return 0
    return int((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


# --- rows --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusCount:
    status: str
    count: int


@dataclass
class ContractAtRisk:
    contract: Contract
    reasons: list[str] = field(default_factory=list)
    overdue_milestones: int = 0
    days_left: int | None = None  # to the end of the term (negative once it passed)


@dataclass(frozen=True)
class DueMilestone:
    milestone_id: int
    contract_id: int
    contract_reference: str
    contract_title: str
    deliverable: str
    due_date: date
    amount: Decimal
    status: str
    today: date

    @property
    def days_overdue(self) -> int:
        """Days past the due date, counted from today's local date (not the job's last run)."""
        return max(0, (self.today - self.due_date).days)

    @property
    def days_until(self) -> int:
        return (self.due_date - self.today).days

    @property
    def overdue(self) -> bool:
        return self.due_date < self.today


@dataclass(frozen=True)
class PaymentRow:
    contract_id: int
    reference: str
    title: str
    status: str
    value: Decimal
    paid: Decimal

    @property
    def outstanding(self) -> Decimal:
        return max(ZERO, self.value - self.paid)

    @property
    def percent(self) -> int:
        return _percent(self.paid, self.value)


@dataclass(frozen=True)
class PaymentTotals:
    contracts: int
    value: Decimal
    paid: Decimal

    @property
    def percent(self) -> int:
        return _percent(self.paid, self.value)


@dataclass(frozen=True)
class TargetProgress:
    target_id: int
    contract_id: int
    name: str
    unit: str
    planned: Decimal
    delivered: Decimal

    @property
    def percent(self) -> int:
        return _percent(self.delivered, self.planned)


@dataclass
class OrganizationContract:
    payment: PaymentRow
    term_end: date
    awaiting_our_signature: bool
    targets: list[TargetProgress] = field(default_factory=list)

    @property
    def signed(self) -> bool:
        """Signed by both parties (active or completed): payments are made on it."""
        return self.payment.status != DRAFT


# --- shared queries ---------------------------------------------------------------------------------


def _paid_per_contract():
    return (
        select(Payment.contract_id, func.sum(Payment.amount).label("paid"))
        .group_by(Payment.contract_id)
        .subquery("paid_per_contract")
    )


def _milestones(scope, today: date, *conditions, limit: int = MAX_ROWS) -> list[DueMilestone]:
    """Not-yet-accepted milestones of active contracts in ``scope``, earliest due first."""
    rows = db.session.execute(
        select(
            Milestone.id,
            Milestone.contract_id,
            Contract.reference,
            Contract.title,
            Milestone.deliverable,
            Milestone.due_date,
            Milestone.amount,
            Milestone.status,
        )
        .join(Contract, Contract.id == Milestone.contract_id)
        .where(scope, Contract.status == ACTIVE, Milestone.status != "accepted", *conditions)
        .order_by(Milestone.due_date, Contract.id, Milestone.position)
        .limit(limit)
    )
    return [DueMilestone(*row, today=today) for row in rows]


def _payment_rows(scope, *conditions, order_by, limit: int = MAX_ROWS) -> list[PaymentRow]:
    paid = _paid_per_contract()
    rows = db.session.execute(
        select(
            Contract.id,
            Contract.reference,
            Contract.title,
            Contract.status,
            Contract.value,
            func.coalesce(paid.c.paid, 0),
        )
        .outerjoin(paid, paid.c.contract_id == Contract.id)
        .where(scope, *conditions)
        .order_by(*order_by)
        .limit(limit)
    )
    return [
        PaymentRow(cid, ref, title, status, _money(value), _money(paid_sum))
        for cid, ref, title, status, value, paid_sum in rows
    ]


# --- the officer's dashboard ------------------------------------------------------------------------


def tender_counts(agency_id: int, now: datetime) -> list[StatusCount]:
    """Tenders of the agency per status, every status listed (zeros included).

    An open tender whose deadline passed counts as closed, as the tender pages show it."""
    shown = case((and_(Tender.status == OPEN, Tender.bid_deadline <= now), CLOSED), else_=Tender.status)
    per_tender = select(shown.label("status")).where(Tender.agency_id == agency_id).subquery()
    counts = dict(
        db.session.execute(select(per_tender.c.status, func.count()).group_by(per_tender.c.status)).all()
    )
    return [StatusCount(status, int(counts.get(status, 0))) for status in STATUSES]


def contracts_at_risk(agency_id: int, now: datetime, today: date) -> list[ContractAtRisk]:
    """Draft contracts unsigned past their signing deadline (or flagged by the job), active
    contracts whose term ends within 30 days or has ended, and active contracts with overdue
    milestones."""
    scope = Contract.agency_id == agency_id
    # The signing deadline is 30 days after the notice, moved off weekends and holidays (GPL 46;
    # contracts.signing): a first cut in SQL, then the calendar.
    calendar = WorkingCalendar.load()
    unsigned = {
        contract_id
        for contract_id, flagged, published_at in db.session.execute(
            select(Contract.id, Contract.unsigned_flagged_at, Award.published_at)
            .join(Award, Award.id == Contract.award_id)
            .where(
                scope,
                Contract.status == DRAFT,
                or_(Contract.unsigned_flagged_at.is_not(None), Award.published_at < unsigned_cutoff(today)),
            )
        )
        if flagged is not None or deadline_after(published_at, calendar) < today
    }
    ending = set(
        db.session.scalars(
            select(Contract.id).where(
                scope,
                Contract.status == ACTIVE,
                Contract.term_end <= today + timedelta(days=ENDING_WITHIN_DAYS),
            )
        )
    )
    overdue = dict(
        db.session.execute(
            select(Milestone.contract_id, func.count())
            .join(Contract, Contract.id == Milestone.contract_id)
            .where(
                scope,
                Contract.status == ACTIVE,
                Milestone.status != "accepted",
                Milestone.due_date < today,
            )
            .group_by(Milestone.contract_id)
        ).all()
    )
    ids = unsigned | ending | set(overdue)
    if not ids:
        return []
    contracts = db.session.scalars(
        select(Contract)
        .options(joinedload(Contract.organization))
        .where(Contract.id.in_(ids))
        .order_by(Contract.term_end, Contract.id)
    ).all()
    out = []
    for c in contracts:
        risk = ContractAtRisk(c, overdue_milestones=int(overdue.get(c.id, 0)))
        if c.id in unsigned:
            risk.reasons.append(UNSIGNED)
        if c.id in ending:
            risk.days_left = (c.term_end - today).days
            risk.reasons.append(EXPIRED if risk.days_left < 0 else ENDING)
        if risk.overdue_milestones:
            risk.reasons.append(OVERDUE)
        out.append(risk)
    return out


def overdue_milestones(agency_id: int, today: date) -> list[DueMilestone]:
    return _milestones(Contract.agency_id == agency_id, today, Milestone.due_date < today)


def upcoming_milestones(agency_id: int, today: date) -> list[DueMilestone]:
    return _milestones(
        Contract.agency_id == agency_id,
        today,
        Milestone.due_date >= today,
        Milestone.due_date <= today + timedelta(days=UPCOMING_WITHIN_DAYS),
    )


def _payment_totals(scope, *conditions) -> PaymentTotals:
    paid = _paid_per_contract()
    count, value, paid_sum = db.session.execute(
        select(func.count(Contract.id), func.sum(Contract.value), func.sum(paid.c.paid))
        .select_from(Contract)
        .outerjoin(paid, paid.c.contract_id == Contract.id)
        .where(scope, *conditions)
    ).one()
    return PaymentTotals(int(count or 0), _money(value), _money(paid_sum))


def agency_payments(agency_id: int) -> tuple[PaymentTotals, list[PaymentRow]]:
    """Totals over the agency's active contracts, and the ten largest with what has been paid."""
    scope = Contract.agency_id == agency_id
    totals = _payment_totals(scope, Contract.status == ACTIVE)
    top = _payment_rows(
        scope, Contract.status == ACTIVE, order_by=(Contract.value.desc(), Contract.id), limit=TOP_CONTRACTS
    )
    return totals, top


# --- the organization's dashboard -------------------------------------------------------------------


def recent_bids(organization_id: int, limit: int = RECENT_BIDS) -> list:
    """The organization's own bids, most recently changed first (never anyone else's)."""
    stmt = bids_of_organization(organization_id).options(joinedload(Bid.tender))
    return list(db.session.scalars(stmt.limit(limit)))


def bid_counts(organization_id: int) -> dict[str, int]:
    own = bids_of_organization(organization_id).order_by(None).subquery()
    return {
        status: int(n)
        for status, n in db.session.execute(select(own.c.status, func.count()).group_by(own.c.status))
    }


def organization_contracts(organization_id: int) -> list[OrganizationContract]:
    """The organization's contracts (terminated ones left out), each with what it has been paid and
    what it has delivered per target (service records summed per target)."""
    scope = Contract.organization_id == organization_id
    payments = _payment_rows(
        scope,
        Contract.status.in_((DRAFT, ACTIVE, COMPLETED)),
        order_by=(
            case((Contract.status == DRAFT, 0), (Contract.status == ACTIVE, 1), else_=2),
            Contract.term_end,
            Contract.id,
        ),
    )
    if not payments:
        return []
    ids = [p.contract_id for p in payments]
    extra = {
        cid: (term_end, org_signed_at)
        for cid, term_end, org_signed_at in db.session.execute(
            select(Contract.id, Contract.term_end, Contract.org_signed_at).where(Contract.id.in_(ids))
        )
    }
    out = {
        p.contract_id: OrganizationContract(
            payment=p,
            term_end=extra[p.contract_id][0],
            awaiting_our_signature=p.status == DRAFT and extra[p.contract_id][1] is None,
        )
        for p in payments
    }
    for target in target_progress(organization_id, ids):
        out[target.contract_id].targets.append(target)
    return list(out.values())


def target_progress(organization_id: int, contract_ids: list[int]) -> list[TargetProgress]:
    delivered = (
        select(ServiceRecord.target_id, func.sum(ServiceRecord.quantity).label("delivered"))
        .join(Contract, Contract.id == ServiceRecord.contract_id)
        .where(Contract.organization_id == organization_id, ServiceRecord.target_id.is_not(None))
        .group_by(ServiceRecord.target_id)
        .subquery("delivered_per_target")
    )
    rows = db.session.execute(
        select(
            ContractTarget.id,
            ContractTarget.contract_id,
            ContractTarget.name,
            ContractTarget.unit,
            ContractTarget.quantity,
            func.coalesce(delivered.c.delivered, 0),
        )
        .join(Contract, Contract.id == ContractTarget.contract_id)
        .outerjoin(delivered, delivered.c.target_id == ContractTarget.id)
        .where(Contract.organization_id == organization_id, ContractTarget.contract_id.in_(contract_ids))
        .order_by(ContractTarget.contract_id, ContractTarget.position, ContractTarget.id)
    )
    return [
        TargetProgress(tid, cid, name, unit, _money(planned), _money(done))
        for tid, cid, name, unit, planned, done in rows
    ]


def due_next(organization_id: int, today: date, limit: int = 10) -> list[DueMilestone]:
    """What the organization must deliver next: milestones not accepted, overdue ones first."""
    return _milestones(Contract.organization_id == organization_id, today, limit=limit)


def organization_payment_totals(organization_id: int) -> PaymentTotals:
    """Received against the value of the organization's signed contracts (active and completed)."""
    return _payment_totals(
        Contract.organization_id == organization_id, Contract.status.in_((ACTIVE, COMPLETED))
    )
