"""Evaluation committee, conflict declarations, qualification, scores, results, award and challenges."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import Money, TimestampMixin, UTCDateTime
from marketplace.core.districts import District
from marketplace.extensions import db

_CURRENT_SQL = text("superseded_at IS NULL")


class CommitteeMember(db.Model):
    __tablename__ = "committee_members"
    __table_args__ = (
        UniqueConstraint("tender_id", "user_id"),
        CheckConstraint("role IN ('expert', 'buyer_rep')", name="role"),
        CheckConstraint("NOT (is_chair AND role = 'buyer_rep')", name="buyer_rep_not_chair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="expert")
    is_chair: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    removed_reason: Mapped[str | None] = mapped_column(Text)
    appointed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # no conflict with any bidder
    scores_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user = relationship("User")
    tender = relationship("Tender")


class ConflictDeclaration(db.Model):
    """A member's declaration about one bidder, made before seeing any bid."""

    __tablename__ = "conflict_declarations"
    __table_args__ = (UniqueConstraint("member_id", "bid_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("committee_members.id"), nullable=False, index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), nullable=False)
    conflict: Mapped[bool] = mapped_column(Boolean, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class Qualification(db.Model):
    __tablename__ = "qualifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), nullable=False, unique=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, index=True)
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)


class Score(db.Model):
    """A member's points for one bid on one criterion. A re-evaluation (an upheld challenge) supersedes
    the earlier round's scores instead of deleting them: they stay in the record (GPL 42)."""

    __tablename__ = "scores"
    __table_args__ = (
        # One current score per member, bid and criterion; superseded ones are kept beside it.
        Index(
            "uq_scores_current",
            "member_id",
            "bid_id",
            "criterion_id",
            unique=True,
            sqlite_where=_CURRENT_SQL,
            postgresql_where=_CURRENT_SQL,
        ),
        CheckConstraint("points >= 0", name="points_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("committee_members.id"), nullable=False, index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), nullable=False)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"), nullable=False)
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # The evaluation round the score belongs to (1, plus one per upheld challenge sent back to the
    # committee); an earlier round's scores are superseded and stay, read-only, in the report.
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default=text("1"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PriceReview(db.Model):
    """The committee's decision on an abnormally low price: justified (kept) or invalid (O87 60)."""

    __tablename__ = "price_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), nullable=False, unique=True)
    accepted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    justification: Mapped[str] = mapped_column(Text, nullable=False)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)


class EvaluationResult(db.Model):
    """The computed ranking, frozen when the evaluation is concluded (the report shows it)."""

    __tablename__ = "evaluation_results"
    __table_args__ = (UniqueConstraint("tender_id", "round", "bid_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, index=True)
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), nullable=False)
    price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    evaluated_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    price_points: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    technical_points: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    total: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    rank: Mapped[int | None] = mapped_column(Integer)
    invalid_reason: Mapped[str | None] = mapped_column(Text)

    bid = relationship("Bid")


class Award(db.Model):
    __tablename__ = "awards"
    __table_args__ = (CheckConstraint("status IN ('notice', 'final', 'annulled')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), nullable=False)
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")  # why not the first-ranked
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="notice")
    confirmed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    notice_ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    challenge_deadline: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    annulled_reason: Mapped[str | None] = mapped_column(Text)

    bid = relationship("Bid")
    tender = relationship("Tender")


class AwardPassOver(db.Model):
    """A candidate passed over in the award's rank order (O87 68): it withdrew, was disqualified or
    failed to sign; the award goes to the next in order. Never chosen by preference."""

    __tablename__ = "award_pass_overs"
    __table_args__ = (
        CheckConstraint("ground IN ('withdrew', 'disqualified', 'failed_to_sign')", name="ground"),
        UniqueConstraint("tender_id", "bid_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), nullable=False)
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    ground: Mapped[str] = mapped_column(String(20), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)

    bid = relationship("Bid")


class Challenge(db.Model):
    """质疑: a bidder's challenge of the award, answered by the officer."""

    __tablename__ = "challenges"
    __table_args__ = (CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), nullable=False, index=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False)
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    grounds: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    answer: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(20))  # reevaluate | fail (when upheld)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organization = relationship("Organization")
    documents: Mapped[list[ChallengeDocument]] = relationship(cascade="all, delete-orphan")


class ChallengeDocument(db.Model):
    __tablename__ = "challenge_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), nullable=False, index=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(120), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    storage_key: Mapped[str] = mapped_column(String(100), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


# --- the evaluation expert pool (评审专家库) and the draws from it (财库〔2016〕198号) ---------------

expert_districts = Table(
    "expert_districts",
    db.Model.metadata,
    Column("expert_id", ForeignKey("experts.id", ondelete="CASCADE"), primary_key=True),
    Column("district_code", ForeignKey("districts.code"), primary_key=True),
)


class Expert(TimestampMixin, db.Model):
    """An entry of the expert pool: an evaluator account, the categories it is drawn for, its employer
    (who it may not evaluate) and whether it can be drawn now."""

    __tablename__ = "experts"
    __table_args__ = (CheckConstraint("availability IN ('available', 'unavailable')", name="availability"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, unique=True)
    categories: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    employer: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    # When the employer is a registered organization or a buying agency: what the draw excludes by.
    employer_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    employer_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    availability: Mapped[str] = mapped_column(String(20), nullable=False, default="available")
    unavailable_until: Mapped[date | None] = mapped_column(Date)  # unavailable up to and including

    user = relationship("User")
    employer_organization = relationship("Organization")
    employer_agency = relationship("Agency")
    districts: Mapped[list[District]] = relationship(secondary=expert_districts, order_by=District.code)


class ExpertDraw(db.Model):
    """A recorded random draw of experts for a tender's committee (``core.draws``): the pool after the
    exclusions in canonical order, the seed, and the picks in draw order. The first ``appointed``
    picks sit on the committee, the rest are its reserves, in order. Anyone can repeat it."""

    __tablename__ = "expert_draws"
    __table_args__ = (
        CheckConstraint("kind IN ('committee', 'reserve')", name="kind"),
        CheckConstraint("appointed >= 0", name="appointed_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="committee")
    category: Mapped[str] = mapped_column(String(40), nullable=False)
    appointed: Mapped[int] = mapped_column(Integer, nullable=False)
    seed: Mapped[str] = mapped_column(String(64), nullable=False)
    pool: Mapped[list] = mapped_column(JSON, nullable=False)  # expert ids, sorted
    picked: Mapped[list] = mapped_column(JSON, nullable=False)  # expert ids, in draw order
    excluded: Mapped[list] = mapped_column(JSON, nullable=False)  # [{"expert_id": 3, "reason": "bidder"}]
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    drawn_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)

    drawn_by = relationship("User")
    tender = relationship("Tender")

    @property
    def reserves(self) -> list[int]:
        return list(self.picked[self.appointed :])

    def as_record(self) -> dict:
        return {"seed": self.seed, "pool": list(self.pool), "picked": list(self.picked)}
