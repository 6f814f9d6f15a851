"""Grids, grid workers and needs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime
from marketplace.core.districts import District
from marketplace.extensions import db

SCREENING = "screening"  # from the residents' form, not yet confirmed by the grid worker
OPEN = "open"
DISPATCHED = "dispatched"
DECLINED = "declined"
MET = "met"
MERGED = "merged"  # added to an open need of the same grid and category
REJECTED = "rejected"  # screened out by the grid worker (not a need, or not in the grid)
STATUSES = (SCREENING, OPEN, DISPATCHED, DECLINED, MET, MERGED, REJECTED)
URGENCIES = ("low", "normal", "high", "urgent")
URGENCY_RANK = {"urgent": 4, "high": 3, "normal": 2, "low": 1}
GRID_WORKER_SOURCE, RESIDENT_SOURCE = "grid_worker", "resident"

grid_workers = Table(
    "grid_workers",
    db.metadata,
    Column("grid_id", ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True, index=True),
)


class Grid(db.Model):
    """A grid (网格) of about 200 households or 500 people, under a community of GB/T 2260."""

    __tablename__ = "grids"
    __table_args__ = (CheckConstraint("households >= 0 AND population >= 0", name="counts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    community_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), nullable=False, index=True)
    households: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    population: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    community: Mapped[District] = relationship()
    workers = relationship("User", secondary=grid_workers, order_by="User.email")

    def __repr__(self) -> str:
        return f"<Grid {self.code}>"


class Need(db.Model):
    """A need of residents of one grid, in one service category. Never a resident's personal data."""

    __tablename__ = "needs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('screening', 'open', 'dispatched', 'declined', 'met', 'merged', 'rejected')",
            name="status",
        ),
        CheckConstraint("urgency IN ('low', 'normal', 'high', 'urgent')", name="urgency"),
        CheckConstraint("source IN ('grid_worker', 'resident')", name="source"),
        CheckConstraint("households >= 0 AND people >= 1 AND reports >= 1", name="counts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_code: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), nullable=False, index=True)
    category: Mapped[str] = mapped_column(String(40), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    households: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    people: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    urgency: Mapped[str] = mapped_column(String(10), nullable=False, default="normal")
    status: Mapped[str] = mapped_column(String(12), nullable=False, default=OPEN, index=True)
    source: Mapped[str] = mapped_column(String(12), nullable=False, default=GRID_WORKER_SOURCE)
    reports: Mapped[int] = mapped_column(Integer, nullable=False, default=1)  # merged reports, this one too
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dispatched_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str | None] = mapped_column(Text)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    tender_id: Mapped[int | None] = mapped_column(ForeignKey("tenders.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)

    grid: Mapped[Grid] = relationship()
    merged_into: Mapped[Need | None] = relationship(remote_side=[id])
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])
    tender = relationship("Tender")
    contract = relationship("Contract")

    @property
    def urgency_rank(self) -> int:
        return URGENCY_RANK[self.urgency]

    def __repr__(self) -> str:
        return f"<Need {self.id} {self.status}>"
