"""Account verbs. They change rows and write audit events; the caller commits."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth.models import Agency, User
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import OFFICER, ROLES
from marketplace.extensions import db

MIN_PASSWORD_LENGTH = 10


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise RuleViolation(
            _("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH), field="password"
        )
    if len(password) > 200:
        raise RuleViolation(_("The password is too long."), field="password")


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def find_agency(name_or_id: str | int) -> Agency | None:
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        agency = db.session.get(Agency, int(name_or_id))
        if agency:
            return agency
    return db.session.scalar(select(Agency).where(Agency.name == str(name_or_id)))


def create_user(
    *, email: str, role: str, password: str, name: str = "", agency: Agency | None = None, actor=None
) -> User:
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise RuleViolation(_("Enter a valid email address."), field="email")
    if role not in ROLES:
        raise RuleViolation(_("Unknown role %(role)s.", role=role), field="role")
    if role == OFFICER and agency is None:
        raise RuleViolation(_("An officer must belong to an agency."), field="agency")
    if role != OFFICER and agency is not None:
        raise RuleViolation(_("Only officers belong to an agency."), field="agency")
    check_password_strength(password)
    if find_user_by_email(email):
        raise RuleViolation(_("An account with this email already exists."), field="email")
    user = User(email=email, role=role, name=name.strip(), agency=agency, active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(
        actor,
        "user.create",
        "user",
        user.id,
        f"created {role} account {email}",
        {"role": role, "agency_id": agency.id if agency else None},
    )
    return user


def create_agency(*, name: str, district_code: str, name_en: str = "", actor=None) -> Agency:
    agency = Agency(name=name.strip(), name_en=name_en.strip(), district_code=district_code)
    db.session.add(agency)
    db.session.flush()
    audit.record(actor, "agency.create", "agency", agency.id, f"created agency {agency.name}")
    return agency


def authenticate(email: str, password: str) -> User | None:
    """The user when the email and password match an active account, else ``None``."""
    user = find_user_by_email(email)
    if user is None or not user.check_password(password or ""):
        return None
    if not user.is_active:
        return None
    return user


def record_login(user: User) -> None:
    user.last_login_at = clock.now()
    audit.record(user, "user.login", "user", user.id, "signed in")


def record_logout(user: User) -> None:
    audit.record(user, "user.logout", "user", user.id, "signed out")


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current or ""):
        raise RuleViolation(_("The current password is not correct."), field="current_password")
    check_password_strength(new)
    if current == new:
        raise RuleViolation(_("The new password must differ from the current one."), field="new_password")
    user.set_password(new)
    audit.record(user, "user.change_password", "user", user.id, "changed password")


def set_active(user: User, active: bool, actor) -> None:
    user.active = active
    audit.record(
        actor,
        "user.activate" if active else "user.deactivate",
        "user",
        user.id,
        f"{'activated' if active else 'deactivated'} {user.email}",
    )
