"""Account verbs. They change rows and write audit events; the caller commits."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth import schemas
from marketplace.auth.models import Agency, User
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.permissions import OFFICER
from marketplace.core.schemas import load
from marketplace.extensions import db


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == schemas.normalise_email(email)))


def find_agency(name_or_id: str | int) -> Agency | None:
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        agency = db.session.get(Agency, int(name_or_id))
        if agency:
            return agency
    return db.session.scalar(select(Agency).where(Agency.name == str(name_or_id)))


def create_user(
    *, email: str, role: str, password: str, name: str = "", agency: Agency | None = None, actor=None
) -> User:
    data = load(
        schemas.AccountInputSchema(), {"email": email, "role": role, "password": password, "name": name}
    )
    email, role = data["email"], data["role"]
    if role == OFFICER and agency is None:
        raise RuleViolation(_("An officer must belong to an agency."), field="agency")
    if role != OFFICER and agency is not None:
        raise RuleViolation(_("Only officers belong to an agency."), field="agency")
    if find_user_by_email(email):
        raise RuleViolation(_("An account with this email already exists."), field="email")
    user = User(email=email, role=role, name=data["name"], agency=agency, active=True)
    user.set_password(data["password"])
    db.session.add(user)
    db.session.flush()
    audit.record(
        actor,
        "user.create",
        "user",
        user.id,
        N_("created %(role)s account %(email)s"),
        {"role": role, "agency_id": agency.id if agency else None},
        params={"role": role, "email": email},
    )
    return user


def create_agency(*, name: str, district_code: str, name_en: str = "", actor=None) -> Agency:
    agency = Agency(name=name.strip(), name_en=name_en.strip(), district_code=district_code)
    db.session.add(agency)
    db.session.flush()
    audit.record(
        actor,
        "agency.create",
        "agency",
        agency.id,
        N_("created agency %(name)s"),
        params={"name": agency.name},
    )
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
    audit.record(user, "user.login", "user", user.id, N_("signed in"))


def record_logout(user: User) -> None:
    audit.record(user, "user.logout", "user", user.id, N_("signed out"))


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current or ""):
        raise RuleViolation(_("The current password is not correct."), field="current_password")
    new = load(schemas.NewPasswordInputSchema(), {"new_password": new})["new_password"]
    if current == new:
        raise RuleViolation(_("The new password must differ from the current one."), field="new_password")
    user.set_password(new)
    audit.record(user, "user.change_password", "user", user.id, N_("changed password"))


def set_active(user: User, active: bool, actor) -> None:
    user.active = active
    audit.record(
        actor,
        "user.activate" if active else "user.deactivate",
        "user",
        user.id,
        N_("activated %(email)s") if active else N_("deactivated %(email)s"),
        params={"email": user.email},
    )
