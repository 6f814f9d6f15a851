"""Social organizations (承接主体): registration, verification state, members, documents, sanctions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, Date, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace import clock
from marketplace.core.db import TimestampMixin, UTCDateTime
from marketplace.core.districts import District
from marketplace.core.timeutil import local_date
from marketplace.extensions import db

PENDING = "pending"
INFO_REQUESTED = "info_requested"
VERIFIED = "verified"
REJECTED = "rejected"
SUSPENDED = "suspended"
DEBARRED = "debarred"
STATUSES = (PENDING, INFO_REQUESTED, VERIFIED, REJECTED, SUSPENDED, DEBARRED)
# The organization may correct its registration (and add documents) while it is in these.
EDITABLE_STATUSES = (PENDING, INFO_REQUESTED, REJECTED)
# Waiting for a reviewer's decision.
REVIEWABLE_STATUSES = (PENDING, INFO_REQUESTED)
# The verification stands (the organization appears in the public directory, sanctioned with a badge).
LISTED_STATUSES = (VERIFIED, SUSPENDED, DEBARRED)

ORG_TYPES = ("social_group", "social_service_agency", "foundation", "other_civil_affairs")
INSPECTION_RESULTS = ("qualified", "basically_qualified", "unqualified", "not_yet_inspected")
RATINGS = ("none", "1A", "2A", "3A", "4A", "5A")

organization_service_areas = Table(
    "organization_service_areas",
    db.Model.metadata,
    Column("organization_id", ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True),
    Column("district_code", ForeignKey("districts.code"), primary_key=True),
)


class Organization(TimestampMixin, db.Model):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'info_requested', 'verified', 'rejected', 'suspended', 'debarred')",
            name="status",
        ),
        CheckConstraint("staff_fulltime >= 0 AND staff_social_workers >= 0", name="staff_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    uscc: Mapped[str] = mapped_column(String(18), nullable=False, unique=True)
    org_type: Mapped[str] = mapped_column(String(40), nullable=False)
    registration_authority: Mapped[str] = mapped_column(String(200), nullable=False)
    registered_district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), nullable=False)
    founded_on: Mapped[date] = mapped_column(Date, nullable=False)
    legal_representative: Mapped[str] = mapped_column(String(100), nullable=False)
    contact_person: Mapped[str] = mapped_column(String(100), nullable=False)
    phone: Mapped[str] = mapped_column(String(40), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    categories: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    staff_fulltime: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    staff_social_workers: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    annual_inspection: Mapped[str] = mapped_column(String(40), nullable=False)
    rating: Mapped[str] = mapped_column(String(8), nullable=False, default="none")
    small_org_declared: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=PENDING, index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    sanction_until: Mapped[date | None] = mapped_column(Date)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    registered_district: Mapped[District] = relationship()
    service_areas: Mapped[list[District]] = relationship(
        secondary=organization_service_areas, order_by=District.code
    )
    documents: Mapped[list[OrgDocument]] = relationship(
        back_populates="organization", cascade="all, delete-orphan", order_by="OrgDocument.id"
    )
    decisions: Mapped[list[OrgDecision]] = relationship(
        back_populates="organization", cascade="all, delete-orphan", order_by="OrgDecision.id"
    )

    @property
    def awaits_review(self) -> bool:
        """Pending, or waiting for the information a reviewer asked for: a reviewer decides."""
        return self.status in REVIEWABLE_STATUSES

    @property
    def has_sanction(self) -> bool:
        """Suspended or debarred, whether or not the period has ended (it can be reinstated)."""
        return self.status in (SUSPENDED, DEBARRED)

    @property
    def is_sanctioned(self) -> bool:
        """Suspended or debarred and the period has not ended (an open-ended sanction has no end date)."""
        if not self.has_sanction:
            return False
        if self.sanction_until is None:
            return True
        return local_date(clock.now()) <= self.sanction_until

    @property
    def is_debarred_now(self) -> bool:
        """Debarred and the period has not ended: it must be reinstated before it can be suspended."""
        return self.status == DEBARRED and self.is_sanctioned

    @property
    def is_listed(self) -> bool:
        """In the public directory: verified once, and not rejected or back under review since."""
        return self.status in LISTED_STATUSES and self.verified_at is not None

    @property
    def may_bid(self) -> bool:
        """Verified, or a sanction whose period has ended (the verification still stands)."""
        return self.verified_at is not None and (
            self.status == VERIFIED or (self.has_sanction and not self.is_sanctioned)
        )

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.uscc} {self.status}>"


class OrgDocument(db.Model):
    __tablename__ = "org_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(40), nullable=False)  # registration_certificate | other
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(120), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    storage_key: Mapped[str] = mapped_column(String(100), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    organization: Mapped[Organization] = relationship(back_populates="documents")


class OrgDecision(db.Model):
    """Each review or sanction decision, kept as history (the organization sees its own)."""

    __tablename__ = "org_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    action: Mapped[str] = mapped_column(String(30), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    until: Mapped[date | None] = mapped_column(Date)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organization: Mapped[Organization] = relationship(back_populates="decisions")


class Invitation(db.Model):
    """An invitation for another person to join an organization; only the token's hash is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization: Mapped[Organization] = relationship()
