"""Organization verbs: sign-up, correction, documents, review decisions, sanctions, invitations.

Each verb checks its rules, changes rows, writes an audit event and queues notifications; the
caller commits. Every rule break is a :class:`RuleViolation` naming the form field it concerns.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, String, case, cast, func, or_, select
from sqlalchemy.exc import IntegrityError

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth import services as auth_services
from marketplace.auth.models import User
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.districts import COUNTY, District
from marketplace.core.documents import StoredFile
from marketplace.core.errors import RuleViolation
from marketplace.core.notifications import notify
from marketplace.core.permissions import ORG_MEMBER
from marketplace.core.timeutil import local_date
from marketplace.core.validation import check_text as _check_text
from marketplace.extensions import db
from marketplace.orgs import labels
from marketplace.orgs.models import (
    DEBARRED,
    INFO_REQUESTED,
    INSPECTION_RESULTS,
    ORG_TYPES,
    PENDING,
    RATINGS,
    REJECTED,
    SUSPENDED,
    VERIFIED,
    Invitation,
    Organization,
    OrgDecision,
    OrgDocument,
)
from marketplace.orgs.uscc import check_uscc, organization_type

EDITABLE_STATUSES = (PENDING, INFO_REQUESTED, REJECTED)
REVIEWABLE_STATUSES = (PENDING, INFO_REQUESTED)
# Statuses in which the verification stands (the organization appears in the public directory).
LISTED_STATUSES = (VERIFIED, SUSPENDED, DEBARRED)
DOCUMENT_KINDS = ("registration_certificate", "other")
MAX_DOCUMENTS = 20
MAX_STAFF = 100_000
REASON_MAX = 2000
# A sanction longer than this is almost certainly a typo in the date.
MAX_SANCTION_DAYS = 10 * 366
INVITATION_DAYS = 7
EARLIEST_FOUNDING = date(1900, 1, 1)

_HAN = re.compile(r"[\u3400-\u9fff]")
_PHONE = re.compile(r"^[0-9+\-() ]{5,40}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class OrgInput:
    name: str
    uscc: str
    org_type: str
    registration_authority: str
    registered_district_code: str
    founded_on: date | None
    legal_representative: str
    contact_person: str
    phone: str
    email: str
    categories: list[str] = field(default_factory=list)
    service_area_codes: list[str] = field(default_factory=list)
    staff_fulltime: int | None = 0
    staff_social_workers: int | None = 0
    annual_inspection: str = "not_yet_inspected"
    rating: str = "none"
    small_org_declared: bool = False
    name_en: str = ""


# --- validation ---------------------------------------------------------------------------------


def _check_reason(reason: str | None) -> str:
    return _check_text(reason, "reason", _("Reason"), REASON_MAX)


def check_code(code: str, org_type: str, exclude_id: int | None = None) -> str:
    """The normalised credit code, checked, unique and in agreement with the chosen type."""
    try:
        code = check_uscc(code)
    except ValueError as exc:
        raise RuleViolation(str(exc), field="uscc") from None
    expected = organization_type(code)
    if expected is None:
        if code[0] == "5":
            message = _(
                "The code %(code)s has category character %(char)s, which civil affairs does not use for "
                "social organizations. Codes of social organizations start with 51, 52, 53 or 59.",
                code=code,
                char=code[1],
            )
        elif code[0] == "9":
            message = _(
                "The code %(code)s belongs to an enterprise (it starts with 9), not to a social "
                "organization. Codes of social organizations start with 51, 52, 53 or 59.",
                code=code,
            )
        else:
            message = _(
                "The code %(code)s was not issued by civil affairs (it starts with %(prefix)s). Codes of "
                "social organizations start with 51, 52, 53 or 59.",
                code=code,
                prefix=code[:2],
            )
        raise RuleViolation(message, field="uscc")
    if org_type in ORG_TYPES and expected != org_type:
        raise RuleViolation(
            _(
                "The code's first two characters (%(prefix)s) mark a %(coded)s, but you chose %(chosen)s. "
                "Choose the type on your registration certificate.",
                prefix=code[:2],
                coded=labels.ORG_TYPES[expected],
                chosen=labels.ORG_TYPES[org_type],
            ),
            field="org_type",
        )
    stmt = select(Organization.id).where(Organization.uscc == code)
    if exclude_id is not None:
        stmt = stmt.where(Organization.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise RuleViolation(
            _(
                "An organization with the credit code %(code)s is already registered. If it is yours, ask "
                "one of its members to invite you.",
                code=code,
            ),
            field="uscc",
        )
    return code


def _check_count(value, field_name: str, label: str) -> int:
    if isinstance(value, bool) or value is None or str(value).strip() == "":
        raise RuleViolation(_("%(label)s is required.", label=label), field=field_name)
    try:
        number = value if isinstance(value, int) else int(str(value).strip())
    except ValueError:
        raise RuleViolation(_("%(label)s must be a whole number.", label=label), field=field_name) from None
    if not 0 <= number <= MAX_STAFF:
        raise RuleViolation(
            _("%(label)s must be between 0 and %(max)d.", label=label, max=MAX_STAFF), field=field_name
        )
    return number


def _validate(data: OrgInput, exclude_id: int | None = None) -> OrgInput:
    data.name = _check_text(data.name, "name", _("Name"), 200)
    if not _HAN.search(data.name):
        raise RuleViolation(
            _("Enter the registered Chinese name (the English name has its own field)."), field="name"
        )
    data.name_en = _check_text(data.name_en, "name_en", _("English name"), 200, required=False)
    if data.org_type not in ORG_TYPES:
        raise RuleViolation(_("Choose an organization type from the list."), field="org_type")
    data.uscc = check_code(data.uscc, data.org_type, exclude_id=exclude_id)
    data.registration_authority = _check_text(
        data.registration_authority, "registration_authority", _("Registration authority"), 200
    )
    district = db.session.get(District, data.registered_district_code or "")
    if district is None or district.level != COUNTY:
        raise RuleViolation(
            _("Choose the registered district from the list."), field="registered_district_code"
        )
    if isinstance(data.founded_on, datetime):
        data.founded_on = data.founded_on.date()
    if not isinstance(data.founded_on, date):
        raise RuleViolation(_("Enter the founding date."), field="founded_on")
    if data.founded_on > local_date(clock.now()):
        raise RuleViolation(_("The founding date cannot be in the future."), field="founded_on")
    if data.founded_on < EARLIEST_FOUNDING:
        raise RuleViolation(_("Check the founding date: it is implausibly early."), field="founded_on")
    data.legal_representative = _check_text(
        data.legal_representative, "legal_representative", _("Legal representative"), 100
    )
    data.contact_person = _check_text(data.contact_person, "contact_person", _("Contact person"), 100)
    data.phone = _check_text(data.phone, "phone", _("Phone"), 40)
    if not _PHONE.match(data.phone):
        raise RuleViolation(
            _("Enter a phone number with digits, spaces, +, - or brackets, e.g. 010-6512 3456."),
            field="phone",
        )
    data.email = _check_text(data.email, "email", _("Email"), 254).lower()
    if not _EMAIL.match(data.email):
        raise RuleViolation(_("Enter a valid email address."), field="email")
    categories = list(dict.fromkeys(data.categories or []))
    if not categories:
        raise RuleViolation(_("Choose at least one service category."), field="categories")
    if any(c not in SERVICE_CATEGORIES for c in categories):
        raise RuleViolation(_("Choose service categories from the list."), field="categories")
    data.categories = categories
    areas = list(dict.fromkeys(data.service_area_codes or []))
    if not areas:
        raise RuleViolation(_("Choose at least one service area."), field="service_area_codes")
    if len(areas) > 200:
        raise RuleViolation(_("Choose at most 200 service areas."), field="service_area_codes")
    found = set(db.session.scalars(select(District.code).where(District.code.in_(areas))))
    if found != set(areas):
        raise RuleViolation(
            _("Choose service areas from the list of districts and streets."), field="service_area_codes"
        )
    data.service_area_codes = areas
    data.staff_fulltime = _check_count(data.staff_fulltime, "staff_fulltime", _("Full-time staff"))
    data.staff_social_workers = _check_count(
        data.staff_social_workers, "staff_social_workers", _("Certified social workers")
    )
    if data.staff_social_workers > data.staff_fulltime:
        raise RuleViolation(
            _(
                "Certified social workers are counted among the full-time staff, so there cannot be "
                "more of them."
            ),
            field="staff_social_workers",
        )
    if data.annual_inspection not in INSPECTION_RESULTS:
        raise RuleViolation(_("Choose the latest annual inspection result."), field="annual_inspection")
    if data.rating not in RATINGS:
        raise RuleViolation(_("Choose a rating from the list."), field="rating")
    data.small_org_declared = bool(data.small_org_declared)
    return data


_FIELDS = (
    "name",
    "name_en",
    "uscc",
    "org_type",
    "registration_authority",
    "registered_district_code",
    "founded_on",
    "legal_representative",
    "contact_person",
    "phone",
    "email",
    "categories",
    "staff_fulltime",
    "staff_social_workers",
    "annual_inspection",
    "rating",
    "small_org_declared",
)


def _snapshot(org: Organization) -> dict:
    snap = {name: getattr(org, name) for name in _FIELDS}
    snap["categories"] = list(org.categories or [])
    snap["service_areas"] = [d.code for d in org.service_areas]
    return snap


def _apply(org: Organization, data: OrgInput) -> None:
    with db.session.no_autoflush:
        for name in _FIELDS:
            setattr(org, name, getattr(data, name))
        org.categories = list(data.categories)
        org.service_areas = list(
            db.session.scalars(select(District).where(District.code.in_(data.service_area_codes)))
        )


def input_from(org: Organization) -> OrgInput:
    """The organization's current data as an input (to prefill the correction form)."""
    values = {name: getattr(org, name) for name in _FIELDS}
    values["categories"] = list(org.categories or [])
    return OrgInput(**values, service_area_codes=[d.code for d in org.service_areas])


def _flush_unique(org: Organization) -> None:
    """Flush, turning a lost race on the unique credit code into a rule violation."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        if "uscc" not in str(exc.orig).lower():
            raise
        raise RuleViolation(
            _("An organization with the credit code %(code)s is already registered.", code=org.uscc),
            field="uscc",
        ) from None


# --- helpers ------------------------------------------------------------------------------------


def members(org: Organization) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.organization_id == org.id, User.active.is_(True)).order_by(User.id)
        )
    )


def _today() -> date:
    return local_date(clock.now())


def _decide(
    org: Organization, action: str, actor, reason: str = "", until: date | None = None
) -> OrgDecision:
    decision = OrgDecision(
        action=action,
        reason=reason,
        until=until,
        decided_at=clock.now(),
        decided_by_id=getattr(actor, "id", None),
    )
    org.decisions.append(decision)
    return decision


def _notify_members(org: Organization, kind: str, subject: str, body: str) -> None:
    notify(members(org), kind, subject, body, "/orgs/mine")


# --- sign-up and correction ---------------------------------------------------------------------


def register(
    data: OrgInput,
    *,
    email: str,
    password: str,
    name: str,
    documents: Iterable[tuple[str, StoredFile]],
) -> tuple[Organization, User]:
    """Sign-up: a pending organization and its first member (role org_member).

    ``documents`` are ``(kind, stored file)`` pairs; one must be the registration certificate.
    """
    _validate(data)
    name = _check_text(name, "member_name", _("Your name"), 100)
    documents = list(documents)
    if not any(kind == "registration_certificate" for kind, _stored in documents):
        raise RuleViolation(
            _("Upload the registration certificate (登记证书)."), field="registration_certificate"
        )
    try:
        user = auth_services.create_user(email=email, role=ORG_MEMBER, password=password, name=name)
    except RuleViolation as exc:
        if exc.field == "email":  # the member's sign-in email, not the organization's contact email
            exc.field = "account_email"
        raise
    now = clock.now()
    org = Organization(status=PENDING, submitted_at=now)
    _apply(org, data)
    db.session.add(org)
    _flush_unique(org)
    user.organization = org
    _decide(org, "submitted", user)
    audit.record(
        user,
        "org.register",
        "organization",
        org.id,
        f"registered organization {org.name} ({org.uscc})",
        _snapshot(org),
    )
    for kind, stored in documents:
        add_document(org, stored, kind, user)
    db.session.flush()
    return org, user


def update_and_resubmit(org: Organization, data: OrgInput, actor) -> Organization:
    """Correct the registration data; the organization goes back to the review queue."""
    if org.status not in EDITABLE_STATUSES:
        raise RuleViolation(
            _("The registration can be corrected only while it is pending, awaiting information or rejected.")
        )
    before = _snapshot(org)
    previous = org.status
    _validate(data, exclude_id=org.id)
    _apply(org, data)
    org.status = PENDING
    org.status_reason = None
    org.submitted_at = clock.now()
    _flush_unique(org)
    _decide(org, "resubmitted", actor)
    changes = audit.diff(before, _snapshot(org))
    changes["status"] = [previous, PENDING]
    audit.record(
        actor, "org.resubmit", "organization", org.id, f"corrected and resubmitted ({previous})", changes
    )
    return org


def add_document(org: Organization, stored: StoredFile, kind: str, actor) -> OrgDocument:
    if kind not in DOCUMENT_KINDS:
        raise RuleViolation(_("Unknown document kind."), field="documents")
    if org.status not in EDITABLE_STATUSES:
        raise RuleViolation(
            _("Documents can be added while the registration is pending, awaiting information or rejected."),
            field="documents",
        )
    if len(org.documents) >= MAX_DOCUMENTS:
        raise RuleViolation(
            _("An organization has at most %(n)d documents.", n=MAX_DOCUMENTS), field="documents"
        )
    doc = OrgDocument(kind=kind, uploaded_at=clock.now(), **stored.columns())
    org.documents.append(doc)
    db.session.flush()
    audit.record(
        actor,
        "org.add_document",
        "organization",
        org.id,
        f"added {kind} {doc.filename}",
        {"kind": kind, "sha256": doc.sha256, "size": doc.size},
    )
    return doc


# --- review -------------------------------------------------------------------------------------


def _require_reviewable(org: Organization) -> None:
    if org.status not in REVIEWABLE_STATUSES:
        raise RuleViolation(
            _(
                "Only a pending registration (or one awaiting information) can be reviewed; this one is "
                "%(status)s.",
                status=labels.STATUSES.get(org.status, org.status),
            )
        )


def verify(org: Organization, actor) -> Organization:
    _require_reviewable(org)
    previous = org.status
    org.status = VERIFIED
    org.status_reason = None
    org.sanction_until = None
    org.verified_at = clock.now()
    _decide(org, "verified", actor)
    audit.record(actor, "org.verify", "organization", org.id, "verified", {"status": [previous, VERIFIED]})
    _notify_members(
        org,
        "org.verified",
        f"机构已通过审核 / Your organization is verified: {org.name}",
        "贵机构已通过审核，可以参与投标。 / Your organization is verified and may now bid.",
    )
    return org


def reject(org: Organization, reason: str, actor) -> Organization:
    _require_reviewable(org)
    reason = _check_reason(reason)
    previous = org.status
    org.status = REJECTED
    org.status_reason = reason
    _decide(org, "rejected", actor, reason)
    audit.record(
        actor,
        "org.reject",
        "organization",
        org.id,
        f"rejected: {reason[:200]}",
        {"status": [previous, REJECTED]},
    )
    _notify_members(
        org,
        "org.rejected",
        f"机构注册未通过 / Registration rejected: {org.name}",
        f"原因 / Reason: {reason}\n请修改后重新提交。 / Please correct the registration and resubmit.",
    )
    return org


def request_info(org: Organization, reason: str, actor) -> Organization:
    if org.status != PENDING:
        raise RuleViolation(_("More information can be requested only for a pending registration."))
    reason = _check_reason(reason)
    org.status = INFO_REQUESTED
    org.status_reason = reason
    _decide(org, "info_requested", actor, reason)
    audit.record(
        actor,
        "org.request_info",
        "organization",
        org.id,
        f"asked for more information: {reason[:200]}",
        {"status": [PENDING, INFO_REQUESTED]},
    )
    _notify_members(
        org,
        "org.info_requested",
        f"请补充材料 / More information requested: {org.name}",
        f"{reason}\n请补充后重新提交。 / Please add the information and resubmit.",
    )
    return org


# --- sanctions ----------------------------------------------------------------------------------


def _check_until(until) -> date:
    if isinstance(until, datetime):
        until = until.date()
    if not isinstance(until, date):
        raise RuleViolation(_("Enter the last day of the period."), field="until")
    today = _today()
    if until <= today:
        raise RuleViolation(_("The period must end after today."), field="until")
    if until > today + timedelta(days=MAX_SANCTION_DAYS):
        raise RuleViolation(_("The period can be at most ten years."), field="until")
    return until


def _sanction(org: Organization, status: str, until, reason: str, actor) -> Organization:
    if org.verified_at is None or org.status not in (VERIFIED, SUSPENDED, DEBARRED):
        raise RuleViolation(
            _(
                "Only a verified organization can be suspended or debarred; reject a pending "
                "registration instead."
            )
        )
    if status == SUSPENDED and org.status == DEBARRED and org.is_sanctioned:
        raise RuleViolation(
            _(
                "The organization is debarred until %(date)s; reinstate it before suspending it.",
                date=org.sanction_until,
            )
        )
    until = _check_until(until)
    reason = _check_reason(reason)
    previous = (org.status, org.sanction_until)
    org.status = status
    org.status_reason = reason
    org.sanction_until = until
    _decide(org, status, actor, reason, until)
    audit.record(
        actor,
        "org.suspend" if status == SUSPENDED else "org.debar",
        "organization",
        org.id,
        f"{status} until {until.isoformat()}: {reason[:200]}",
        {"status": [previous[0], status], "sanction_until": [previous[1], until]},
    )
    if status == SUSPENDED:
        subject = f"机构已被暂停 / Your organization is suspended: {org.name}"
        body = f"暂停至 / Suspended until {until.isoformat()}。\n原因 / Reason: {reason}"
    else:
        subject = f"机构已被禁止参与投标 / Your organization is debarred: {org.name}"
        body = f"禁止至 / Debarred until {until.isoformat()}（含当日 / inclusive）。\n原因 / Reason: {reason}"
    _notify_members(org, f"org.{status}", subject, body)
    return org


def suspend(org: Organization, until: date, reason: str, actor) -> Organization:
    """Suspend a verified organization through ``until`` (a local date, inclusive)."""
    return _sanction(org, SUSPENDED, until, reason, actor)


def debar(org: Organization, until: date, reason: str, actor) -> Organization:
    """Debar a verified organization through ``until`` (a local date, inclusive): it cannot bid."""
    return _sanction(org, DEBARRED, until, reason, actor)


def reinstate(org: Organization, reason: str, actor) -> Organization:
    if org.status not in (SUSPENDED, DEBARRED):
        raise RuleViolation(_("Only a suspended or debarred organization can be reinstated."))
    reason = _check_reason(reason)
    previous = (org.status, org.sanction_until)
    org.status = VERIFIED
    org.status_reason = None
    org.sanction_until = None
    _decide(org, "reinstated", actor, reason)
    audit.record(
        actor,
        "org.reinstate",
        "organization",
        org.id,
        f"reinstated: {reason[:200]}",
        {"status": [previous[0], VERIFIED], "sanction_until": [previous[1], None]},
    )
    _notify_members(
        org,
        "org.reinstated",
        f"机构已恢复 / Your organization is reinstated: {org.name}",
        f"原因 / Reason: {reason}",
    )
    return org


# --- members and invitations ---------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invite_member(org: Organization, email: str, actor) -> str:
    """Invite ``email`` to join ``org``; returns the token (only its SHA-256 is stored)."""
    email = auth_services.normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        raise RuleViolation(_("Enter a valid email address."), field="email")
    if auth_services.find_user_by_email(email):
        raise RuleViolation(
            _("%(email)s already has an account; each account belongs to one organization.", email=email),
            field="email",
        )
    token = secrets.token_urlsafe(32)
    now = clock.now()
    invitation = Invitation(
        email=email,
        token_hash=_token_hash(token),
        invited_by_id=actor.id,
        created_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    invitation.organization = org
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        actor,
        "org.invite",
        "organization",
        org.id,
        f"invited {email}",
        {"invitation_id": invitation.id, "expires_at": invitation.expires_at},
    )
    return token


def find_invitation(token: str | None) -> Invitation | None:
    """The open invitation for ``token``: not accepted and not expired (else ``None``)."""
    if not token or len(token) > 200:
        return None
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == _token_hash(token)))
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= clock.now():
        return None
    return invitation


def accept_invitation(token: str, password: str, name: str) -> User:
    invitation = find_invitation(token)
    if invitation is None:
        raise RuleViolation(_("This invitation link is not valid: it was already used or has expired."))
    name = _check_text(name, "name", _("Your name"), 100)
    user = auth_services.create_user(email=invitation.email, role=ORG_MEMBER, password=password, name=name)
    user.organization = invitation.organization
    invitation.accepted_at = clock.now()
    db.session.flush()
    audit.record(
        user,
        "org.accept_invitation",
        "organization",
        invitation.organization_id,
        f"{user.email} joined",
        {"invitation_id": invitation.id, "user_id": user.id},
    )
    return user


# --- queries ------------------------------------------------------------------------------------


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _related_area_codes(code: str) -> list[str]:
    """The area, its ancestors and its children: an organization serving any of them serves the area."""
    district = db.session.get(District, code)
    if district is None:
        return [code]
    codes = [d.code for d in district.path()]
    codes += [child.code for child in district.children]
    return codes


def directory_query(q: str = "", category: str = "", area: str = "") -> Select:
    """Organizations whose verification stands (verified, or sanctioned with a badge)."""
    stmt = select(Organization).where(
        Organization.status.in_(LISTED_STATUSES), Organization.verified_at.is_not(None)
    )
    for term in (q or "").split()[:10]:
        pattern = f"%{_like_escape(term.lower())}%"
        stmt = stmt.where(
            or_(
                func.lower(Organization.name).like(pattern, escape="\\"),
                func.lower(Organization.name_en).like(pattern, escape="\\"),
                func.lower(Organization.uscc).like(pattern, escape="\\"),
            )
        )
    if category:
        # Categories are a JSON list of keys; match the quoted key in its text form.
        pattern = f'%"{_like_escape(category)}"%'
        stmt = stmt.where(cast(Organization.categories, String).like(pattern, escape="\\"))
    if area:
        stmt = stmt.where(Organization.service_areas.any(District.code.in_(_related_area_codes(area))))
    return stmt.order_by(Organization.name, Organization.id)


def review_queue_query(status: str = "") -> Select:
    """Pending and info-requested registrations first (oldest first), then the rest."""
    stmt = select(Organization)
    if status:
        stmt = stmt.where(Organization.status == status)
    waiting = case((Organization.status.in_(REVIEWABLE_STATUSES), 0), else_=1)
    return stmt.order_by(waiting, Organization.submitted_at.asc(), Organization.id.asc())


def open_invitations(org: Organization) -> list[Invitation]:
    """Invitations of ``org`` not yet accepted and not expired."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.organization_id == org.id,
                Invitation.accepted_at.is_(None),
                Invitation.expires_at > clock.now(),
            )
            .order_by(Invitation.id)
        )
    )


def waiting_count() -> int:
    """Registrations waiting for a reviewer (pending or with information requested)."""
    return (
        db.session.scalar(
            select(func.count()).select_from(Organization).where(Organization.status.in_(REVIEWABLE_STATUSES))
        )
        or 0
    )


def contracts_won(org: Organization) -> list:
    """Contracts the organization has won. Contracts arrive with a later issue; none exist yet."""
    return []
