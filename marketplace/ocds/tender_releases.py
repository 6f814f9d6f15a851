"""The tender stage's releases: the publication and each amendment, the bid opening, a cancellation
and a failure. Nothing of a bid is read before the opening record exists; the opening makes public
who bid (never prices or contents)."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.schemas import parse_decimal
from marketplace.extensions import db
from marketplace.ocds import mapping as m
from marketplace.ocds.parties import BUYER_ROLES, agency_party, agency_ref, org_party, org_ref
from marketplace.ocds.process import Process, build_release, ocid_of
from marketplace.orgs.models import Organization
from marketplace.tenders.models import Tender


def _category_label(code: str) -> str:
    label = SERVICE_CATEGORIES.get(code)
    if label is None:
        return code
    with force_locale("en"):  # the message ids carry both languages: "Elderly care (养老)"
        return str(label)


def _versions(tender: Tender) -> list[dict]:
    """The tender's amendable fields as published and after each amendment (oldest first)."""
    current = {
        "description": tender.description,
        "budget_ceiling": tender.budget_ceiling,
        "contract_term_months": tender.contract_term_months,
        "bid_deadline": tender.bid_deadline,
    }
    versions = [current]
    for amendment in reversed(tender.amendments):
        earlier = dict(versions[0])
        for name in ("description", "budget_ceiling", "contract_term_months"):
            if name in (amendment.changes or {}):
                earlier[name] = _old_value(name, amendment.changes[name], earlier[name])
        earlier["bid_deadline"] = amendment.previous_deadline
        versions.insert(0, earlier)
    return versions


def _old_value(name: str, change, fallback):
    try:
        old = change[0]
    except (TypeError, IndexError, KeyError):
        return fallback
    if old is None:
        return fallback
    if name == "budget_ceiling":
        ceiling = parse_decimal(old)
        return fallback if ceiling is None else ceiling
    if name == "contract_term_months":
        return int(old) if str(old).isdigit() else fallback
    return old


def _tender_documents(tender: Tender, amendment_number: int) -> list[dict]:
    numbers = {a.id: a.number for a in tender.amendments}
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    docs = []
    for doc in tender.documents:
        if doc.amendment_id is not None and numbers.get(doc.amendment_id, 0) > amendment_number:
            continue
        published = max(doc.uploaded_at, tender.published_at)
        docs.append(
            {
                "id": f"tender-document-{doc.id}",
                "documentType": "biddingDocuments",
                "title": doc.filename,
                "url": f"{base}/tenders/{tender.id}/documents/{doc.id}" if base else None,
                "datePublished": m.timestamp(published),
                "format": doc.content_type,
            }
        )
    return docs


def _tender_release(p: Process, number: int, fields: dict) -> dict:
    tender = p.tender
    ocid = ocid_of(tender)
    release_id = f"{ocid}-tender-{number}"
    section = {
        "id": tender.reference or str(tender.id),
        "title": tender.title,
        "description": fields["description"],
        "status": "active",
        "procuringEntity": agency_ref(tender.agency),
        "items": [
            {
                "id": "1",
                "description": tender.title,
                "classification": {
                    "scheme": m.CLASSIFICATION_SCHEME,
                    "id": tender.category,
                    "description": _category_label(tender.category),
                },
            }
        ],
        "value": m.value(fields["budget_ceiling"]),
        "procurementMethod": m.PROCUREMENT_METHOD.get(tender.method),
        "procurementMethodDetails": m.PROCUREMENT_METHOD_DETAILS.get(tender.method, tender.method),
        "mainProcurementCategory": "services",
        "awardCriteria": m.AWARD_CRITERIA.get(tender.evaluation_method),
        "awardCriteriaDetails": m.AWARD_CRITERIA_DETAILS.get(tender.evaluation_method),
        "submissionMethod": ["electronicSubmission"],
        "tenderPeriod": {
            "startDate": m.timestamp(tender.published_at),
            "endDate": m.timestamp(fields["bid_deadline"]),
        },
        "contractPeriod": {"durationInDays": int(fields["contract_term_months"]) * 30},
        "eligibilityCriteria": tender.eligibility or None,
        "documents": _tender_documents(tender, number),
    }
    if number == 0:
        date, tags = tender.published_at, ["tender"]
    else:
        amendment = tender.amendments[number - 1]
        date, tags = amendment.created_at, ["tenderAmendment"]
        section["amendments"] = [
            {
                "id": str(k),
                "date": m.timestamp(a.created_at),
                "rationale": a.reason,
                "description": "；".join(
                    dict.fromkeys(
                        m.AMENDED_FIELDS.get(k, k) for k in (a.changes or {}) if k in m.AMENDED_FIELDS
                    )
                )
                or None,
                "amendsReleaseID": f"{ocid}-tender-{k - 1}",
                "releaseID": f"{ocid}-tender-{k}",
            }
            for k, a in enumerate(tender.amendments[:number], start=1)
        ]
    return build_release(
        p, release_id, date, tags, parties=[agency_party(tender.agency, BUYER_ROLES)], tender=section
    )


def opening_release(p: Process) -> dict | None:
    opening = p.opening
    if opening is None:
        return None
    section = {
        "id": p.tender.reference or str(p.tender.id),
        "status": "unsuccessful" if opening.failed else "active",
        "numberOfTenderers": opening.bid_count,
    }
    parties = []
    if not opening.failed:
        # The bids were opened: who bid is part of the opening record. Prices and contents are not.
        orgs = _tenderers(p)
        section["tenderers"] = [org_ref(o) for o in orgs]
        parties = [org_party(o, ["tenderer"]) for o in orgs]
    return build_release(
        p,
        f"{ocid_of(p.tender)}-opening",
        opening.opened_at,
        ["tenderUpdate"],
        parties=parties,
        tender=section,
    )


def _tenderers(p: Process) -> list:
    ids = [row.get("organization_id") for row in (p.opening.record or []) if row.get("organization_id")]
    if not ids:
        return []
    found = {o.id: o for o in db.session.scalars(select(Organization).where(Organization.id.in_(ids)))}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def cancellation_release(p: Process) -> dict | None:
    t = p.tender
    if t.status != "cancelled" or t.cancelled_at is None:
        return None
    section = {"id": t.reference or str(t.id), "status": "cancelled"}
    return build_release(
        p, f"{ocid_of(t)}-cancellation", t.cancelled_at, ["tenderCancellation"], tender=section
    )


def failure_release(p: Process) -> dict | None:
    """A tender that failed after a valid opening (too few qualified bids, an upheld challenge).
    There is no failure timestamp column: the tender's last update is when it failed."""
    t = p.tender
    if t.status != "failed" or (p.opening is not None and p.opening.failed):
        return None
    section = {"id": t.reference or str(t.id), "status": "unsuccessful"}
    return build_release(p, f"{ocid_of(t)}-unsuccessful", t.updated_at, ["tenderUpdate"], tender=section)


def tender_releases(p: Process) -> list[dict]:
    """The publication and one release per amendment, each with the tender as it stood then."""
    return [_tender_release(p, n, fields) for n, fields in enumerate(_versions(p.tender))]
