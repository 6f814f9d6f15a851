"""One OCDS release per event of a published tender's contracting process.

This is the schema layer of the open data: it decides what is public. It never reads a bid before the
opening record exists, and never publishes people: no contact names, phone numbers or emails, no
committee members, no service-recipient representatives, no clarification askers. Organizations
appear by name and unified social credit code only (both on their public registration certificate).

Each release describes the process as it stood at its event (statuses, deadlines, amounts), so
releases never change once their event has happened and their ids stay stable:

===========================================  ==========================  ==========================
release id                                   tag                         date
===========================================  ==========================  ==========================
``{ocid}-tender-0``                          tender                      publication
``{ocid}-tender-{n}``                        tenderAmendment             amendment n
``{ocid}-opening``                           tenderUpdate                bid opening
``{ocid}-cancellation``                      tenderCancellation          cancellation
``{ocid}-unsuccessful``                      tenderUpdate                failure after the opening
``{ocid}-award-{award id}``                  award                       award notice
``{ocid}-award-{award id}-final``            awardUpdate                 challenge window closed
``{ocid}-award-{award id}-cancellation``     awardCancellation           upheld challenge
``{ocid}-contract-{contract id}``            contract                    both signatures
``{ocid}-contract-{id}-variation-{v id}``    contractAmendment           approved variation
``{ocid}-implementation-{n}``                implementation              nth payment, milestone
                                                                         met, or milestone overdue
``{ocid}-contract-{contract id}-end``        contractTermination         completion or termination
===========================================  ==========================  ==========================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from marketplace import clock
from marketplace.contracts.models import Contract, Milestone, Payment, Variation
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.extensions import db
from marketplace.ocds import mapping as m
from marketplace.tenders.bids.models import BidOpening
from marketplace.tenders.committee.models import Award, Challenge
from marketplace.tenders.models import PUBLIC_STATUSES, Tender


def ocid_of(tender: Tender) -> str:
    return f"{current_app.config['OCDS_PREFIX']}-{tender.id}"


def tender_id_of(ocid: str) -> int | None:
    """The tender id an ocid of ours names, or None (another prefix, or not a number)."""
    prefix = current_app.config["OCDS_PREFIX"] + "-"
    if not ocid.startswith(prefix):
        return None
    rest = ocid[len(prefix) :]
    if not rest.isdigit() or len(rest) > 12:
        return None
    return int(rest)


def is_published(tender: Tender | None) -> bool:
    return tender is not None and tender.status in PUBLIC_STATUSES and tender.published_at is not None


# --- parties ---------------------------------------------------------------------------------------


def _address(district) -> dict | None:
    if district is None:
        return None
    return {"locality": district.name, "countryName": "中国"}


def _agency_id(agency) -> str:
    return f"agency-{agency.id}"


def _org_id(org) -> str:
    return f"{m.IDENTIFIER_SCHEME}-{org.uscc}"


def _agency_party(agency, roles: list[str]) -> dict:
    return _clean(
        {"id": _agency_id(agency), "name": agency.name, "address": _address(agency.district), "roles": roles}
    )


def _org_party(org, roles: list[str]) -> dict:
    return _clean(
        {
            "id": _org_id(org),
            "name": org.name,
            "identifier": {"scheme": m.IDENTIFIER_SCHEME, "id": org.uscc, "legalName": org.name},
            "address": _address(org.registered_district),
            "roles": roles,
        }
    )


def _agency_ref(agency) -> dict:
    return {"id": _agency_id(agency), "name": agency.name}


def _org_ref(org) -> dict:
    return {"id": _org_id(org), "name": org.name}


_BUYER_ROLES = ["buyer", "procuringEntity"]


def _clean(obj):
    """Drop None values and empty containers (OCDS asks to omit them rather than send them empty)."""
    if isinstance(obj, dict):
        out = {k: _clean(v) for k, v in obj.items()}
        return {k: v for k, v in out.items() if v is not None and v != [] and v != {}}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


# --- the process, loaded once ---------------------------------------------------------------------


@dataclass
class Process:
    tender: Tender
    opening: BidOpening | None
    awards: list[Award]
    contract: Contract | None
    variations: list[Variation]
    payments: list[Payment]
    upheld: dict[int, Challenge]  # award id → the upheld challenge that annulled it

    @classmethod
    def load(cls, tender: Tender) -> Process:
        opening = db.session.scalar(select(BidOpening).where(BidOpening.tender_id == tender.id))
        awards = list(
            db.session.scalars(select(Award).where(Award.tender_id == tender.id).order_by(Award.id))
        )
        contract = db.session.scalar(select(Contract).where(Contract.tender_id == tender.id))
        if contract is not None and contract.activated_at is None:
            contract = None  # a draft contract is not public
        variations, payments = [], []
        if contract is not None:
            variations = list(
                db.session.scalars(
                    select(Variation)
                    .where(Variation.contract_id == contract.id, Variation.status == "approved")
                    .order_by(Variation.decided_at, Variation.id)
                )
            )
            payments = list(
                db.session.scalars(
                    select(Payment)
                    .where(Payment.contract_id == contract.id)
                    .order_by(Payment.recorded_at, Payment.id)
                )
            )
        upheld = {}
        if any(a.status == "annulled" for a in awards):
            for ch in db.session.scalars(
                select(Challenge).where(Challenge.tender_id == tender.id, Challenge.status == "upheld")
            ):
                upheld.setdefault(ch.award_id, ch)
        return cls(tender, opening, awards, contract, variations, payments, upheld)


# --- tender ----------------------------------------------------------------------------------------


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
        try:
            return Decimal(str(old))
        except InvalidOperation:
            return fallback
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
        "procuringEntity": _agency_ref(tender.agency),
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
    return _release(
        p, release_id, date, tags, parties=[_agency_party(tender.agency, _BUYER_ROLES)], tender=section
    )


def _opening_release(p: Process) -> dict | None:
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
        section["tenderers"] = [_org_ref(o) for o in orgs]
        parties = [_org_party(o, ["tenderer"]) for o in orgs]
    return _release(
        p,
        f"{ocid_of(p.tender)}-opening",
        opening.opened_at,
        ["tenderUpdate"],
        parties=parties,
        tender=section,
    )


def _tenderers(p: Process) -> list:
    from marketplace.orgs.models import Organization

    ids = [row.get("organization_id") for row in (p.opening.record or []) if row.get("organization_id")]
    if not ids:
        return []
    found = {o.id: o for o in db.session.scalars(select(Organization).where(Organization.id.in_(ids)))}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def _cancellation_release(p: Process) -> dict | None:
    t = p.tender
    if t.status != "cancelled" or t.cancelled_at is None:
        return None
    section = {"id": t.reference or str(t.id), "status": "cancelled"}
    return _release(p, f"{ocid_of(t)}-cancellation", t.cancelled_at, ["tenderCancellation"], tender=section)


def _failure_release(p: Process) -> dict | None:
    """A tender that failed after a valid opening (too few qualified bids, an upheld challenge).
    There is no failure timestamp column: the tender's last update is when it failed."""
    t = p.tender
    if t.status != "failed" or (p.opening is not None and p.opening.failed):
        return None
    section = {"id": t.reference or str(t.id), "status": "unsuccessful"}
    return _release(p, f"{ocid_of(t)}-unsuccessful", t.updated_at, ["tenderUpdate"], tender=section)


# --- awards ----------------------------------------------------------------------------------------


def _award_section(award: Award, status: str) -> dict:
    org = award.bid.organization
    return {
        "id": str(award.id),
        "title": award.tender.title,
        "status": status,
        "date": m.timestamp(award.published_at),  # the award decision, whatever its later status
        "value": m.value(award.bid.price),
        "suppliers": [_org_ref(org)],
    }


def _award_releases(p: Process) -> list[dict]:
    out = []
    ocid = ocid_of(p.tender)
    tender_id = p.tender.reference or str(p.tender.id)
    for award in p.awards:
        org = award.bid.organization
        supplier = [_org_party(org, ["tenderer", "supplier"])]
        out.append(
            _release(
                p,
                f"{ocid}-award-{award.id}",
                award.published_at,
                ["award"],
                parties=supplier,
                tender={"id": tender_id, "status": "complete"},
                awards=[_award_section(award, "pending")],
            )
        )
        if award.final_at is not None:
            out.append(
                _release(
                    p,
                    f"{ocid}-award-{award.id}-final",
                    award.final_at,
                    ["awardUpdate"],
                    awards=[_award_section(award, "active")],
                )
            )
        challenge = p.upheld.get(award.id)
        if award.status == "annulled" and challenge is not None and challenge.answered_at is not None:
            # The award falls; the tender is evaluated again (or fails: see the failure release).
            out.append(
                _release(
                    p,
                    f"{ocid}-award-{award.id}-cancellation",
                    challenge.answered_at,
                    ["awardCancellation"],
                    parties=[_org_party(org, ["tenderer"])],
                    tender={"id": tender_id, "status": "active"},
                    awards=[_award_section(award, "cancelled")],
                )
            )
    return out


# --- contract and implementation ---------------------------------------------------------------------


def _milestone_status(milestone: Milestone, at: datetime) -> tuple[str, datetime | None]:
    if milestone.accepted_at is not None and milestone.accepted_at <= at:
        return "met", milestone.accepted_at
    if m.end_of_day(milestone.due_date) <= at:
        return "notMet", None
    return "scheduled", None


def _milestones(contract: Contract, at: datetime) -> list[dict]:
    out = []
    for ms in contract.milestones:
        status, met_at = _milestone_status(ms, at)
        out.append(
            {
                "id": str(ms.id),
                "title": ms.deliverable,
                "type": m.MILESTONE_TYPE.get(ms.kind, ms.kind),
                "dueDate": m.day_end(ms.due_date),
                "status": status,
                "dateMet": m.timestamp(met_at) if met_at else None,
            }
        )
    return out


def _contract_documents(contract: Contract) -> list[dict]:
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return [
        {
            "id": f"contract-document-{doc.id}",
            "title": doc.filename,
            "url": f"{base}/contracts/{contract.id}/documents/{doc.id}" if base else None,
            "datePublished": m.timestamp(max(doc.uploaded_at, contract.activated_at)),
            "format": doc.content_type,
        }
        for doc in contract.documents
        if doc.public
    ]


def _contract_parties(contract: Contract, implementation: bool = False) -> list[dict]:
    return [
        _agency_party(contract.agency, _BUYER_ROLES + (["payer"] if implementation else [])),
        _org_party(contract.organization, ["tenderer", "supplier"] + (["payee"] if implementation else [])),
    ]


def _contract_releases(p: Process) -> list[dict]:
    contract = p.contract
    if contract is None:
        return []
    ocid = ocid_of(p.tender)
    signed = contract.activated_at
    out = [
        _release(
            p,
            f"{ocid}-contract-{contract.id}",
            signed,
            ["contract"],
            parties=_contract_parties(contract),
            contracts=[
                {
                    "id": contract.reference,
                    "awardID": str(contract.award_id),
                    "title": contract.title,
                    "description": contract.scope or None,
                    "status": "active",
                    "period": {
                        "startDate": m.day_start(contract.term_start),
                        "endDate": m.day_end(_original_term_end(contract, p.variations)),
                    },
                    "value": m.value(contract.original_value),
                    "dateSigned": m.timestamp(signed),
                    "milestones": _milestones(contract, signed),
                    "documents": _contract_documents(contract),
                }
            ],
        )
    ]
    for variation in p.variations:
        changes = variation.changes or {}
        section = {
            "id": contract.reference,
            "awardID": str(contract.award_id),
            "amendments": [
                {"id": str(v.id), "date": m.timestamp(v.decided_at), "rationale": v.reason}
                for v in p.variations
                if v.decided_at <= variation.decided_at
            ],
        }
        if "value" in changes:
            section["value"] = m.value(_decimal(changes["value"]))
        if "term_end" in changes:
            section["period"] = {"endDate": m.day_end(_date(changes["term_end"]))}
        out.append(
            _release(
                p,
                f"{ocid}-contract-{contract.id}-variation-{variation.id}",
                variation.decided_at,
                ["contractAmendment"],
                contracts=[_clean(section)],
            )
        )
    out.extend(_implementation_releases(p))
    ended = contract.completed_at if contract.status == "completed" else contract.terminated_at
    if contract.status in ("completed", "terminated") and ended is not None:
        out.append(
            _release(
                p,
                f"{ocid}-contract-{contract.id}-end",
                ended,
                ["contractTermination"],
                contracts=[
                    {
                        "id": contract.reference,
                        "awardID": str(contract.award_id),
                        "status": "terminated",
                        "milestones": _milestones(contract, ended),
                    }
                ],
            )
        )
    return out


def _decimal(raw) -> Decimal | None:
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return None


def _date(raw):
    from datetime import date

    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError:
        return None


def _original_term_end(contract: Contract, variations: list[Variation]):
    for v in variations:  # the first approved change of the term knows the signed one
        previous = v.previous or {}
        if "term_end" in (v.changes or {}) and previous.get("term_end"):
            return _date(previous["term_end"]) or contract.term_end
    return contract.term_end


def _implementation_events(p: Process) -> list[datetime]:
    """Moments the delivery moved on: a payment recorded, a milestone met, a milestone overdue."""
    contract = p.contract
    start, now = contract.activated_at, clock.now()
    ended = contract.completed_at or contract.terminated_at
    moments = [pay.recorded_at for pay in p.payments]
    for ms in contract.milestones:
        if ms.accepted_at is not None:
            moments.append(ms.accepted_at)
        overdue = m.end_of_day(ms.due_date)
        if (ms.accepted_at is None or ms.accepted_at > overdue) and overdue <= now:
            if ended is None or overdue < ended:
                moments.append(overdue)
    return sorted({t for t in moments if start <= t <= now})


def _implementation_releases(p: Process) -> list[dict]:
    contract = p.contract
    ocid = ocid_of(p.tender)
    payer, payee = _agency_ref(contract.agency), _org_ref(contract.organization)
    out = []
    for n, at in enumerate(_implementation_events(p), start=1):
        transactions = [
            {
                "id": str(pay.id),
                "date": m.day_start(pay.paid_on),
                "value": m.value(pay.amount),
                "payer": payer,
                "payee": payee,
            }
            for pay in p.payments
            if pay.recorded_at <= at
        ]
        section = {
            "id": contract.reference,
            "awardID": str(contract.award_id),
            "milestones": _milestones(contract, at),
            "implementation": {"transactions": transactions},
        }
        out.append(
            _release(
                p,
                f"{ocid}-implementation-{n}",
                at,
                ["implementation"],
                parties=_contract_parties(contract, implementation=bool(transactions)),
                contracts=[section],
            )
        )
    return out


# --- assembly ----------------------------------------------------------------------------------------


def _release(p: Process, release_id: str, date: datetime, tags: list[str], parties=None, **sections) -> dict:
    release = {
        "ocid": ocid_of(p.tender),
        "id": release_id,
        "date": m.timestamp(date),
        "tag": tags,
        "initiationType": "tender",
        "language": m.LANGUAGE,
        "buyer": _agency_ref(p.tender.agency),
        "parties": _unique_parties([_agency_party(p.tender.agency, _BUYER_ROLES), *(parties or [])]),
        **sections,
    }
    return _clean(release)


def _unique_parties(parties: list[dict]) -> list[dict]:
    """One entry per party id; a later entry (with more roles) replaces an earlier one in place."""
    by_id: dict[str, dict] = {}
    for party in parties:
        by_id[party["id"]] = party
    return list(by_id.values())


def releases_for(tender: Tender) -> list[dict]:
    """Every release of a published tender, oldest first. A draft (never published) has none."""
    if not is_published(tender):
        return []
    p = Process.load(tender)
    out = [_tender_release(p, n, fields) for n, fields in enumerate(_versions(tender))]
    opening = _opening_release(p)
    out.extend([opening] if opening else [])
    out.extend(_award_releases(p))
    out.extend(_contract_releases(p))
    # Last, so that on a tie of dates (an upheld challenge fails the tender in the same moment it
    # annuls the award) the final tender status wins in the compiled release.
    out.extend(r for r in (_cancellation_release(p), _failure_release(p)) if r is not None)
    now = m.timestamp(clock.now())
    out = [r for r in out if r["date"] <= now]  # nothing dated in the future (a moved clock)
    return sorted(out, key=lambda r: r["date"])
