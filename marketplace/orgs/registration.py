"""Sign-up and correction: an organization registers with its first member and its documents, and
corrects its registration (back to the review queue) while it is pending, awaiting information or
rejected.

Each verb checks its rules, changes rows and writes an audit event; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth import accounts
from marketplace.auth import services as auth_services
from marketplace.auth.models import User
from marketplace.auth.schemas import AccountEmailPasswordSchema
from marketplace.core.districts import COUNTY, District
from marketplace.core.documents import StoredFile
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.permissions import ORG_MEMBER
from marketplace.core.schemas import InputErrors, load, load_partial
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.orgs.decisions import record_decision
from marketplace.orgs.models import EDITABLE_STATUSES, PENDING, Organization, OrgDocument
from marketplace.orgs.schemas import FirstMemberInputSchema, OrgInputSchema

DOCUMENT_KINDS = ("registration_certificate", "other")
# The sign-up form's names of the account fields the account verb reports on.
_ACCOUNT_FIELDS = {"email": "account_email", "name": "member_name"}
MAX_DOCUMENTS = 20

# The registration data, as stored on the organization and audited.
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


# --- the rules on record (the schema checks the rest) ----------------------------------------------


def check_code_unique(code: str, exclude_id: int | None = None) -> None:
    """No other organization is registered with the credit code (``exclude_id``: the one correcting)."""
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


def _on_record_problems(data: dict, exclude_id: int | None = None) -> dict[str, list[str]]:
    """The credit code not registered yet, the district and service areas on record, and a founding
    date not after today: every problem at once, for the fields ``data`` holds valid values of."""
    problems: dict[str, list[str]] = {}

    def note(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if data.get("uscc"):
        try:
            check_code_unique(data["uscc"], exclude_id)
        except RuleViolation as exc:
            note("uscc", exc.message)
    if "registered_district_code" in data:
        district = db.session.get(District, data["registered_district_code"])
        if district is None or district.level != COUNTY:
            note("registered_district_code", _("Choose the registered district from the list."))
    if data.get("founded_on") and data["founded_on"] > local_date(clock.now()):
        note("founded_on", _("The founding date cannot be in the future."))
    areas = data.get("service_area_codes")
    if areas:
        found = set(db.session.scalars(select(District.code).where(District.code.in_(areas))))
        if found != set(areas):
            note("service_area_codes", _("Choose service areas from the list of districts and streets."))
    return problems


def _merge(problems: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for field, messages in more.items():
        problems.setdefault(field, []).extend(m for m in messages if m not in problems.get(field, []))


def _load(raw: Mapping, exclude_id: int | None = None) -> dict:
    """The registration data, checked: the format and the rules on record, every error at once."""
    data, problems = load_partial(OrgInputSchema(), raw)
    _merge(problems, _on_record_problems(data, exclude_id))
    if problems:
        raise InputErrors(problems)
    return data


# --- rows -------------------------------------------------------------------------------------------


def _snapshot(org: Organization) -> dict:
    snap = {name: getattr(org, name) for name in _FIELDS}
    snap["categories"] = list(org.categories or [])
    snap["service_areas"] = [d.code for d in org.service_areas]
    return snap


def _apply(org: Organization, data: dict) -> None:
    with db.session.no_autoflush:
        for name in _FIELDS:
            setattr(org, name, data[name])
        org.categories = list(data["categories"])
        org.service_areas = list(
            db.session.scalars(select(District).where(District.code.in_(data["service_area_codes"])))
        )


def input_from(org: Organization) -> dict:
    """The organization's current data as an input (to prefill the correction form)."""
    values = {name: getattr(org, name) for name in _FIELDS}
    values["categories"] = list(org.categories or [])
    values["service_area_codes"] = [d.code for d in org.service_areas]
    return values


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


def _first_member(email: str, password: str, name: str, verified: bool) -> User:
    try:
        return auth_services.create_user(
            email=email, role=ORG_MEMBER, password=password, name=name, verified=verified
        )
    except InputErrors as exc:
        # The member's sign-in email, not the organization's contact email.
        raise InputErrors({_ACCOUNT_FIELDS.get(k, k): v for k, v in exc.errors.items()}) from None
    except RuleViolation as exc:
        exc.field = _ACCOUNT_FIELDS.get(exc.field, exc.field)
        raise


def register(
    raw: Mapping,
    *,
    email: str,
    password: str,
    name: str,
    documents: Iterable[tuple[str, StoredFile]],
    verified: bool = True,
) -> tuple[Organization, User]:
    """Sign-up: a pending organization (``raw``: its registration data, :class:`OrgInputSchema`) and
    its first member (role org_member; ``verified=False`` when the member must confirm the email).

    ``documents`` are ``(kind, stored file)`` pairs; one must be the registration certificate.
    """
    data, name, documents = _check_sign_up(raw, name, documents)
    user = _first_member(email, password, name, verified)
    org = Organization(status=PENDING, submitted_at=clock.now())
    _apply(org, data)
    db.session.add(org)
    _flush_unique(org)
    user.organization = org
    record_decision(org, "submitted", user)
    audit.record(
        user,
        "org.register",
        "organization",
        org.id,
        N_("registered organization %(name)s (%(uscc)s)"),
        _snapshot(org),
        params={"name": org.name, "uscc": org.uscc},
    )
    for kind, stored in documents:
        add_document(org, stored, kind, user)
    db.session.flush()
    return org, user


def sign_up_problems(
    raw: Mapping,
    name: str,
    has_certificate: bool,
    account: Mapping | None = None,
) -> tuple[dict, str, dict[str, list[str]]]:
    """Every problem of a sign-up at once (format and business rules together), by form field: the
    registration data, the member's name, the certificate and, when ``account`` (``email`` and
    ``password``) is given, the new account. Returns the valid data, the name and the problems."""
    data, problems = load_partial(OrgInputSchema(), raw)
    _merge(problems, _on_record_problems(data))
    member, name_problems = load_partial(FirstMemberInputSchema(), {"member_name": name})
    _merge(problems, name_problems)
    if not has_certificate:
        _merge(problems, {"registration_certificate": [_("Upload the registration certificate (登记证书).")]})
    if account is not None:
        _valid, account_problems = load_partial(AccountEmailPasswordSchema(), dict(account))
        _merge(problems, {_ACCOUNT_FIELDS.get(k, k): v for k, v in account_problems.items()})
    return data, member.get("member_name", ""), problems


def _check_sign_up(
    raw: Mapping, name: str, documents: Iterable[tuple[str, StoredFile]], account: Mapping | None = None
):
    documents = list(documents)
    has_certificate = any(kind == "registration_certificate" for kind, _stored in documents)
    data, name, problems = sign_up_problems(raw, name, has_certificate, account)
    if problems:
        raise InputErrors(problems)
    return data, name, documents


def sign_up(
    raw: Mapping,
    *,
    email: str,
    password: str,
    name: str,
    documents: Iterable[tuple[str, StoredFile]],
) -> tuple[Organization, User] | None:
    """Self-registration from the public form, which must not tell whether an email has an account
    (ASVS 2.x, issue 17): every rule on the organization and the new password is checked as for
    :func:`register` (a registered credit code is public and is said so); then, when the email is
    free, the organization and an unconfirmed member are made and the member is mailed a confirmation
    link; when it is taken, nothing is made, the address's owner is mailed a warning, and ``None`` is
    returned. The caller answers both alike."""
    documents = list(documents)
    _check_sign_up(raw, name, documents, {"email": email, "password": password})
    account = load(AccountEmailPasswordSchema(), {"email": email, "password": password})
    if auth_services.find_user_by_email(account["email"]) is not None:
        accounts.note_registration_attempt(account["email"], password)
        return None
    org, user = register(raw, email=email, password=password, name=name, documents=documents, verified=False)
    accounts.send_verification(user)
    return org, user


def update_and_resubmit(
    org: Organization, raw: Mapping, actor, documents: Iterable[tuple[str, StoredFile]] = ()
) -> Organization:
    """Correct the registration data and add any further ``(kind, stored file)`` documents; the
    organization goes back to the review queue."""
    if org.status not in EDITABLE_STATUSES:
        raise RuleViolation(
            _("The registration can be corrected only while it is pending, awaiting information or rejected.")
        )
    before = _snapshot(org)
    previous = org.status
    data = _load(raw, exclude_id=org.id)
    _apply(org, data)
    org.status = PENDING
    org.status_reason = None
    org.submitted_at = clock.now()
    _flush_unique(org)
    record_decision(org, "resubmitted", actor)
    changes = audit.diff(before, _snapshot(org))
    changes["status"] = [previous, PENDING]
    audit.record(
        actor,
        "org.resubmit",
        "organization",
        org.id,
        N_("corrected and resubmitted (%(previous)s)"),
        changes,
        params={"previous": previous},
    )
    for kind, stored in documents:
        add_document(org, stored, kind, actor)
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
        N_("added %(kind)s %(filename)s"),
        {"kind": kind, "sha256": doc.sha256, "size": doc.size},
        params={"kind": kind, "filename": doc.filename},
    )
    return doc
