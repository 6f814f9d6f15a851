"""Contracts and their delivery: terms, targets, milestones, service records, reports, payments.

Signed terms are never edited in place: a change goes through a ``Variation`` (kept in history)
whose approval writes the new value or term; the contract keeps its ``original_value`` for the
10 % cap of GPL 49.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import Money, UTCDateTime
from marketplace.extensions import db

# Contract states: drafted by the officer, active once both sides signed, completed after final
# acceptance, or terminated early (reason and amount paid recorded).
DRAFT = "draft"
ACTIVE = "active"
COMPLETED = "completed"
TERMINATED = "terminated"
CONTRACT_STATUSES = (DRAFT, ACTIVE, COMPLETED, TERMINATED)
# Signed by both parties: the public may read about these (summary page, public documents).
SIGNED_STATUSES = (ACTIVE, COMPLETED, TERMINATED)

MILESTONE_KINDS = ("delivery", "report", "payment")
# pending: not yet submitted (or rejected and waiting for a resubmission); submitted: waiting for the
# officer; accepted: met (its payment share becomes due).
MILESTONE_STATUSES = ("pending", "submitted", "rejected", "accepted")


class _DocumentColumns:
    """The columns every document table shares (see ``core.documents.StoredFile.columns``)."""

    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(120), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    storage_key: Mapped[str] = mapped_column(String(100), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class Contract(db.Model):
    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'active', 'completed', 'terminated')",
            name="status",
        ),
        CheckConstraint("value > 0", name="value_positive"),
        CheckConstraint("term_end >= term_start", name="term_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(50), nullable=False, unique=True)
    # One contract per tender (a re-tender is a new tender).
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, unique=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), nullable=False)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=DRAFT, index=True)
    original_value: Mapped[Decimal] = mapped_column(Money(), nullable=False)  # the awarded price
    value: Mapped[Decimal] = mapped_column(Money(), nullable=False)  # after approved variations
    term_start: Mapped[date] = mapped_column(Date, nullable=False)
    term_end: Mapped[date] = mapped_column(Date, nullable=False)
    term_justification: Mapped[str] = mapped_column(Text, nullable=False, default="")  # > 12 months
    scope: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    officer_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    officer_signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    org_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    org_signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # both signatures
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    termination_reason: Mapped[str | None] = mapped_column(Text)
    termination_amount_paid: Mapped[Decimal | None] = mapped_column(Money())
    # Set by the contract-deadlines job: not signed within 30 days of the award notice (GPL 46);
    # the term ends soon (notified once).
    unsigned_flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expiry_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why a side signed after the signing deadline (GPL 46), one line per late signature.
    late_signature_reason: Mapped[str | None] = mapped_column(Text)

    tender = relationship("Tender")
    award = relationship("Award")
    agency = relationship("Agency")
    organization = relationship("Organization")
    targets: Mapped[list[ContractTarget]] = relationship(
        back_populates="contract", order_by="ContractTarget.position", cascade="all, delete-orphan"
    )
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="contract", order_by="Milestone.position", cascade="all, delete-orphan"
    )
    documents: Mapped[list[ContractDocument]] = relationship(cascade="all, delete-orphan")

    @property
    def is_draft(self) -> bool:
        return self.status == DRAFT

    @property
    def is_active(self) -> bool:
        """In force: signed by both parties, neither completed nor terminated."""
        return self.status == ACTIVE

    @property
    def is_signed(self) -> bool:
        """Signed by both parties (active, completed or terminated)."""
        return self.status in SIGNED_STATUSES

    @property
    def is_terminated(self) -> bool:
        return self.status == TERMINATED


class ContractTarget(db.Model):
    """A service target (KPI): "older residents served: 200 persons"."""

    __tablename__ = "contract_targets"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    unit: Mapped[str] = mapped_column(String(40), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)

    contract: Mapped[Contract] = relationship(back_populates="targets")


class Milestone(db.Model):
    __tablename__ = "milestones"
    __table_args__ = (
        CheckConstraint("kind IN ('delivery', 'report', 'payment')", name="kind"),
        CheckConstraint("status IN ('pending', 'submitted', 'rejected', 'accepted')", name="status"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    deliverable: Mapped[str] = mapped_column(String(300), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="delivery")
    due_date: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))  # payment share
    is_final: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # final acceptance
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending", index=True)
    met_on: Mapped[date | None] = mapped_column(Date)  # the local date it was accepted
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Kept by the flag-overdue job: days past due on its last run, never moving the due date.
    overdue_days: Mapped[int | None] = mapped_column(Integer)
    overdue_notified_on: Mapped[date | None] = mapped_column(Date)  # at most one notice a day
    reminded_for_due: Mapped[date | None] = mapped_column(Date)  # the due date last reminded of

    contract: Mapped[Contract] = relationship(back_populates="milestones")
    submissions: Mapped[list[MilestoneSubmission]] = relationship(
        back_populates="milestone", order_by="MilestoneSubmission.id", cascade="all, delete-orphan"
    )

    @property
    def awaits_submission(self) -> bool:
        """Not submitted yet, or rejected and waiting for a resubmission."""
        return self.status in ("pending", "rejected")

    @property
    def is_submitted(self) -> bool:
        """Submitted and waiting for the officer's decision."""
        return self.status == "submitted"

    @property
    def is_accepted(self) -> bool:
        return self.status == "accepted"


class MilestoneSubmission(db.Model):
    """One submission of a milestone with its report and evidence, and the officer's decision."""

    __tablename__ = "milestone_submissions"
    __table_args__ = (
        CheckConstraint("decision IS NULL OR decision IN ('accepted', 'rejected')", name="decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(
        ForeignKey("milestones.id", ondelete="CASCADE"), nullable=False, index=True
    )
    report: Mapped[str] = mapped_column(Text, nullable=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    decision: Mapped[str | None] = mapped_column(String(20))
    decision_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    milestone: Mapped[Milestone] = relationship(back_populates="submissions")
    documents: Mapped[list[MilestoneDocument]] = relationship(cascade="all, delete-orphan")


class MilestoneDocument(_DocumentColumns, db.Model):
    __tablename__ = "milestone_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("milestone_submissions.id", ondelete="CASCADE"), nullable=False, index=True
    )


class ContractDocument(_DocumentColumns, db.Model):
    __tablename__ = "contract_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)


class Variation(db.Model):
    """A change request: reason, the proposed terms, approval or rejection. Kept in history."""

    __tablename__ = "variations"
    __table_args__ = (CheckConstraint("status IN ('requested', 'approved', 'rejected')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    # What changes: {"value": "330000.00", "term_end": "2027-12-31", "milestones": [...], ...}
    changes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # The terms before the change (filled on approval), so history reads without replaying.
    previous: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="requested")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_note: Mapped[str] = mapped_column(Text, nullable=False, default="")

    contract = relationship("Contract")

    @property
    def is_pending(self) -> bool:
        """Requested and waiting for the other party's decision."""
        return self.status == "requested"

    @property
    def is_approved(self) -> bool:
        return self.status == "approved"


class ServiceRecord(db.Model):
    """What the organization did: counts only, never a recipient's identity number."""

    __tablename__ = "service_records"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("beneficiaries >= 0", name="beneficiaries_not_negative"),
        CheckConstraint("hours >= 0", name="hours_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    service_date: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    activity_type: Mapped[str] = mapped_column(String(40), nullable=False)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("contract_targets.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, default=Decimal("0"))
    beneficiaries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    hours: Mapped[Decimal] = mapped_column(Numeric(8, 2), nullable=False, default=Decimal("0"))
    community_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)

    target = relationship("ContractTarget")
    community = relationship("District")
    documents: Mapped[list[ServiceRecordDocument]] = relationship(cascade="all, delete-orphan")


class ServiceRecordDocument(_DocumentColumns, db.Model):
    __tablename__ = "service_record_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("service_records.id", ondelete="CASCADE"), nullable=False, index=True
    )


class ProgressReport(db.Model):
    """The organization's periodic progress report (a period and a narrative)."""

    __tablename__ = "progress_reports"
    __table_args__ = (CheckConstraint("period_end >= period_start", name="period_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    issues: Mapped[str] = mapped_column(Text, nullable=False, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)


class Acceptance(db.Model):
    """Final acceptance (验收): result, the service-recipient representatives who took part (IR 45)."""

    __tablename__ = "acceptances"
    __table_args__ = (CheckConstraint("result IN ('passed', 'failed')", name="result"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    result: Mapped[str] = mapped_column(String(20), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    # [{"name": "王阿姨", "community": "...", "role": "服务对象代表"}]: names only, no identity numbers.
    recipient_representatives: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    accepted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def passed(self) -> bool:
        return self.result == "passed"

    @property
    def communities(self) -> list[str]:
        """The communities the representatives came from, each once, in order."""
        return sorted({p.get("community") for p in self.recipient_representatives if p.get("community")})


class Payment(db.Model):
    """A recorded payment. The ledger's total never exceeds the contract value (checked by the verb)."""

    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id"))
    paid_on: Mapped[date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    reference: Mapped[str] = mapped_column(String(100), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)

    milestone = relationship("Milestone")
