"""Drafting a tender: creating and editing drafts (their input is a :class:`TenderInputSchema`), and
their documents.

Each verb checks its rules, changes rows and writes an audit event; the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core import retention
from marketplace.core.districts import COUNTY, District
from marketplace.core.documents import StoredFile
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.records import require_open_record
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.tenders.models import DRAFT, PRICE_CRITERION_NAME, Criterion, Tender, TenderDocument
from marketplace.tenders.schemas import TenderInputSchema

MAX_DOCUMENTS = 20


# --- the checks that need the database or the clock ---------------------------------------------


def _check_district(data: dict) -> None:
    district = db.session.get(District, data["district_code"] or "")
    if district is None or district.level != COUNTY:
        raise RuleViolation(_("Choose a district from the list."), field="district_code")
    areas = set(data["service_area_codes"])
    if not areas:
        return
    found = db.session.scalars(select(District).where(District.code.in_(areas))).all()
    if len(found) != len(areas) or any(not _within(d, district.code) for d in found):
        raise RuleViolation(
            _("Service areas must be streets or communities of the chosen district."),
            field="service_area_codes",
        )


def _within(node: District, county_code: str) -> bool:
    while node is not None:
        if node.code == county_code:
            return True
        node = node.parent
    return False


def _check_deadline(bid_deadline: datetime) -> None:
    if bid_deadline <= clock.now():
        raise RuleViolation(_("The bid deadline must be in the future."), field="bid_deadline")
    if bid_deadline > clock.now() + timedelta(days=366):
        raise RuleViolation(_("The bid deadline must be within a year."), field="bid_deadline")


def validate(raw: Mapping) -> dict:
    """The draft's input loaded by :class:`TenderInputSchema` and checked against the database and the
    clock; raises :class:`RuleViolation` (every input error at once, then the first other problem)."""
    data = load(TenderInputSchema(), raw)
    _check_district(data)
    _check_deadline(data["bid_deadline"])
    return data


# --- the draft's rows ----------------------------------------------------------------------------


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
        "bonds_waived": t.bonds_waived,
        "bid_deadline": t.bid_deadline.isoformat() if t.bid_deadline else None,
        "criteria": [[c.name, c.weight, c.is_price] for c in t.criteria],
        "contact": [t.contact_name, t.contact_phone, t.contact_email],
    }


def _apply(t: Tender, data: dict) -> None:
    with db.session.no_autoflush:
        _apply_fields(t, data)
    if t.criteria:
        # Replace the criteria; flush the removal first so (tender, position) stays unique.
        for criterion in t.criteria:
            retention.permit_removal(criterion)  # a draft's: not yet part of the record
        t.criteria.clear()
        db.session.flush()
    t.criteria.append(
        Criterion(position=0, name=PRICE_CRITERION_NAME, weight=data["price_weight"], is_price=True)
    )
    for i, c in enumerate(data["criteria"], start=1):
        t.criteria.append(
            Criterion(position=i, name=c["name"], description=c["description"], weight=c["weight"])
        )


_FIELDS = (
    "title",
    "description",
    "category",
    "district_code",
    "method",
    "evaluation_method",
    "budget_ceiling",
    "contract_term_months",
    "eligibility",
    "reserved_for_small",
    "bonds_waived",
    "bid_deadline",
    "contact_name",
    "contact_phone",
    "contact_email",
)


def _apply_fields(t: Tender, data: dict) -> None:
    for name in _FIELDS:
        setattr(t, name, data[name])
    t.funding_sources = list(data["funding_sources"])
    t.service_areas = list(
        db.session.scalars(select(District).where(District.code.in_(data["service_area_codes"])))
    )


def input_from(t: Tender) -> dict:
    """The raw input that would make ``t`` again (to re-check a draft, or to copy a tender)."""
    price = t.price_criterion
    return {
        **{name: getattr(t, name) for name in _FIELDS},
        "service_area_codes": [d.code for d in t.service_areas],
        "funding_sources": list(t.funding_sources or []),
        "price_weight": price.weight if price else None,
        "criteria": [
            {"name": c.name, "weight": c.weight, "description": c.description} for c in t.technical_criteria
        ],
    }


# --- verbs ---------------------------------------------------------------------------------------


def create_draft(raw: Mapping, actor) -> Tender:
    if actor.agency_id is None:
        raise RuleViolation(_("Only officers of an agency create tenders."))
    data = validate(raw)
    t = Tender(agency_id=actor.agency_id, created_by_id=actor.id, status=DRAFT)
    _apply(t, data)
    db.session.add(t)
    db.session.flush()
    audit.record(
        actor,
        "tender.create",
        "tender",
        t.id,
        N_("Created draft tender %(title)s"),
        _snapshot(t),
        params={"title": t.title},
    )
    return t


def update_draft(t: Tender, raw: Mapping, actor) -> Tender:
    require_open_record(t)
    if t.status != DRAFT:
        raise RuleViolation(_("Only drafts can be edited; a published tender is changed by an amendment."))
    before = _snapshot(t)
    data = validate(raw)
    _apply(t, data)
    db.session.flush()
    audit.record(
        actor, "tender.update", "tender", t.id, N_("Edited the draft"), audit.diff(before, _snapshot(t))
    )
    return t


def attach_document(t: Tender, stored: StoredFile, actor, amendment_id: int | None = None) -> TenderDocument:
    """Add a stored file to the tender's documents (no rule, no audit: the calling verb has both)."""
    doc = TenderDocument(
        uploaded_at=clock.now(), uploaded_by_id=actor.id, amendment_id=amendment_id, **stored.columns()
    )
    t.documents.append(doc)
    db.session.flush()
    return doc


def add_document(t: Tender, stored: StoredFile, actor) -> TenderDocument:
    require_open_record(t)
    if t.status != DRAFT:
        raise RuleViolation(_("Documents of a published tender are added through an amendment."))
    if len(t.documents) >= MAX_DOCUMENTS:
        raise RuleViolation(_("A tender has at most 20 documents."), field="documents")
    doc = attach_document(t, stored, actor)
    audit.record(
        actor,
        "tender.add_document",
        "tender",
        t.id,
        N_("Added document %(filename)s"),
        {"sha256": doc.sha256, "size": doc.size},
        params={"filename": doc.filename},
    )
    return doc


def remove_document(t: Tender, doc: TenderDocument, actor) -> None:
    """Take a document off a draft (never published: not yet part of the record). A published
    tender's documents are kept; an amendment adds what replaces them."""
    require_open_record(t)
    if t.status != DRAFT or doc.tender_id != t.id:
        raise RuleViolation(_("Documents of a published tender cannot be removed."))
    retention.permit_removal(doc)
    t.documents.remove(doc)
    audit.record(
        actor,
        "tender.remove_document",
        "tender",
        t.id,
        N_("Removed document %(filename)s"),
        {"sha256": doc.sha256},
        params={"filename": doc.filename},
    )
