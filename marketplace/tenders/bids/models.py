"""Sealed bids. Nothing here may reach anyone but the bidding organization before the opening.

Rows are read only through ``bids.visibility`` queries that take the viewer into account; views
never query these models directly.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import Money, TimestampMixin, UTCDateTime
from marketplace.core.public_ids import PUBLIC_ID_LENGTH, new_public_id
from marketplace.extensions import db

DRAFT = "draft"
SUBMITTED = "submitted"
WITHDRAWN = "withdrawn"
ACTIVE = (DRAFT, SUBMITTED)
_ACTIVE_SQL = text("status IN ('draft', 'submitted')")


class Bid(TimestampMixin, db.Model):
    __tablename__ = "bids"
    __table_args__ = (
        # At most one active (draft or submitted) bid per organization per tender.
        Index(
            "uq_bids_active_per_organization",
            "tender_id",
            "organization_id",
            unique=True,
            sqlite_where=_ACTIVE_SQL,
            postgresql_where=_ACTIVE_SQL,
        ),
        CheckConstraint("status IN ('draft', 'submitted', 'withdrawn')", name="status"),
        CheckConstraint("price IS NULL OR price > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The only id shown (URLs, pages, forms): the sequential ``id`` would tell how many bids were made
    # in between, and when, before the opening (issue 17).
    public_id: Mapped[str] = mapped_column(
        String(PUBLIC_ID_LENGTH), nullable=False, unique=True, index=True, default=new_public_id
    )
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=DRAFT)
    price: Mapped[Decimal | None] = mapped_column(Money())
    # {criterion id (str): the organization's response}
    responses: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # keys of the declarations the organization made
    declarations: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    digest: Mapped[str | None] = mapped_column(String(64))
    needs_reconfirmation: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The saved draft as checked when it was saved (eligible, complete, attachments hashed): the content a
    # submission seals and its digest. Empty while the draft is incomplete or after the tender changed;
    # submitting then asks for the draft to be saved again (docs/bidding.md).
    ready_content: Mapped[dict | None] = mapped_column(JSON)
    ready_digest: Mapped[str | None] = mapped_column(String(64))
    # A tender with an opening key: the ready content already sealed to it (ceremony.contents), so that a
    # submission only moves it. The draft's own fields are the organization's working copy; a
    # submission erases them, and only the sealed version remains until the opening.
    ready_sealed: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)

    tender = relationship("Tender")
    organization = relationship("Organization")
    # The current attachments (of the working copy, for a sealed bid). One removed from the draft after
    # it was part of a submitted version is kept (``removed_at`` set): that version's content lists its
    # SHA-256, and it stays downloadable. A sealed bid's submitted attachments carry their ``version``.
    attachments: Mapped[list[BidAttachment]] = relationship(
        back_populates="bid",
        cascade="all, delete-orphan",
        order_by="BidAttachment.id",
        primaryjoin=(
            "and_(Bid.id == BidAttachment.bid_id, BidAttachment.removed_at.is_(None), "
            "BidAttachment.version.is_(None))"
        ),
    )
    kept_attachments: Mapped[list[BidAttachment]] = relationship(
        viewonly=True,
        order_by="BidAttachment.id",
        primaryjoin="and_(Bid.id == BidAttachment.bid_id, BidAttachment.removed_at.is_(None))",
    )
    submissions: Mapped[list[BidSubmission]] = relationship(
        back_populates="bid", cascade="all, delete-orphan", order_by="BidSubmission.version"
    )

    @property
    def is_sealed(self) -> bool:
        """Its latest submitted version is still encrypted (until the opening ceremony decrypts it)."""
        return bool(self.submissions) and self.submissions[-1].content is None

    @property
    def opened_attachments(self) -> list[BidAttachment]:
        """The attachments of the submitted version that counts (after the opening: the opened one)."""
        return [a for a in self.kept_attachments if a.version in (None, self.version)]

    @property
    def sealed_attachment_count(self) -> int:
        """How many attachments the latest submitted version of a sealed bid has."""
        return sum(1 for a in self.kept_attachments if a.version is not None and a.version == self.version)

    @property
    def is_active(self) -> bool:
        """A draft or a submitted bid (not withdrawn): the organization's one bid for the tender."""
        return self.status in ACTIVE

    def __repr__(self) -> str:  # no content in reprs: they end up in logs
        return f"<Bid {self.public_id} {self.status}>"


class BidAttachment(db.Model):
    __tablename__ = "bid_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(PUBLIC_ID_LENGTH), nullable=False, unique=True, index=True, default=new_public_id
    )
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), nullable=False, index=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(120), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    storage_key: Mapped[str] = mapped_column(String(100), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # Removed from the draft after a submitted version listed it: kept in the record (GPL 42).
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A sealed bid's attachment is stored encrypted (``sha256`` is then the ciphertext's). In the working
    # copy: the plain file's SHA-256 and its key, wrapped by the platform's key. A submission seals it
    # into ``version`` and erases those and the file name, which the sealed version keeps; the opening
    # restores them.
    version: Mapped[int | None] = mapped_column(Integer)
    plain_sha256: Mapped[str | None] = mapped_column(String(64))
    working_key: Mapped[str | None] = mapped_column(Text)

    bid: Mapped[Bid] = relationship(back_populates="attachments")


class BidSubmission(db.Model):
    """Each submitted version, immutable: what was submitted, when, and its digest."""

    __tablename__ = "bid_submissions"
    __table_args__ = (UniqueConstraint("bid_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    # A sealed bid's version: empty until the opening decrypts it (``sealed``).
    price: Mapped[Decimal | None] = mapped_column(Money())
    content: Mapped[dict | None] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    # The version encrypted to the tender's opening key (base64), and the SHA-256 of that ciphertext.
    sealed: Mapped[str | None] = mapped_column(Text)
    sealed_sha256: Mapped[str | None] = mapped_column(String(64))

    bid: Mapped[Bid] = relationship(back_populates="submissions")


class BidOpening(db.Model):
    """The opening record (开标记录), made once at the deadline."""

    __tablename__ = "bid_openings"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, unique=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    bid_count: Mapped[int] = mapped_column(Integer, nullable=False)
    failed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # [{bid_id, organization_id, organization, uscc, price, submitted_at, version, digest, reconfirmed,
    #   over_ceiling}]; empty when too few bids came in: they stay sealed (O87 41).
    record: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    # With too few bids: the organizations whose bids stayed sealed (they may read why the tender
    # failed; nobody learns who they are).
    sealed_organizations: Mapped[list | None] = mapped_column(JSON)
    # Submitted bids not re-confirmed after the last amendment: neither opened nor counted.
    unconfirmed_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # Bids that could not be decrypted at the ceremony: [{bid_id, organization_id, organization, uscc,
    # version, sealed_sha256, problem, outcome}] (电子招标投标办法 31: withdrawn or revoked).
    undecrypted: Mapped[list | None] = mapped_column(JSON)

    tender = relationship("Tender")
