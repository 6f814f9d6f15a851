"""Account verbs. They change rows and write audit events; the caller commits."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth import passwords, schemas, sessions, throttle
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
    *,
    email: str,
    role: str,
    password: str,
    name: str = "",
    agency: Agency | None = None,
    actor=None,
    verified: bool = True,
) -> User:
    """A new account. Accounts made by an administrator, the CLI, the demo or an invitation are
    confirmed (``verified``); a self-registered one is not until its owner follows the emailed link."""
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
    user = User(
        email=email,
        role=role,
        name=data["name"],
        agency=agency,
        active=True,
        email_verified_at=clock.now() if verified else None,
    )
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


class LoginRefused(Exception):
    """A sign-in refused: ``message`` for the form; ``counted`` when it was a failed attempt that the
    account's throttle counts (the request must commit it); ``locked`` when the throttle refused it;
    ``unverified`` when the password was right but the email is not confirmed yet."""

    def __init__(
        self, message: str, *, counted: bool = False, locked: bool = False, unverified: bool = False
    ):
        super().__init__(message)
        self.message, self.counted, self.locked, self.unverified = message, counted, locked, unverified


def authenticate(email: str, password: str) -> User:
    """The account when the email and password match an active, confirmed account; else
    :class:`LoginRefused`.

    The password is checked exactly once whatever the account (unknown ones against a dummy hash of
    the same method), so the answer takes as long for an unknown email as for a known one."""
    wait = throttle.seconds_locked(email)
    if wait:
        raise LoginRefused(
            _(
                "Too many failed sign-ins for this account. Try again in %(n)d seconds.",
                n=wait,
            ),
            locked=True,
        )
    user = find_user_by_email(email)
    matches = passwords.verify(user.password_hash if user else passwords.dummy_hash(), password or "")
    if user is None or not matches:
        throttle.record_failure(email)
        raise LoginRefused(_("Wrong email or password, or the account is deactivated."), counted=True)
    if not user.is_active:
        raise LoginRefused(_("Wrong email or password, or the account is deactivated."))
    if not user.is_verified:
        raise LoginRefused(
            _("Confirm your email address first: follow the link we sent you, or ask for a new one below."),
            unverified=True,
        )
    throttle.clear(email)
    return user


def record_login(user: User) -> None:
    user.last_login_at = clock.now()
    audit.record(user, "user.login", "user", user.id, N_("signed in"))


def record_logout(user: User) -> None:
    """Sign-out ends every session and remember-me cookie of the account, in every browser."""
    sessions.end_all(user)
    audit.record(user, "user.logout", "user", user.id, N_("signed out"))


def change_password(user: User, current: str, new: str) -> None:
    """A new password; every other session of the account ends (the caller signs this one in again)."""
    if not user.check_password(current or ""):
        raise RuleViolation(_("The current password is not correct."), field="current_password")
    new = load(schemas.NewPasswordInputSchema(), {"new_password": new})["new_password"]
    if current == new:
        raise RuleViolation(_("The new password must differ from the current one."), field="new_password")
    user.set_password(new)
    sessions.end_all(user)
    audit.record(user, "user.change_password", "user", user.id, N_("changed password"))


def end_sessions(user: User, actor) -> None:
    """An administrator ends every session and remember-me cookie of ``user``."""
    sessions.end_all(user)
    audit.record(
        actor,
        "user.end_sessions",
        "user",
        user.id,
        N_("ended every session of %(email)s"),
        params={"email": user.email},
    )


def confirm_email(user: User, actor) -> None:
    """An administrator confirms an account's email by hand (the owner could not get the mail)."""
    if user.is_verified:
        raise RuleViolation(_("This email address is already confirmed."))
    user.email_verified_at = clock.now()
    audit.record(
        actor,
        "user.confirm_email",
        "user",
        user.id,
        N_("confirmed the email address of %(email)s"),
        params={"email": user.email},
    )


def set_active(user: User, active: bool, actor) -> None:
    user.active = active
    if not active:
        sessions.end_all(user)
    audit.record(
        actor,
        "user.activate" if active else "user.deactivate",
        "user",
        user.id,
        N_("activated %(email)s") if active else N_("deactivated %(email)s"),
        params={"email": user.email},
    )
