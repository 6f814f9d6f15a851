"""Performance evaluation of purchased services (绩效评价) and service-recipient satisfaction surveys.

An indicator system is a template: a tree of level-1 and level-2 indicators with weights summing to
100 and a scoring rule per leaf. A template in use is never changed in place: editing it makes a new
version (``supersedes_id``). Each contract has up to three evaluation rounds (ex-ante 事前,
in-progress 事中, ex-post 事后), each scored by an independent third-party assessor.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime
from marketplace.extensions import db

STAGES = ("ex_ante", "in_progress", "ex_post")
# manual: points within the leaf's maximum; ratio: bands of actual / target (output indicators,
# prefilled from the contract's service records against its targets); survey: the satisfaction
# indicator, prefilled from the contract's survey (mean answer / 5 × maximum).
RULES = ("manual", "ratio", "survey")
# The default bands: >= 100 % full marks, 80-99 % two thirds, 60-79 % one third, below 60 % zero.
DEFAULT_BANDS = [
    {"min_ratio": "1.00", "share": "1"},
    {"min_ratio": "0.80", "share": "0.6667"},
    {"min_ratio": "0.60", "share": "0.3333"},
    {"min_ratio": "0", "share": "0"},
]


class IndicatorTemplate(db.Model):
    __tablename__ = "indicator_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # None: the general template; otherwise the service category it is made for.
    category: Mapped[str | None] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("indicator_templates.id"))
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # superseded
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="template", order_by="Indicator.position", cascade="all, delete-orphan"
    )


class Indicator(db.Model):
    """A level-1 indicator (no parent; its weight is the sum of its children's) or a level-2 leaf."""

    __tablename__ = "indicators"
    __table_args__ = (
        CheckConstraint("level IN (1, 2)", name="level"),
        CheckConstraint("rule IN ('manual', 'ratio', 'survey')", name="rule"),
        CheckConstraint("weight >= 0", name="weight_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("indicator_templates.id", ondelete="CASCADE"), nullable=False, index=True
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("indicators.id"))
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)  # = the leaf's maximum points
    rule: Mapped[str] = mapped_column(String(20), nullable=False, default="manual")
    bands: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # for rule == 'ratio'

    template: Mapped[IndicatorTemplate] = relationship(back_populates="indicators")


class Evaluation(db.Model):
    """One evaluation round of a contract, by a third-party assessor."""

    __tablename__ = "evaluations"
    __table_args__ = (
        UniqueConstraint("contract_id", "stage"),
        CheckConstraint("stage IN ('ex_ante', 'in_progress', 'ex_post')", name="stage"),
        CheckConstraint("status IN ('assigned', 'declared', 'submitted')", name="status"),
        CheckConstraint("grade IS NULL OR grade IN ('excellent', 'good', 'fair', 'poor')", name="grade"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), nullable=False, index=True)
    stage: Mapped[str] = mapped_column(String(20), nullable=False)
    template_id: Mapped[int] = mapped_column(ForeignKey("indicator_templates.id"), nullable=False)
    assessor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # assigned → declared (the assessor declared no conflict of interest) → submitted (scored).
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="assigned")
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    declaration: Mapped[str] = mapped_column(Text, nullable=False, default="")
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    total: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    grade: Mapped[str | None] = mapped_column(String(20))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    contract = relationship("Contract")
    template = relationship("IndicatorTemplate")
    assessor = relationship("User", foreign_keys=[assessor_id])
    scores: Mapped[list[IndicatorScore]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan"
    )

    @property
    def awaits_declaration(self) -> bool:
        """Assigned, and the assessor has not declared yet."""
        return self.status == "assigned" and self.declared_at is None

    @property
    def has_conflict(self) -> bool:
        """The assessor declared a conflict: the round waits for another assessor."""
        return self.status == "assigned" and self.declared_at is not None

    @property
    def is_being_scored(self) -> bool:
        """The assessor declared independence and may score."""
        return self.status == "declared"

    @property
    def is_submitted(self) -> bool:
        return self.status == "submitted"

    @property
    def state(self) -> str:
        """The status, or "conflict" while a declared conflict waits for another assessor."""
        return "conflict" if self.has_conflict else self.status


class IndicatorScore(db.Model):
    """The assessor's points for one leaf indicator, with the prefilled value and any override."""

    __tablename__ = "indicator_scores"
    __table_args__ = (UniqueConstraint("evaluation_id", "indicator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), nullable=False)
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)
    ratio: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))  # actual / target, ratio rules
    prefilled_points: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    override_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    evidence: Mapped[str] = mapped_column(Text, nullable=False, default="")
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")

    evaluation: Mapped[Evaluation] = relationship(back_populates="scores")
    indicator = relationship("Indicator")


class Survey(db.Model):
    """A contract's public satisfaction survey, reached by an unguessable key (link and QR code)."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), nullable=False, unique=True)
    key: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    contract = relationship("Contract")


class SurveyResponse(db.Model):
    """One answer: 1-5 per question, an optional comment, hashed device and address (no identity)."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("survey_id", "device_hash"),
        CheckConstraint(
            "comment_status IN ('none', 'shown', 'held')",
            name="comment_status",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False, index=True
    )
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    answers: Mapped[dict] = mapped_column(JSON, nullable=False)  # {"q1": 5, ...}
    mean: Mapped[Decimal] = mapped_column(Numeric(4, 2), nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # none: no comment; shown: passed screening (officers see it); held: failed screening (links, length).
    comment_status: Mapped[str] = mapped_column(String(10), nullable=False, default="none")
    device_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    address_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
