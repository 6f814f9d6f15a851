"""Tenders and what hangs off them before bidding: criteria, documents, amendments, clarifications."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from marketplace import clock
from marketplace.auth.models import Agency, User
from marketplace.core.db import Money, TimestampMixin, UTCDateTime
from marketplace.core.districts import District
from marketplace.extensions import db
from marketplace.orgs.models import Organization
from marketplace.tenders import procedures, search_index

DRAFT = "draft"
OPEN = "open"  # published, accepting bids until the deadline
CANCELLED = "cancelled"
CLOSED = "closed"  # deadline passed, bids not yet opened
OPENED = "opened"  # bids opened; evaluation follows
FAILED = "failed"  # 流标: too few bids, too few qualified bids, or an upheld challenge
EVALUATION = "evaluation"  # committee formed; qualification and scoring
AWARDED = "awarded"  # award notice published (final once the challenge window closes)
STATUSES = (DRAFT, OPEN, CLOSED, OPENED, EVALUATION, AWARDED, FAILED, CANCELLED)
PUBLIC_STATUSES = (OPEN, CLOSED, OPENED, EVALUATION, AWARDED, FAILED, CANCELLED)
# Every status a tender reaches only through the opening of its bids at the deadline.
AFTER_OPENING = (OPENED, EVALUATION, AWARDED, FAILED)
# The stored name of the price criterion (pages show its translated ``Criterion.label``).
PRICE_CRITERION_NAME = "价格 Price"

tender_service_areas = Table(
    "tender_service_areas",
    db.Model.metadata,
    Column("tender_id", ForeignKey("tenders.id", ondelete="CASCADE"), primary_key=True),
    Column("district_code", ForeignKey("districts.code"), primary_key=True),
    # The public search's district filter: the tenders serving a street (migration 0016).
    Index("ix_tender_service_areas_district_code", "district_code", "tender_id"),
)


class Tender(TimestampMixin, db.Model):
    __tablename__ = "tenders"
    __table_args__ = (
        CheckConstraint("budget_ceiling > 0", name="budget_positive"),
        CheckConstraint("contract_term_months BETWEEN 1 AND 36", name="term_range"),
        CheckConstraint(
            "status IN ('draft', 'open', 'closed', 'opened', 'evaluation', 'awarded', 'failed', 'cancelled')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    category: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), nullable=False, index=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), nullable=False, index=True)
    method: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    evaluation_method: Mapped[str] = mapped_column(String(40), nullable=False)
    budget_ceiling: Mapped[Decimal] = mapped_column(Money(), nullable=False, index=True)  # search sorts
    funding_sources: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    contract_term_months: Mapped[int] = mapped_column(Integer, nullable=False)
    eligibility: Mapped[str] = mapped_column(Text, nullable=False, default="")
    reserved_for_small: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # No bid bond and no performance bond (IR 33, 48 allow, never require them); set when drafting.
    bonds_waived: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    bid_deadline: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    # The public half of the tender's opening key (tenders.bids.ceremony): bids are sealed to it.
    bid_public_key: Mapped[str | None] = mapped_column(String(64))
    contact_name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    contact_phone: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    contact_email: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    not_excluded_confirmed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=DRAFT, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # search sorts
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when it failed (流标/废标)
    # Set on a re-run (重新招标) to the tender it repeats.
    retender_of_id: Mapped[int | None] = mapped_column(ForeignKey("tenders.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    # What the public search finds the tender by (tenders.search_index, docs/search.md); kept in step
    # with the title, description and reference by ``_keep_search_tokens``. Written, never read.
    search_tokens: Mapped[str] = mapped_column(
        search_index.SearchTokens(), nullable=False, default="", server_default="", deferred=True
    )

    agency: Mapped[Agency] = relationship()
    district: Mapped[District] = relationship()
    created_by: Mapped[User] = relationship()
    service_areas: Mapped[list[District]] = relationship(
        secondary=tender_service_areas, order_by=District.code
    )
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="tender", cascade="all, delete-orphan", order_by="Criterion.position"
    )
    documents: Mapped[list[TenderDocument]] = relationship(
        back_populates="tender", cascade="all, delete-orphan", order_by="TenderDocument.id"
    )
    amendments: Mapped[list[Amendment]] = relationship(
        back_populates="tender", cascade="all, delete-orphan", order_by="Amendment.number"
    )
    clarifications: Mapped[list[Clarification]] = relationship(
        back_populates="tender", cascade="all, delete-orphan", order_by="Clarification.id"
    )
    invitations: Mapped[list[TenderInvitation]] = relationship(
        back_populates="tender", cascade="all, delete-orphan", order_by="TenderInvitation.id"
    )
    invitation_draws: Mapped[list[InvitationDraw]] = relationship(
        back_populates="tender", cascade="all, delete-orphan", order_by="InvitationDraw.id"
    )

    @validates("title", "description", "reference")
    def _keep_search_tokens(self, key: str, value: str | None) -> str | None:
        texts = {"title": self.title, "description": self.description, "reference": self.reference}
        texts[key] = value
        self.search_tokens = search_index.document_tokens(**texts)
        return value

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_STATUSES

    @property
    def accepting_bids(self) -> bool:
        return self.status == OPEN and clock.now() < self.bid_deadline

    @property
    def cancellable(self) -> bool:
        """A draft, or a published tender before its deadline, can be cancelled."""
        return self.status == DRAFT or self.accepting_bids

    @property
    def bids_opened(self) -> bool:
        """The opening record exists: the bids were opened at the deadline."""
        return self.status in AFTER_OPENING

    @property
    def display_status(self) -> str:
        """``open`` tenders whose deadline passed read as closed until the opening job runs."""
        if self.status == OPEN and clock.now() >= self.bid_deadline:
            return CLOSED
        return self.status

    @property
    def by_invitation(self) -> bool:
        """An invited tender (邀请招标): only the organizations invited may bid."""
        return procedures.profile(self.method).by_invitation

    @property
    def bid_bond_cap(self) -> Decimal:
        """The largest bid bond this tender may ask for: BID_BOND_MAX_SHARE (IR 33: 2 %) of the budget."""
        share = Decimal(str(current_app.config["BID_BOND_MAX_SHARE"]))
        return (self.budget_ceiling * share).quantize(Decimal("0.01"), rounding=ROUND_DOWN)

    @property
    def price_criterion(self) -> Criterion | None:
        return next((c for c in self.criteria if c.is_price), None)

    @property
    def technical_criteria(self) -> list[Criterion]:
        return [c for c in self.criteria if not c.is_price]

    def __repr__(self) -> str:
        return f"<Tender {self.id} {self.status} {self.title!r}>"


class Criterion(db.Model):
    __tablename__ = "criteria"
    __table_args__ = (
        CheckConstraint("weight > 0 AND weight <= 100", name="weight_range"),
        UniqueConstraint("tender_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    weight: Mapped[int] = mapped_column(Integer, nullable=False)
    is_price: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    tender: Mapped[Tender] = relationship(back_populates="criteria")

    @property
    def label(self) -> str:
        """The name shown on pages: the price criterion's in the reader's language."""
        return _("Price") if self.is_price else self.name


class TenderDocument(db.Model):
    __tablename__ = "tender_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(
        ForeignKey("tenders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(120), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    storage_key: Mapped[str] = mapped_column(String(100), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    amendment_id: Mapped[int | None] = mapped_column(ForeignKey("amendments.id"))

    tender: Mapped[Tender] = relationship(back_populates="documents")


class Amendment(db.Model):
    """A change to a published tender (澄清或者修改), with its reason and what changed."""

    __tablename__ = "amendments"
    __table_args__ = (UniqueConstraint("tender_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    changes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    previous_deadline: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    new_deadline: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    # The officer's classification: a change that could affect bids (the 15-day rule, re-confirmation)
    # or not (contact details, typos: the deadline stays).
    substantive: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())

    tender: Mapped[Tender] = relationship(back_populates="amendments")


class Clarification(db.Model):
    """A question from an organization member and the officer's answer. The asker is never public."""

    __tablename__ = "clarifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(
        ForeignKey("tenders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    question: Mapped[str] = mapped_column(Text, nullable=False)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The officer's classification of the answer: does it change the tender documents? Then it was
    # published as an amendment (IR 31; O87 27).
    changes_documents: Mapped[bool | None] = mapped_column(Boolean)
    amendment_id: Mapped[int | None] = mapped_column(ForeignKey("amendments.id"))

    tender: Mapped[Tender] = relationship(back_populates="clarifications")
    asked_by: Mapped[User] = relationship(foreign_keys=[asked_by_id])


# How an invited organization was chosen (O87 art 14): drawn at random from the qualified pool, or
# recommended in writing.
DRAWN = "draw"
RECOMMENDED = "recommendation"


class InvitationDraw(db.Model):
    """A random draw of organizations to invite: the pool it was applied to (sorted ids), its seed
    and its picks, so anyone can repeat it (``core.draws.repeat``)."""

    __tablename__ = "invitation_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(
        ForeignKey("tenders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    seed: Mapped[str] = mapped_column(String(64), nullable=False)
    pool: Mapped[list] = mapped_column(JSON, nullable=False)
    picked: Mapped[list] = mapped_column(JSON, nullable=False)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    drawn_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)

    tender: Mapped[Tender] = relationship(back_populates="invitation_draws")
    drawn_by: Mapped[User] = relationship()

    @property
    def record(self) -> dict:
        return {"seed": self.seed, "pool": list(self.pool), "picked": list(self.picked)}


class TenderInvitation(db.Model):
    """An organization invited to bid on an invited tender (邀请招标). Prepared on the draft; the
    publication sends it. Invitee names are the officers' and auditors' only."""

    __tablename__ = "tender_invitations"
    __table_args__ = (
        UniqueConstraint("tender_id", "organization_id"),
        CheckConstraint("source IN ('draw', 'recommendation')", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), nullable=False)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("invitation_draws.id", ondelete="CASCADE"))
    # A written recommendation: who recommends the organization, and why.
    recommended_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tender: Mapped[Tender] = relationship(back_populates="invitations")
    organization: Mapped[Organization] = relationship()
    draw: Mapped[InvitationDraw | None] = relationship()
