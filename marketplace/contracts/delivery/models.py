"""Rows of the delivery side that are not a contract's terms: bulk imports of service records (with the
content digest that keeps a file from being stored twice), the API's idempotency keys for those
imports, and the earlier versions of a corrected service record (issue 19, issue 20)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import UTCDateTime
from marketplace.extensions import db

STAGED = "staged"  # checked and waiting for the user's confirmation (web upload)
STORED = "stored"  # its records are stored
IMPORT_SOURCES = ("file", "api")


class ServiceImport(db.Model):
    """One imported file or API batch of a contract. ``digest`` (SHA-256 of the file's bytes, or of the
    API body's canonical JSON) is unique per contract: the same content is never stored twice."""

    __tablename__ = "service_imports"
    __table_args__ = (UniqueConstraint("contract_id", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=STAGED)
    rows: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # as read, before checking
    row_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    record_ids: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    staged_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    staged_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stored_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def is_stored(self) -> bool:
        return self.status == STORED


class ServiceImportRequest(db.Model):
    """An API import sent with an ``Idempotency-Key``: the same key and body replay ``response``."""

    __tablename__ = "service_import_requests"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(255), nullable=False)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    request_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    response: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class ServiceRecordVersion(db.Model):
    """An earlier version of a corrected service record: its values, who entered them and when, and
    the correction that replaced them. The record itself holds the current version."""

    __tablename__ = "service_record_versions"
    __table_args__ = (UniqueConstraint("record_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("service_records.id", ondelete="CASCADE"), nullable=False, index=True
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    service_date: Mapped[date] = mapped_column(Date, nullable=False)
    activity_type: Mapped[str] = mapped_column(String(40), nullable=False)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("contract_targets.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    beneficiaries: Mapped[int] = mapped_column(Integer, nullable=False)
    hours: Mapped[Decimal] = mapped_column(Numeric(8, 2), nullable=False)
    community_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    notes: Mapped[str] = mapped_column(Text, nullable=False)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    replaced_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)  # why it was corrected
