"""A saved tender search and the tenders it has alerted.

The alerts of a search are kept twice over: ``alerted_until`` is its watermark (the run that last
looked for new tenders), and ``SavedSearchHit`` names each tender already alerted, so a tender whose
publication committed just after a run looked is still found by the next (``matching.LAG``) and no
tender is ever alerted twice by the same search.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.auth.models import User
from marketplace.core.db import Money, TimestampMixin, UTCDateTime
from marketplace.extensions import db


class SavedSearch(TimestampMixin, db.Model):
    __tablename__ = "saved_searches"
    __table_args__ = (
        CheckConstraint(
            "budget_min IS NULL OR budget_max IS NULL OR budget_min <= budget_max", name="budget_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    # Who saved it: the alerts go to this user.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    keywords: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    categories: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    district_codes: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    budget_min: Mapped[Decimal | None] = mapped_column(Money())
    budget_max: Mapped[Decimal | None] = mapped_column(Money())
    paused: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    # The daily email; off after an unsubscribe (the inbox alerts go on).
    email_digest: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # The watermark: new tenders are those published after this (less matching.LAG) and not yet alerted.
    alerted_until: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    @property
    def has_criteria(self) -> bool:
        return bool(
            self.keywords.strip()
            or self.categories
            or self.district_codes
            or self.budget_min is not None
            or self.budget_max is not None
        )

    def __repr__(self) -> str:
        return f"<SavedSearch {self.id} org={self.organization_id} {self.name!r}>"


class SavedSearchHit(db.Model):
    """A tender a saved search has alerted (once)."""

    __tablename__ = "saved_search_hits"

    search_id: Mapped[int] = mapped_column(
        ForeignKey("saved_searches.id", ondelete="CASCADE"), primary_key=True
    )
    tender_id: Mapped[int] = mapped_column(
        ForeignKey("tenders.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    alerted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
