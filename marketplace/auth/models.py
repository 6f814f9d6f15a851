"""Accounts and the procuring agencies (采购单位) officers belong to."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.auth import passwords
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
        CheckConstraint(
            "role IN ('officer', 'org_member', 'evaluator', 'auditor', 'admin', 'grid_worker')", name="role"
        ),
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
    # Raised by sign-out, a password change or reset, deactivation and an administrator's "end sessions":
    # every session and remember-me cookie carries the version it was issued with (get_id) and dies
    # when it changes (auth.sessions.load_user).
    session_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # When the owner followed the confirmation link; self-registered accounts cannot sign in before.
    email_verified_at: Mapped[datetime | None] = mapped_column()

    agency: Mapped[Agency | None] = relationship(back_populates="members")
    organization = relationship("Organization", backref="members")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return bool(self.active)

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_id(self) -> str:
        """The session's user id: ``"7"`` at version 0 (sessions issued before versions existed), else
        ``"7:3"``; Flask-Login puts it in the session and the remember-me cookie."""
        return str(self.id) if not self.session_version else f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        self.password_hash = passwords.hash_password(password)

    def check_password(self, password: str) -> bool:
        return passwords.verify(self.password_hash, password)

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class LoginThrottle(db.Model):
    """Failed sign-ins per account (keyed by the hashed, normalised email, so unknown addresses are
    throttled alike and the lock reveals nothing): after ``LOGIN_FAILURES_BEFORE_BACKOFF`` failures,
    the account refuses attempts for an exponentially growing time (auth.throttle)."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column()
    last_failure_at: Mapped[datetime] = mapped_column(nullable=False)


# Scopes a personal API token may carry (docs/api.md); which of them a role may choose: auth.api_tokens.
API_SCOPES = ("read", "delivery:write", "audit:read")


class ApiToken(db.Model):
    """A personal API token (issue 19): shown once, stored as its SHA-256; ``prefix`` (not secret) names it
    in lists and rate limits. It acts as its user, never with more rights (the policy layer decides)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    scopes: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()

    def usable_at(self, moment: datetime) -> bool:
        return self.revoked_at is None and moment < self.expires_at

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix} user={self.user_id}>"
