"""Service records (what the organization did: counts only, never a resident's identity number) and
progress against the contract's targets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.delivery.checks import require, require_active, within_term
from marketplace.contracts.delivery.schemas import RecordInputSchema
from marketplace.contracts.models import Contract, ContractTarget, ServiceRecord, ServiceRecordDocument
from marketplace.core.districts import COMMUNITY, District
from marketplace.core.documents import StoredFile
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.schemas import InputErrors, load_partial, parse_decimal
from marketplace.extensions import db

CENT = Decimal("0.01")


def _in_area(contract: Contract, community: District) -> bool:
    """The community lies in the tender's service areas (or its district when none are listed)."""
    tender = contract.tender
    areas = {d.code for d in tender.service_areas} or {tender.district_code}
    return any(node.code in areas for node in community.path())


def communities_for(contract: Contract) -> list[District]:
    """The communities a service record may name: those within the tender's area."""
    communities = db.session.scalars(
        select(District).where(District.level == COMMUNITY).order_by(District.code)
    )
    return [c for c in communities if _in_area(contract, c)]


def _target(contract: Contract, target_id: int | None) -> ContractTarget | None:
    if target_id is None:
        return None
    target = db.session.get(ContractTarget, target_id)
    if target is None or target.contract_id != contract.id:
        raise RuleViolation(_("Choose a target of this contract."), field="target_id")
    return target


def _community(contract: Contract, code: str | None) -> District | None:
    if not code:
        return None
    community = db.session.get(District, code)
    if community is None or community.level != COMMUNITY or not _in_area(contract, community):
        raise RuleViolation(_("Choose a community within the tender's service area."), field="community_code")
    return community


def check_record(contract: Contract, raw: Mapping) -> dict:
    """``raw`` (a ``RecordInputSchema``) checked against the schema and the contract's rules: a date
    within the term and not in the future, a target of this contract, a community of its area.

    Every problem is reported at once (:class:`InputErrors`); the web form, the file import and the
    API all check a record here. The result holds the loaded values and ``target``/``community``."""
    data, errors = load_partial(RecordInputSchema(), raw)
    rules = (
        ("service_date", lambda day: within_term(contract, day, "service_date", _("The service date"))),
        ("target_id", lambda ident: _target(contract, ident)),
        ("community_code", lambda code: _community(contract, code)),
    )
    found = {}
    for name, rule in rules:
        if name in errors or name not in data:
            continue
        try:
            found[name] = rule(data[name])
        except RuleViolation as exc:
            errors.setdefault(name, []).append(exc.message)
    if errors:
        raise InputErrors(errors)
    return {**data, "target": found.get("target_id"), "community": found.get("community_code")}


def log_service_record(contract: Contract, raw: Mapping, files: list[StoredFile], actor) -> ServiceRecord:
    """The organization logs a service it delivered (``raw``: a ``RecordInputSchema``)."""
    require(actor, "contract.deliver", contract)
    require_active(contract)
    return add_record(contract, check_record(contract, raw), files, actor)


def add_record(contract: Contract, data: dict, files: list[StoredFile], actor) -> ServiceRecord:
    """Store a record checked by :func:`check_record` and audit it (the caller checked the actor)."""
    target, community = data["target"], data["community"]
    now = clock.now()
    record = ServiceRecord(
        contract_id=contract.id,
        service_date=data["service_date"],
        activity_type=data["activity_type"],
        target_id=target.id if target else None,
        quantity=data["quantity"],
        beneficiaries=data["beneficiaries"],
        hours=data["hours"],
        community_code=community.code if community else None,
        notes=data["notes"],
        recorded_at=now,
        recorded_by_id=actor.id,
    )
    for f in files:
        record.documents.append(ServiceRecordDocument(uploaded_at=now, **f.columns()))
    db.session.add(record)
    db.session.flush()
    audit.record(
        actor,
        "contract.service_logged",
        "contract",
        contract.id,
        N_("Service record %(record)s: %(activity)s on %(day)s"),
        {
            "record_id": record.id,
            "activity_type": record.activity_type,
            "target_id": record.target_id,
            "quantity": record.quantity,
            "beneficiaries": record.beneficiaries,
            "hours": record.hours,
            "documents": [f.sha256 for f in files],
        },
        tender_id=contract.tender_id,
        params={"record": record.id, "activity": record.activity_type, "day": record.service_date},
    )
    return record


@dataclass
class RecordFilter:
    date_from: date | None = None
    date_to: date | None = None
    activity_type: str | None = None
    target_id: int | None = None


def records_query(contract: Contract, f: RecordFilter | None = None):
    """The contract's records, the latest service date first (then the latest entered)."""
    f = f or RecordFilter()
    stmt = (
        select(ServiceRecord)
        .where(ServiceRecord.contract_id == contract.id)
        .order_by(ServiceRecord.service_date.desc(), ServiceRecord.id.desc())
    )
    if f.date_from:
        stmt = stmt.where(ServiceRecord.service_date >= f.date_from)
    if f.date_to:
        stmt = stmt.where(ServiceRecord.service_date <= f.date_to)
    if f.activity_type:
        stmt = stmt.where(ServiceRecord.activity_type == f.activity_type)
    if f.target_id:
        stmt = stmt.where(ServiceRecord.target_id == f.target_id)
    return stmt


# --- progress -------------------------------------------------------------------------------------


@dataclass
class TargetProgress:
    target: ContractTarget
    planned: Decimal
    delivered: Decimal
    percent: int  # capped at 100 for the bar; ``delivered`` may exceed ``planned``


@dataclass
class Progress:
    targets: list[TargetProgress] = field(default_factory=list)
    beneficiaries: int = 0
    hours: Decimal = Decimal("0")
    records: int = 0


def progress(contract: Contract) -> Progress:
    """Delivered quantity per target (one aggregated query) and the totals of all records."""
    delivered = dict(
        db.session.execute(
            select(ServiceRecord.target_id, func.coalesce(func.sum(ServiceRecord.quantity), 0))
            .where(ServiceRecord.contract_id == contract.id, ServiceRecord.target_id.is_not(None))
            .group_by(ServiceRecord.target_id)
        ).all()
    )
    count, beneficiaries, hours = db.session.execute(
        select(
            func.count(ServiceRecord.id),
            func.coalesce(func.sum(ServiceRecord.beneficiaries), 0),
            func.coalesce(func.sum(ServiceRecord.hours), 0),
        ).where(ServiceRecord.contract_id == contract.id)
    ).one()
    rows = []
    for t in contract.targets:
        done = parse_decimal(delivered.get(t.id, 0)).quantize(CENT)
        planned = Decimal(t.quantity)
        percent = int(min(Decimal(100), done * 100 / planned)) if planned > 0 else 0
        rows.append(TargetProgress(t, planned, done, percent))
    return Progress(rows, int(beneficiaries or 0), parse_decimal(hours or 0).quantize(CENT), int(count or 0))
