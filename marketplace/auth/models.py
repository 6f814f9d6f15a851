"""Accounts and the procuring agencies (采购单位) officers belong to."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.core.db import TimestampMixin
from marketplace.core.districts import District
from marketplace.extensions import db


class Agency(TimestampMixin, db.Model):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), nullable=False, index=True)

    district: Mapped[District] = relationship()
    members: Mapped[list[User]] = relationship(back_populates="agency")

    def display_name(self, locale: str | None = None) -> str:
        if locale and locale.startswith("en") and self.name_en:
            return self.name_en
        return self.name

    def __repr__(self) -> str:
        return f"<Agency {self.id} {self.name}>"


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('officer', 'org_member', 'evaluator', 'auditor', 'admin')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    # Organization members belong to exactly one organization.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    last_login_at: Mapped[datetime | None] = mapped_column()

    agency: Mapped[Agency | None] = relationship(back_populates="members")
    organization = relationship("Organization", backref="members")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return bool(self.active)

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"
