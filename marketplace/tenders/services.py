"""Tender verbs: create, edit, publish, amend, cancel, documents, clarifications, search.

Each verb checks its rules, changes rows and writes an audit event; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, or_, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.catalogue import FUNDING_SOURCES, SERVICE_CATEGORIES
from marketplace.core.districts import COUNTY, District
from marketplace.core.documents import StoredFile
from marketplace.core.errors import RuleViolation
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.core.validation import check_text as _check_text
from marketplace.extensions import db
from marketplace.tenders import procedures
from marketplace.tenders.models import (
    CANCELLED,
    CLOSED,
    DRAFT,
    FAILED,
    OPEN,
    OPENED,
    PUBLIC_STATUSES,
    Amendment,
    Clarification,
    Criterion,
    Tender,
    TenderDocument,
)

TITLE_MAX = 200
TEXT_MAX = 20000
SHORT_TEXT_MAX = 2000
# Clarifications or amendments need this many calendar days before the deadline (IR 31; O87 27).
AMENDMENT_NOTICE_DAYS = 15


@dataclass
class CriterionInput:
    name: str
    weight: int
    description: str = ""


@dataclass
class TenderInput:
    title: str
    description: str
    category: str
    district_code: str
    service_area_codes: list[str]
    method: str
    evaluation_method: str
    budget_ceiling: Decimal
    funding_sources: list[str]
    contract_term_months: int
    eligibility: str
    bid_deadline: datetime
    price_weight: int
    criteria: list[CriterionInput] = field(default_factory=list)
    reserved_for_small: bool = False
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""


# --- validation ---------------------------------------------------------------------------------


def _check_money(amount, field_name: str = "budget_ceiling") -> Decimal:
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise RuleViolation(_("Enter an amount in yuan, for example 350000.00."), field=field_name) from None
    if not value.is_finite():
        raise RuleViolation(_("Enter an amount in yuan, for example 350000.00."), field=field_name)
    if value <= 0:
        raise RuleViolation(_("The budget ceiling must be more than zero."), field=field_name)
    if value != value.quantize(Decimal("0.01")):
        raise RuleViolation(_("Amounts have at most two decimal places (fen)."), field=field_name)
    limit = Decimal(current_app.config["MAX_BUDGET"])
    if value > limit:
        raise RuleViolation(
            _("The budget ceiling cannot exceed %(limit)s yuan.", limit=f"{limit:,.0f}"), field=field_name
        )
    return value


def check_weights(
    method: str, evaluation_method: str, price_weight: int, criteria: list[CriterionInput]
) -> None:
    prof = procedures.profile(method)
    if evaluation_method == "lowest_price":
        if criteria or price_weight != 100:
            raise RuleViolation(
                _(
                    "Under the lowest evaluated price method, price carries the whole weight (100) and there "
                    "are no scored criteria."
                ),
                field="price_weight",
            )
        return
    if price_weight is None or not prof.price_weight_min <= price_weight <= prof.price_weight_max:
        raise RuleViolation(
            _(
                "The price weight for this method must be between %(lo)d and %(hi)d.",
                lo=prof.price_weight_min,
                hi=prof.price_weight_max,
            ),
            field="price_weight",
        )
    names = set()
    for c in criteria:
        if not c.name.strip():
            raise RuleViolation(_("Every criterion needs a name."), field="criteria")
        if c.weight is None or not 1 <= c.weight <= 100:
            raise RuleViolation(_("Each criterion weight must be between 1 and 100."), field="criteria")
        if c.name.strip() in names:
            raise RuleViolation(_("Criterion names must differ: %(name)s", name=c.name), field="criteria")
        names.add(c.name.strip())
    if not criteria:
        raise RuleViolation(
            _("Comprehensive scoring needs at least one scored criterion besides price."), field="criteria"
        )
    total = price_weight + sum(c.weight for c in criteria)
    if total != 100:
        raise RuleViolation(
            _("The weights must add up to 100; they add up to %(total)d.", total=total), field="criteria"
        )


def _validate(data: TenderInput) -> TenderInput:
    data.title = _check_text(data.title, "title", _("Title"), TITLE_MAX)
    data.description = _check_text(data.description, "description", _("Description"), TEXT_MAX)
    data.eligibility = _check_text(
        data.eligibility, "eligibility", _("Eligibility requirements"), TEXT_MAX, required=False
    )
    if data.category not in SERVICE_CATEGORIES:
        raise RuleViolation(_("Choose a service category from the list."), field="category")
    if data.method not in procedures.PROFILES:
        raise RuleViolation(_("Choose a procurement method from the list."), field="method")
    if data.evaluation_method not in procedures.EVALUATION_METHODS:
        raise RuleViolation(_("Choose an evaluation method from the list."), field="evaluation_method")
    data.budget_ceiling = _check_money(data.budget_ceiling)
    if not data.funding_sources or any(s not in FUNDING_SOURCES for s in data.funding_sources):
        raise RuleViolation(_("Choose at least one funding source from the list."), field="funding_sources")
    if data.contract_term_months is None or not 1 <= data.contract_term_months <= 36:
        raise RuleViolation(
            _("The contract term is 1 to 36 months (O102 art 24)."), field="contract_term_months"
        )
    district = db.session.get(District, data.district_code or "")
    if district is None or district.level != COUNTY:
        raise RuleViolation(_("Choose a district from the list."), field="district_code")
    areas = set(data.service_area_codes or [])
    if areas:
        found = db.session.scalars(select(District).where(District.code.in_(areas))).all()
        if len(found) != len(areas) or any(not _within(d, district.code) for d in found):
            raise RuleViolation(
                _("Service areas must be streets or communities of the chosen district."),
                field="service_area_codes",
            )
    if data.bid_deadline is None:
        raise RuleViolation(_("Set the bid deadline."), field="bid_deadline")
    if data.bid_deadline.tzinfo is None:
        raise ValueError("bid_deadline must be timezone-aware")
    if data.bid_deadline <= clock.now():
        raise RuleViolation(_("The bid deadline must be in the future."), field="bid_deadline")
    if data.bid_deadline > clock.now() + timedelta(days=366):
        raise RuleViolation(_("The bid deadline must be within a year."), field="bid_deadline")
    for name, label, maximum in (
        ("contact_name", _("Contact person"), 100),
        ("contact_phone", _("Contact phone"), 40),
        ("contact_email", _("Contact email"), 254),
    ):
        setattr(data, name, _check_text(getattr(data, name), name, label, maximum, required=False))
    for c in data.criteria:
        c.name = _check_text(c.name, "criteria", _("Criterion name"), 200)
        c.description = _check_text(
            c.description, "criteria", _("Criterion description"), SHORT_TEXT_MAX, required=False
        )
    check_weights(data.method, data.evaluation_method, data.price_weight, data.criteria)
    return data


def _within(node: District, county_code: str) -> bool:
    while node is not None:
        if node.code == county_code:
            return True
        node = node.parent
    return False


def _snapshot(t: Tender) -> dict:
    return {
        "title": t.title,
        "description": t.description,
        "category": t.category,
        "district_code": t.district_code,
        "service_areas": [d.code for d in t.service_areas],
        "method": t.method,
        "evaluation_method": t.evaluation_method,
        "budget_ceiling": str(t.budget_ceiling) if t.budget_ceiling is not None else None,
        "funding_sources": list(t.funding_sources or []),
        "contract_term_months": t.contract_term_months,
        "eligibility": t.eligibility,
        "reserved_for_small": t.reserved_for_small,
        "bid_deadline": t.bid_deadline.isoformat() if t.bid_deadline else None,
        "criteria": [[c.name, c.weight, c.is_price] for c in t.criteria],
        "contact": [t.contact_name, t.contact_phone, t.contact_email],
    }


def _apply(t: Tender, data: TenderInput) -> None:
    with db.session.no_autoflush:
        _apply_fields(t, data)
    if t.criteria:
        # Replace the criteria; flush the removal first so (tender, position) stays unique.
        t.criteria.clear()
        db.session.flush()
    t.criteria.append(Criterion(position=0, name="价格 Price", weight=data.price_weight, is_price=True))
    for i, c in enumerate(data.criteria, start=1):
        t.criteria.append(Criterion(position=i, name=c.name, description=c.description, weight=c.weight))


def _apply_fields(t: Tender, data: TenderInput) -> None:
    t.title = data.title
    t.description = data.description
    t.category = data.category
    t.district_code = data.district_code
    t.service_areas = list(
        db.session.scalars(select(District).where(District.code.in_(data.service_area_codes or [])))
    )
    t.method = data.method
    t.evaluation_method = data.evaluation_method
    t.budget_ceiling = data.budget_ceiling
    t.funding_sources = list(data.funding_sources)
    t.contract_term_months = data.contract_term_months
    t.eligibility = data.eligibility
    t.reserved_for_small = bool(data.reserved_for_small)
    t.bid_deadline = data.bid_deadline
    t.contact_name, t.contact_phone, t.contact_email = (
        data.contact_name,
        data.contact_phone,
        data.contact_email,
    )


# --- verbs ---------------------------------------------------------------------------------------


def create_draft(data: TenderInput, actor) -> Tender:
    if actor.agency_id is None:
        raise RuleViolation(_("Only officers of an agency create tenders."))
    _validate(data)
    t = Tender(agency_id=actor.agency_id, created_by_id=actor.id, status=DRAFT)
    _apply(t, data)
    db.session.add(t)
    db.session.flush()
    audit.record(actor, "tender.create", "tender", t.id, f"created draft tender {t.title!r}", _snapshot(t))
    return t


def update_draft(t: Tender, data: TenderInput, actor) -> Tender:
    if t.status != DRAFT:
        raise RuleViolation(_("Only drafts can be edited; a published tender is changed by an amendment."))
    before = _snapshot(t)
    _validate(data)
    _apply(t, data)
    db.session.flush()
    audit.record(actor, "tender.update", "tender", t.id, "edited draft", audit.diff(before, _snapshot(t)))
    return t


def earliest_deadline_date(method: str, published_on) -> object:
    """The first local date the bid deadline may fall on when publishing on ``published_on``."""
    prof = procedures.profile(method)
    cal = WorkingCalendar.load()
    if prof.day_kind == procedures.WORKING_DAYS:
        return cal.add_working_days(published_on, prof.min_days)
    return cal.add_calendar_days(published_on, prof.min_days)


def publication_problems(t: Tender) -> list[str]:
    """Everything that stops ``t`` from being published now (empty when it can be)."""
    problems: list[str] = []
    try:
        _validate(_input_from(t))
    except RuleViolation as exc:
        problems.append(exc.message)
    if t.bid_deadline is not None and t.bid_deadline > clock.now():
        today = local_date(clock.now())
        earliest = earliest_deadline_date(t.method, today)
        deadline_day = local_date(t.bid_deadline)
        prof = procedures.profile(t.method)
        if deadline_day < earliest:
            unit = _("working days") if prof.day_kind == procedures.WORKING_DAYS else _("days")
            problems.append(
                _(
                    "For %(method)s the bid deadline must be at least %(n)d %(unit)s after publication: "
                    "on or after %(date)s.",
                    method=prof.label,
                    n=prof.min_days,
                    unit=unit,
                    date=format_date(earliest, "medium"),
                )
            )
        elif not WorkingCalendar.load().is_working_day(deadline_day):
            problems.append(_("The bid deadline (= bid opening) must fall on a working day."))
    return problems


def _input_from(t: Tender) -> TenderInput:
    price = t.price_criterion
    return TenderInput(
        title=t.title,
        description=t.description,
        category=t.category,
        district_code=t.district_code,
        service_area_codes=[d.code for d in t.service_areas],
        method=t.method,
        evaluation_method=t.evaluation_method,
        budget_ceiling=t.budget_ceiling,
        funding_sources=list(t.funding_sources or []),
        contract_term_months=t.contract_term_months,
        eligibility=t.eligibility,
        bid_deadline=t.bid_deadline,
        price_weight=price.weight if price else None,
        criteria=[CriterionInput(c.name, c.weight, c.description) for c in t.technical_criteria],
        reserved_for_small=t.reserved_for_small,
        contact_name=t.contact_name,
        contact_phone=t.contact_phone,
        contact_email=t.contact_email,
    )


def publish(t: Tender, actor, *, confirm_not_excluded: bool) -> Tender:
    if t.status != DRAFT:
        raise RuleViolation(_("Only a draft can be published."))
    if not confirm_not_excluded:
        raise RuleViolation(
            _("Confirm that the service is not one the government may not purchase (O102 art 10)."),
            field="confirm_not_excluded",
        )
    problems = publication_problems(t)
    if problems:
        raise RuleViolation(problems[0], field="bid_deadline")
    t.status = OPEN
    t.not_excluded_confirmed = True
    t.published_at = clock.now()
    if not t.reference:
        year = local_date(t.published_at).year
        t.reference = f"{t.district_code}-{year}-{t.id:05d}"
    audit.record(
        actor,
        "tender.publish",
        "tender",
        t.id,
        f"published tender {t.reference}",
        {"bid_deadline": t.bid_deadline, "method": t.method},
    )
    return t


@dataclass
class AmendmentInput:
    reason: str
    description: str | None = None
    budget_ceiling: Decimal | None = None
    contract_term_months: int | None = None
    bid_deadline: datetime | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    documents: list[StoredFile] = field(default_factory=list)


def amendment_min_deadline_date():
    """The earliest local date an amended deadline may be set to (15 days after today, start excluded)."""
    cal = WorkingCalendar.load()
    return cal.add_calendar_days(local_date(clock.now()), AMENDMENT_NOTICE_DAYS)


def amend(t: Tender, data: AmendmentInput, actor) -> Amendment:
    """Amend a published tender. Subject (category) and eligibility cannot change (IR 31)."""
    if t.status != OPEN:
        raise RuleViolation(_("Only a published tender that is open for bids can be amended."))
    now = clock.now()
    if now >= t.bid_deadline:
        raise RuleViolation(_("The bid deadline has passed; the tender can no longer be amended."))
    reason = _check_text(data.reason, "reason", _("Reason"), SHORT_TEXT_MAX)
    previous_deadline = t.bid_deadline
    changes: dict = {}

    if data.description is not None and data.description.strip() != t.description:
        changes["description"] = [
            t.description,
            _check_text(data.description, "description", _("Description"), TEXT_MAX),
        ]
    if data.budget_ceiling is not None:
        budget = _check_money(data.budget_ceiling)
        if budget != t.budget_ceiling:
            changes["budget_ceiling"] = [t.budget_ceiling, budget]
    if data.contract_term_months is not None and data.contract_term_months != t.contract_term_months:
        if not 1 <= data.contract_term_months <= 36:
            raise RuleViolation(
                _("The contract term is 1 to 36 months (O102 art 24)."), field="contract_term_months"
            )
        changes["contract_term_months"] = [t.contract_term_months, data.contract_term_months]
    for name, maximum in (("contact_name", 100), ("contact_phone", 40), ("contact_email", 254)):
        value = getattr(data, name)
        if value is not None and value.strip() != getattr(t, name):
            changes[name] = [getattr(t, name), _check_text(value, name, name, maximum, required=False)]

    new_deadline = data.bid_deadline or t.bid_deadline
    if new_deadline.tzinfo is None:
        raise ValueError("bid_deadline must be timezone-aware")
    if new_deadline < t.bid_deadline:
        raise RuleViolation(
            _("An amendment may move the bid deadline later, never earlier."), field="bid_deadline"
        )
    if new_deadline > now + timedelta(days=366):
        raise RuleViolation(_("The bid deadline must be within a year."), field="bid_deadline")
    if t.bid_deadline - now < timedelta(days=AMENDMENT_NOTICE_DAYS):
        earliest = amendment_min_deadline_date()
        if local_date(new_deadline) < earliest:
            raise RuleViolation(
                _(
                    "Fewer than %(n)d days remain before the deadline, so it must move to %(date)s or later "
                    "(IR 31).",
                    n=AMENDMENT_NOTICE_DAYS,
                    date=format_date(earliest, "medium"),
                ),
                field="bid_deadline",
            )
    if new_deadline != t.bid_deadline and not WorkingCalendar.load().is_working_day(local_date(new_deadline)):
        raise RuleViolation(
            _("The bid deadline (= bid opening) must fall on a working day."), field="bid_deadline"
        )
    if new_deadline != t.bid_deadline:
        changes["bid_deadline"] = [t.bid_deadline, new_deadline]
    if not changes and not data.documents:
        raise RuleViolation(_("The amendment changes nothing. Change at least one field or add a document."))

    for name, (_old, new) in changes.items():
        setattr(t, name, new)
    number = len(t.amendments) + 1
    amendment = Amendment(
        number=number,
        reason=reason,
        changes=audit._jsonable(changes),
        previous_deadline=previous_deadline,
        new_deadline=new_deadline,
        created_at=now,
        created_by_id=actor.id,
    )
    t.amendments.append(amendment)
    db.session.flush()
    for stored in data.documents:
        _attach(t, stored, actor, amendment_id=amendment.id)
    if data.documents:
        changes["documents_added"] = [None, [d.filename for d in data.documents]]
        amendment.changes = audit._jsonable(changes)
    audit.record(actor, "tender.amend", "tender", t.id, f"amendment {number}: {reason[:200]}", changes)
    from marketplace.tenders.bids.services import mark_for_reconfirmation  # bids build on tenders

    mark_for_reconfirmation(t, number)
    return amendment


def cancel(t: Tender, reason: str, actor) -> Tender:
    if t.status not in (DRAFT, OPEN):
        raise RuleViolation(_("This tender can no longer be cancelled."))
    if t.status == OPEN and clock.now() >= t.bid_deadline:
        raise RuleViolation(_("The bid deadline has passed; the tender can no longer be cancelled here."))
    reason = _check_text(reason, "reason", _("Reason"), SHORT_TEXT_MAX)
    previous = t.status
    t.status = CANCELLED
    t.cancelled_at = clock.now()
    t.cancel_reason = reason
    audit.record(
        actor,
        "tender.cancel",
        "tender",
        t.id,
        f"cancelled ({previous}): {reason[:200]}",
        {"status": [previous, CANCELLED]},
    )
    from marketplace.tenders.bids.services import notify_cancellation

    notify_cancellation(t)
    return t


def _attach(t: Tender, stored: StoredFile, actor, amendment_id: int | None = None) -> TenderDocument:
    doc = TenderDocument(
        uploaded_at=clock.now(), uploaded_by_id=actor.id, amendment_id=amendment_id, **stored.columns()
    )
    t.documents.append(doc)
    db.session.flush()
    return doc


def add_document(t: Tender, stored: StoredFile, actor) -> TenderDocument:
    if t.status != DRAFT:
        raise RuleViolation(_("Documents of a published tender are added through an amendment."))
    if len(t.documents) >= 20:
        raise RuleViolation(_("A tender has at most 20 documents."), field="documents")
    doc = _attach(t, stored, actor)
    audit.record(
        actor,
        "tender.add_document",
        "tender",
        t.id,
        f"added document {doc.filename}",
        {"sha256": doc.sha256, "size": doc.size},
    )
    return doc


def remove_document(t: Tender, doc: TenderDocument, actor) -> None:
    if t.status != DRAFT or doc.tender_id != t.id:
        raise RuleViolation(_("Documents of a published tender cannot be removed."))
    t.documents.remove(doc)
    audit.record(
        actor,
        "tender.remove_document",
        "tender",
        t.id,
        f"removed document {doc.filename}",
        {"sha256": doc.sha256},
    )


def ask_clarification(t: Tender, question: str, actor) -> Clarification:
    if not t.accepting_bids:
        raise RuleViolation(_("Questions can be asked only while the tender is open for bids."))
    question = _check_text(question, "question", _("Question"), SHORT_TEXT_MAX)
    c = Clarification(question=question, asked_by_id=actor.id, asked_at=clock.now())
    t.clarifications.append(c)
    db.session.flush()
    audit.record(actor, "clarification.ask", "tender", t.id, f"asked clarification {c.id}")
    return c


def answer_clarification(c: Clarification, answer: str, actor) -> Clarification:
    t = c.tender
    if t.status != OPEN:
        raise RuleViolation(_("Clarifications can be answered only while the tender is open."))
    if c.answer:
        raise RuleViolation(_("This question was already answered."))
    c.answer = _check_text(answer, "answer", _("Answer"), TEXT_MAX)
    c.answered_at = clock.now()
    c.answered_by_id = actor.id
    audit.record(actor, "clarification.answer", "tender", t.id, f"answered clarification {c.id}")
    return c


# --- queries -------------------------------------------------------------------------------------


@dataclass
class TenderFilters:
    q: str = ""
    category: str = ""
    district: str = ""
    method: str = ""
    status: str = ""
    budget_min: Decimal | None = None
    budget_max: Decimal | None = None
    deadline_from: object = None  # local dates
    deadline_to: object = None
    sort: str = "deadline"


SORTS = {
    "deadline": (Tender.bid_deadline.asc(),),
    "-deadline": (Tender.bid_deadline.desc(),),
    "-published": (Tender.published_at.desc(),),
    "budget": (Tender.budget_ceiling.asc(),),
    "-budget": (Tender.budget_ceiling.desc(),),
}


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def public_tenders_query(f: TenderFilters) -> Select:
    """Published (or formerly published) tenders matching the filters. Drafts never appear."""
    now = clock.now()
    stmt = select(Tender).where(Tender.status.in_(PUBLIC_STATUSES))
    for term in (f.q or "").split()[:10]:
        pattern = f"%{_like_escape(term.lower())}%"
        stmt = stmt.where(
            or_(
                func.lower(Tender.title).like(pattern, escape="\\"),
                func.lower(Tender.description).like(pattern, escape="\\"),
                func.lower(Tender.reference).like(pattern, escape="\\"),
            )
        )
    if f.category:
        stmt = stmt.where(Tender.category == f.category)
    if f.district:
        stmt = stmt.where(
            or_(Tender.district_code == f.district, Tender.service_areas.any(District.code == f.district))
        )
    if f.method:
        stmt = stmt.where(Tender.method == f.method)
    if f.status == OPEN:
        stmt = stmt.where(Tender.status == OPEN, Tender.bid_deadline > now)
    elif f.status == CLOSED:
        stmt = stmt.where(
            or_(
                Tender.status.in_((CLOSED, OPENED, FAILED)),
                and_(Tender.status == OPEN, Tender.bid_deadline <= now),
            )
        )
    elif f.status == CANCELLED:
        stmt = stmt.where(Tender.status == CANCELLED)
    if f.budget_min is not None:
        stmt = stmt.where(Tender.budget_ceiling >= f.budget_min)
    if f.budget_max is not None:
        stmt = stmt.where(Tender.budget_ceiling <= f.budget_max)
    if f.deadline_from:
        stmt = stmt.where(Tender.bid_deadline >= start_of_local_day(f.deadline_from))
    if f.deadline_to:
        stmt = stmt.where(Tender.bid_deadline < start_of_local_day(f.deadline_to + timedelta(days=1)))
    return stmt.order_by(*SORTS.get(f.sort, SORTS["deadline"]), Tender.id.desc())


def open_tenders(limit: int = 10) -> list[Tender]:
    stmt = (
        select(Tender)
        .where(Tender.status == OPEN, Tender.bid_deadline > clock.now())
        .order_by(Tender.bid_deadline.asc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def agency_tenders_query(agency_id: int, status: str = "") -> Select:
    stmt = select(Tender).where(Tender.agency_id == agency_id)
    if status:
        stmt = stmt.where(Tender.status == status)
    return stmt.order_by(Tender.updated_at.desc(), Tender.id.desc())


def earliest_deadline_hint(method: str):
    return earliest_deadline_date(method, local_date(clock.now()))


def default_deadline(method: str) -> datetime:
    day = earliest_deadline_hint(method)
    return start_of_local_day(day) + timedelta(hours=9, minutes=30)
