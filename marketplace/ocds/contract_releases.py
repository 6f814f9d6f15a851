"""The contract stage's releases: both signatures, each approved variation, each implementation step
(a payment recorded, a milestone met or overdue) and the end (completion or termination)."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app

from marketplace import clock
from marketplace.contracts.models import Contract, Milestone, Variation
from marketplace.core.schemas import parse_decimal
from marketplace.ocds import mapping as m
from marketplace.ocds.parties import BUYER_ROLES, agency_party, agency_ref, org_party, org_ref
from marketplace.ocds.process import Process, build_release, ocid_of


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
        agency_party(contract.agency, BUYER_ROLES + (["payer"] if implementation else [])),
        org_party(contract.organization, ["tenderer", "supplier"] + (["payee"] if implementation else [])),
    ]


def contract_releases(p: Process) -> list[dict]:
    contract = p.contract
    if contract is None:
        return []
    ocid = ocid_of(p.tender)
    signed = contract.activated_at
    out = [
        build_release(
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
            section["value"] = m.value(parse_decimal(changes["value"]))
        if "term_end" in changes:
            section["period"] = {"endDate": m.day_end(_date(changes["term_end"]))}
        out.append(
            build_release(
                p,
                f"{ocid}-contract-{contract.id}-variation-{variation.id}",
                variation.decided_at,
                ["contractAmendment"],
                contracts=[m.clean(section)],
            )
        )
    out.extend(_implementation_releases(p))
    ended = contract.completed_at if contract.status == "completed" else contract.terminated_at
    if contract.status in ("completed", "terminated") and ended is not None:
        out.append(
            build_release(
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


def _date(raw):
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
    payer, payee = agency_ref(contract.agency), org_ref(contract.organization)
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
            build_release(
                p,
                f"{ocid}-implementation-{n}",
                at,
                ["implementation"],
                parties=_contract_parties(contract, implementation=bool(transactions)),
                contracts=[section],
            )
        )
    return out
