"""Bid bonds (投标保证金) and performance bonds (履约保证金), recorded as data (IR 33, 48).

A bid bond is held for one bid and returned within 5 working days: to the losers after the award
notice, to the winner after the contract is signed. A performance bond is held for one contract.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import Money, UTCDateTime
from marketplace.core.public_ids import PUBLIC_ID_LENGTH, new_public_id
from marketplace.extensions import db

TRANSFER = "transfer"
BANK_GUARANTEE = "bank_guarantee"
INSURANCE_GUARANTEE = "insurance_guarantee"
CHEQUE = "cheque"
BOND_FORMS = (TRANSFER, BANK_GUARANTEE, INSURANCE_GUARANTEE, CHEQUE)
_FORM_CHECK = "form IN ('transfer', 'bank_guarantee', 'insurance_guarantee', 'cheque')"


class _BondColumns:
    """What every bond records: how much, in what form, when received and returned, by whom."""

    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    form: Mapped[str] = mapped_column(String(30), nullable=False)
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    returned_on: Mapped[date | None] = mapped_column(Date)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def returned(self) -> bool:
        return self.returned_on is not None


class BidBond(_BondColumns, db.Model):
    __tablename__ = "bid_bonds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_FORM_CHECK, name="form"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Shown instead of ``id``: a bid bond may be declared before the opening (issue 17).
    public_id: Mapped[str] = mapped_column(
        String(PUBLIC_ID_LENGTH), nullable=False, unique=True, index=True, default=new_public_id
    )
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), nullable=False, index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), nullable=False, unique=True)
    # True when the organization declared it for its own bid; False when the officer recorded it.
    declared: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set by the bond-returns job when the return became overdue (the officers are told once).
    return_overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    bid = relationship("Bid")
    tender = relationship("Tender")


class PerformanceBond(_BondColumns, db.Model):
    __tablename__ = "performance_bonds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_FORM_CHECK, name="form"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), nullable=False, unique=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    contract = relationship("Contract")
