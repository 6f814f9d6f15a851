"""Using evaluation results: an organization's track record, the officers' review list, the holdback.

- Track record (public profile; reference for later evaluation committees): the final (ex-post)
  grades of its contracts, its on-time milestone rate and its recipients' satisfaction.
- Review list: organizations whose latest ex-post evaluation is graded poor (差) and which have not
  been suspended or debarred since; officers decide there (orgs review page) whether to sanction.
- Holdback: while a contract's ex-post grade is poor, ``FINAL_PAYMENT_HOLDBACK_SHARE`` of its final
  milestone's amount is not paid (``contracts.delivery.payments.record_payment`` asks ``holdback_amount``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from sqlalchemy import and_, func, select

from marketplace import clock
from marketplace.contracts.models import DRAFT, Contract, Milestone
from marketplace.core.schemas import parse_decimal
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.orgs.models import DEBARRED, SUSPENDED, Organization, OrgDecision
from marketplace.performance.models import Evaluation
from marketplace.performance.surveys import Satisfaction, organization_satisfaction

GRADES = ("excellent", "good", "fair", "poor")
CENT = Decimal("0.01")


def _final_evaluations():
    """Submitted, graded ex-post evaluations."""
    return select(Evaluation).where(
        Evaluation.stage == "ex_post", Evaluation.status == "submitted", Evaluation.grade.is_not(None)
    )


@dataclass
class FinalGrade:
    contract: Contract
    grade: str
    total: Decimal | None
    submitted_at: datetime | None


@dataclass
class TrackRecord:
    grades: list[FinalGrade] = field(default_factory=list)  # newest first
    grade_counts: dict[str, int] = field(default_factory=dict)
    milestones_due: int = 0
    milestones_on_time: int = 0
    on_time_rate: Decimal | None = None  # 0-1; None when nothing was due yet
    satisfaction: Satisfaction | None = None

    @property
    def is_empty(self) -> bool:
        return (
            not self.grades
            and not self.milestones_due
            and not (self.satisfaction and self.satisfaction.count)
        )


def final_grades(organization_id: int) -> list[FinalGrade]:
    rows = db.session.execute(
        _final_evaluations()
        .join(Contract, Contract.id == Evaluation.contract_id)
        .where(Contract.organization_id == organization_id)
        .order_by(Evaluation.submitted_at.desc(), Evaluation.id.desc())
        .with_only_columns(Contract, Evaluation.grade, Evaluation.total, Evaluation.submitted_at)
    ).all()
    return [FinalGrade(c, grade, total, submitted_at) for c, grade, total, submitted_at in rows]


def on_time(organization_id: int) -> tuple[int, int]:
    """(milestones due so far, of which accepted on or before the due date), over signed contracts."""
    today = local_date(clock.now())
    base = (
        select(func.count(Milestone.id))
        .join(Contract, Contract.id == Milestone.contract_id)
        .where(
            Contract.organization_id == organization_id,
            Contract.status != DRAFT,
            Milestone.due_date <= today,
        )
    )
    due = db.session.scalar(base) or 0
    met = (
        db.session.scalar(
            base.where(
                Milestone.status == "accepted",
                Milestone.met_on.is_not(None),
                Milestone.met_on <= Milestone.due_date,
            )
        )
        or 0
    )
    return due, met


def track_record(organization_id: int) -> TrackRecord:
    grades = final_grades(organization_id)
    counts = Counter(g.grade for g in grades)
    due, met = on_time(organization_id)
    return TrackRecord(
        grades=grades,
        grade_counts={g: counts.get(g, 0) for g in GRADES},
        milestones_due=due,
        milestones_on_time=met,
        on_time_rate=(Decimal(met) / due).quantize(Decimal("0.0001"), ROUND_HALF_UP) if due else None,
        satisfaction=organization_satisfaction(organization_id),
    )


# --- review list ----------------------------------------------------------------------------------


@dataclass
class ReviewEntry:
    organization: Organization
    contract: Contract
    evaluation: Evaluation


def review_list() -> list[ReviewEntry]:
    """Organizations whose latest ex-post grade is poor and that were not suspended or debarred since."""
    latest = (
        select(Contract.organization_id, func.max(Evaluation.submitted_at).label("at"))
        .join(Evaluation, Evaluation.contract_id == Contract.id)
        .where(Evaluation.stage == "ex_post", Evaluation.status == "submitted", Evaluation.grade.is_not(None))
        .group_by(Contract.organization_id)
        .subquery()
    )
    rows = db.session.execute(
        _final_evaluations()
        .join(Contract, Contract.id == Evaluation.contract_id)
        .join(
            latest,
            and_(
                latest.c.organization_id == Contract.organization_id, latest.c.at == Evaluation.submitted_at
            ),
        )
        .where(Evaluation.grade == "poor")
        .order_by(Evaluation.submitted_at.desc(), Evaluation.id.desc())
        .with_only_columns(Evaluation, Contract)
    ).all()
    entries, seen = [], set()
    for evaluation, contract in rows:
        org_id = contract.organization_id
        if org_id in seen:
            continue
        seen.add(org_id)
        sanctioned_since = db.session.scalar(
            select(OrgDecision.id).where(
                OrgDecision.organization_id == org_id,
                OrgDecision.action.in_((SUSPENDED, DEBARRED)),
                OrgDecision.decided_at >= evaluation.submitted_at,
            )
        )
        if sanctioned_since is None:
            entries.append(ReviewEntry(contract.organization, contract, evaluation))
    return entries


# --- holdback -------------------------------------------------------------------------------------


def holdback_share() -> Decimal:
    share = parse_decimal(current_app.config.get("FINAL_PAYMENT_HOLDBACK_SHARE", "0"))
    if share is None:
        return Decimal("0")
    return min(max(share, Decimal("0")), Decimal("1"))


def final_grade(contract: Contract) -> str | None:
    return db.session.scalar(
        _final_evaluations().where(Evaluation.contract_id == contract.id).with_only_columns(Evaluation.grade)
    )


def holdback_amount(contract: Contract) -> Decimal:
    """What is held back of the final milestone's amount: the configured share when graded poor, else 0."""
    if final_grade(contract) != "poor":
        return Decimal("0.00")
    final_amount = db.session.scalar(
        select(Milestone.amount).where(Milestone.contract_id == contract.id, Milestone.is_final.is_(True))
    )
    if final_amount is None:
        return Decimal("0.00")
    return (Decimal(final_amount) * holdback_share()).quantize(CENT, ROUND_HALF_UP)
