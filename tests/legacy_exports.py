"""The contract exports as they were before issue 16 (keyset batches of 500 contracts, a dict per row,
every cell formatted in Python): a frozen copy kept as the oracle that tests/test_exports.py compares the
set-based streaming exports with, on the same data, on SQLite and PostgreSQL. Not used by the app."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO

from sqlalchemy import case, func, select

from marketplace import clock
from marketplace.audit.export_columns import COLUMNS, EXPORT_KINDS, neutral
from marketplace.audit.filters import ContractFilter, conditions, contract_date
from marketplace.audit.history import histories
from marketplace.audit.service_totals import service_totals
from marketplace.auth.models import Agency, User
from marketplace.contracts.models import Acceptance, Contract, Milestone, Payment, ServiceRecord, Variation
from marketplace.core import labels
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.timeutil import local_date, to_local
from marketplace.extensions import db
from marketplace.orgs.models import Organization
from marketplace.performance.models import Evaluation, IndicatorTemplate
from marketplace.tenders.committee.models import Award
from marketplace.tenders.models import Tender

BATCH = 500  # contracts per keyset page
CENT = Decimal("0.01")


def _label(machine: str, code) -> str:
    """A code's label in the current language, as the exports write it beside the code (issue 20)."""
    return labels.label(machine, code) if code else ""


def _batches(f: ContractFilter) -> Iterator[list]:
    """Matching contracts as column rows, BATCH at a time, by keyset pagination on the id."""
    stmt = (
        select(
            Contract.id,
            Contract.reference,
            Contract.title,
            Contract.status,
            Contract.tender_id,
            Contract.organization_id,
            Contract.original_value,
            Contract.value,
            Contract.term_start,
            Contract.term_end,
            contract_date().label("contract_date"),
            Contract.officer_signed_at,
            Contract.org_signed_at,
            Contract.completed_at,
            Contract.terminated_at,
            Tender.reference.label("tender_reference"),
            Tender.category,
            Tender.district_code,
            Agency.name.label("agency"),
            Organization.name.label("organization"),
            Organization.uscc.label("organization_uscc"),
        )
        .join(Tender, Tender.id == Contract.tender_id)
        .join(Agency, Agency.id == Contract.agency_id)
        .join(Organization, Organization.id == Contract.organization_id)
        .where(*conditions(f))
        .order_by(Contract.id)
        .limit(BATCH)
    )
    last = 0
    while True:
        rows = db.session.execute(stmt.where(Contract.id > last)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id
        if len(rows) < BATCH:
            return


def _grouped(stmt) -> dict:
    return {row[0]: row[1:] for row in db.session.execute(stmt).all()}


def _batch_totals(ids: list[int]) -> dict[str, dict]:
    """Per contract of the batch: milestone counts and amount due, paid, approved variations, service
    records, the final acceptance and when the award was published (one GROUP BY query each)."""
    in_batch = lambda col: col.in_(ids)  # noqa: E731
    return {
        "milestones": _grouped(
            select(
                Milestone.contract_id,
                func.count(Milestone.id),
                func.sum(case((Milestone.status == "accepted", 1), else_=0)),
                func.sum(case((Milestone.status == "accepted", Milestone.amount), else_=0)),
            )
            .where(in_batch(Milestone.contract_id))
            .group_by(Milestone.contract_id)
        ),
        "paid": _grouped(
            select(Payment.contract_id, func.coalesce(func.sum(Payment.amount), 0))
            .where(in_batch(Payment.contract_id))
            .group_by(Payment.contract_id)
        ),
        "variations": _grouped(
            select(Variation.contract_id, func.count(Variation.id))
            .where(in_batch(Variation.contract_id), Variation.status == "approved")
            .group_by(Variation.contract_id)
        ),
        "services": _grouped(
            select(
                ServiceRecord.contract_id,
                func.count(ServiceRecord.id),
                func.coalesce(func.sum(ServiceRecord.beneficiaries), 0),
                func.coalesce(func.sum(ServiceRecord.hours), 0),
            )
            .where(in_batch(ServiceRecord.contract_id))
            .group_by(ServiceRecord.contract_id)
        ),
        "acceptances": {
            cid: (result, len(people or []))
            for cid, result, people in db.session.execute(
                select(Acceptance.contract_id, Acceptance.result, Acceptance.recipient_representatives).where(
                    in_batch(Acceptance.contract_id)
                )
            )
        },
        "awards": dict(
            db.session.execute(select(Contract.id, _award_published()).where(in_batch(Contract.id))).all()
        ),
    }


def _contract_summaries(batch: list) -> Iterator[dict]:
    totals = _batch_totals([r.id for r in batch])
    for r in batch:
        yield _contract_summary(r, totals)


def _contract_summary(r, totals: dict[str, dict]) -> dict:
    m_count, m_accepted, due = totals["milestones"].get(r.id, (0, 0, 0))
    paid_total = Decimal(str(totals["paid"].get(r.id, (0,))[0] or 0)).quantize(CENT)
    n_records, beneficiaries, hours = totals["services"].get(r.id, (0, 0, 0))
    result, representatives = totals["acceptances"].get(r.id, ("", 0))
    return {
        "id": r.id,
        "reference": r.reference,
        "title": r.title,
        "status": r.status,
        "status_label": _label("contract", r.status),
        "tender_reference": r.tender_reference or "",
        "category": r.category,
        "category_label": str(SERVICE_CATEGORIES.get(r.category, r.category)),
        "district": r.district_code,
        "agency": r.agency,
        "organization": r.organization,
        "organization_uscc": r.organization_uscc,
        "award_published_at": totals["awards"].get(r.id),
        "contract_date": local_date(r.contract_date) if r.contract_date else None,
        "term_start": r.term_start,
        "term_end": r.term_end,
        "original_value": Decimal(r.original_value),
        "value": Decimal(r.value),
        "due_total": Decimal(str(due or 0)).quantize(CENT),
        "paid_total": paid_total,
        "remaining": Decimal(r.value) - paid_total,
        "milestones": int(m_count or 0),
        "milestones_accepted": int(m_accepted or 0),
        "variations_approved": int(totals["variations"].get(r.id, (0,))[0] or 0),
        "service_records": int(n_records or 0),
        "beneficiaries": int(beneficiaries or 0),
        "hours": Decimal(str(hours or 0)).quantize(CENT),
        "acceptance_result": result,
        "acceptance_result_label": _label("acceptance", result),
        "acceptance_representatives": representatives,
        "officer_signed_at": r.officer_signed_at,
        "org_signed_at": r.org_signed_at,
        "completed_at": r.completed_at,
        "terminated_at": r.terminated_at,
    }


def _award_published():
    return (
        select(Award.published_at).where(Award.id == Contract.award_id).correlate(Contract).scalar_subquery()
    )


def _milestone_rows(batch: list) -> Iterator[dict]:
    refs = {r.id: r.reference for r in batch}
    stmt = (
        select(
            Milestone.contract_id,
            Milestone.position,
            Milestone.deliverable,
            Milestone.kind,
            Milestone.due_date,
            Milestone.amount,
            Milestone.is_final,
            Milestone.status,
            Milestone.met_on,
            Milestone.overdue_days,
        )
        .where(Milestone.contract_id.in_(list(refs)))
        .order_by(Milestone.contract_id, Milestone.position, Milestone.id)
    )
    for m in db.session.execute(stmt):
        yield {
            "contract_id": m.contract_id,
            "contract_reference": refs[m.contract_id],
            "position": m.position + 1,
            "deliverable": m.deliverable,
            "kind": m.kind,
            "kind_label": _label("milestone_kind", m.kind),
            "due_date": m.due_date,
            "amount": Decimal(m.amount),
            "is_final": "yes" if m.is_final else "",
            "status": m.status,
            "status_label": _label("milestone", m.status),
            "met_on": m.met_on,
            "overdue_days": m.overdue_days,
        }


def _payment_rows(batch: list) -> Iterator[dict]:
    refs = {r.id: r.reference for r in batch}
    stmt = (
        select(
            Payment.contract_id,
            Payment.id,
            Payment.paid_on,
            Payment.amount,
            Payment.reference,
            Payment.milestone_id,
            Payment.recorded_at,
        )
        .where(Payment.contract_id.in_(list(refs)))
        .order_by(Payment.contract_id, Payment.paid_on, Payment.id)
    )
    for p in db.session.execute(stmt):
        yield {
            "contract_id": p.contract_id,
            "contract_reference": refs[p.contract_id],
            "id": p.id,
            "paid_on": p.paid_on,
            "amount": Decimal(p.amount),
            "reference": p.reference,
            "milestone_id": p.milestone_id,
            "recorded_at": p.recorded_at,
        }


def _variation_rows(batch: list) -> Iterator[dict]:
    refs = {r.id: r.reference for r in batch}
    stmt = (
        select(
            Variation.contract_id,
            Variation.id,
            Variation.status,
            Variation.reason,
            Variation.changes,
            Variation.previous,
            Variation.requested_at,
            Variation.decided_at,
            Variation.decision_note,
        )
        .where(Variation.contract_id.in_(list(refs)))
        .order_by(Variation.contract_id, Variation.id)
    )
    for v in db.session.execute(stmt):
        yield {
            "contract_id": v.contract_id,
            "contract_reference": refs[v.contract_id],
            "id": v.id,
            "status": v.status,
            "status_label": _label("variation", v.status),
            "reason": v.reason,
            "changes": json.dumps(v.changes or {}, ensure_ascii=False, sort_keys=True),
            "previous": json.dumps(v.previous or {}, ensure_ascii=False, sort_keys=True),
            "requested_at": v.requested_at,
            "decided_at": v.decided_at,
            "decision_note": v.decision_note,
        }


def _service_total_rows(batch: list) -> Iterator[dict]:
    refs = {r.id: r.reference for r in batch}
    for t in service_totals(list(refs)):
        yield {
            "contract_id": t["contract_id"],
            "contract_reference": refs[t["contract_id"]],
            "month": t["month"],
            "records": t["records"],
            "quantity": t["quantity"].quantize(CENT),
            "beneficiaries": t["beneficiaries"],
            "hours": t["hours"].quantize(CENT),
        }


def _evaluation_rows(batch: list) -> Iterator[dict]:
    """Performance-evaluation rounds (绩效评价): stage, assessor, template, total and grade."""
    refs = {r.id: r.reference for r in batch}
    stmt = (
        select(
            Evaluation.contract_id,
            Evaluation.stage,
            Evaluation.status,
            User.name.label("assessor"),
            IndicatorTemplate.name.label("template"),
            IndicatorTemplate.version,
            Evaluation.total,
            Evaluation.grade,
            Evaluation.submitted_at,
        )
        .join(User, User.id == Evaluation.assessor_id)
        .join(IndicatorTemplate, IndicatorTemplate.id == Evaluation.template_id)
        .where(Evaluation.contract_id.in_(list(refs)))
        .order_by(Evaluation.contract_id, Evaluation.id)
    )
    for e in db.session.execute(stmt):
        yield {
            "contract_id": e.contract_id,
            "contract_reference": refs[e.contract_id],
            "stage": e.stage,
            "stage_label": _label("evaluation_stage", e.stage),
            "status": e.status,
            "status_label": _label("evaluation", e.status),
            "assessor": e.assessor,
            "template": f"{e.template} (v{e.version})",
            "total": Decimal(e.total) if e.total is not None else None,
            "grade": e.grade or "",
            "grade_label": _label("evaluation_grade", e.grade or ""),
            "submitted_at": e.submitted_at,
        }


def _history_rows(batch: list) -> Iterator[dict]:
    refs = {r.id: r.reference for r in batch}
    for cid, entries in histories(batch).items():
        for e in entries:
            yield {
                "contract_id": cid,
                "contract_reference": refs[cid],
                "at": e.at,
                "kind": e.kind,
                "action": e.action,
                "party": e.party,
                "account": e.account,
                "text": e.text,
            }


_ROWS = {
    "contracts": _contract_summaries,
    "milestones": _milestone_rows,
    "payments": _payment_rows,
    "variations": _variation_rows,
    "service_record_totals": _service_total_rows,
    "evaluations": _evaluation_rows,
    "history": _history_rows,
}


def rows(kind: str, f: ContractFilter) -> Iterator[dict]:
    """Every row of one kind for the matching contracts, streamed batch by batch."""
    make = _ROWS[kind]
    for batch in _batches(f):
        yield from make(batch)
        # Nothing from a batch is kept: the session holds no ORM objects from these column queries.


def contract_documents(f: ContractFilter) -> Iterator[dict]:
    """Each matching contract with its milestones, payments, variations, monthly service totals and
    history nested (the JSON export), streamed batch by batch."""
    for batch in _batches(f):
        nested: dict[str, dict[int, list]] = {}
        for kind in EXPORT_KINDS[1:]:
            grouped: dict[int, list] = defaultdict(list)
            for row in _ROWS[kind](batch):
                cid = row.pop("contract_id")
                row.pop("contract_reference", None)
                grouped[cid].append(row)
            nested[kind] = grouped
        for summary in _contract_summaries(batch):
            for kind in EXPORT_KINDS[1:]:
                summary[kind] = nested[kind].get(summary["id"], [])
            yield summary


BOM = "\ufeff"
FLUSH_ROWS = 200


def local_iso(moment: datetime | None) -> str:
    """A stored UTC moment as ISO 8601 in the display zone (with its offset)."""
    return to_local(moment).isoformat(timespec="seconds") if moment else ""


def filename(fmt: str, kind: str = "contracts") -> str:
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    name = "contracts" if fmt != "csv" or kind == "contracts" else f"contracts-{kind}"
    return f"{name}-{stamp}.{fmt}"


def _text(value, typ: str):
    """A cell as text (CSV) or a JSON value."""
    if value is None:
        return ""
    if typ == "money":
        return f"{Decimal(value):.2f}"
    if isinstance(value, datetime):
        return local_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _json_value(value):
    if value is None:
        return None
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return local_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


# --- CSV ----------------------------------------------------------------------------------------------


def csv_chunks(f: ContractFilter, kind: str = "contracts") -> Iterator[bytes]:
    """A CSV file of one kind of record, as UTF-8 chunks, starting with the byte-order mark."""
    columns = COLUMNS[kind]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([header for _key, header, _typ in columns])
    n = 0
    for row in rows(kind, f):
        # Issue 17 item 6: text cells that would start a formula are neutralized in CSV.
        writer.writerow(
            [
                neutral(_text(row.get(key), typ)) if typ == "text" else _text(row.get(key), typ)
                for key, _header, typ in columns
            ]
        )
        n += 1
        if n % FLUSH_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


# --- JSON ---------------------------------------------------------------------------------------------


def json_chunks(f: ContractFilter) -> Iterator[bytes]:
    """The JSON document, one contract at a time."""
    head = {"exported_at": local_iso(clock.now()), "filter": f.as_dict()}
    yield (json.dumps(head, ensure_ascii=False)[:-1] + ', "contracts": [').encode("utf-8")
    first = True
    for document in contract_documents(f):
        text = json.dumps(_json_value(document), ensure_ascii=False)
        yield (("\n" if first else ",\n") + text).encode("utf-8")
        first = False
    yield b"\n]}\n"


def write_xlsx(f: ContractFilter, out: BinaryIO | str) -> int:
    """The workbook, one sheet per kind, written with openpyxl's write-only mode. Returns the number of
    contracts."""
    # openpyxl is heavy and only this export needs it: imported when a workbook is written.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    contracts = 0
    for kind in EXPORT_KINDS:
        ws = wb.create_sheet(kind)
        columns = COLUMNS[kind]
        header = []
        for _key, title, _typ in columns:
            cell = WriteOnlyCell(ws, value=title)
            cell.font = Font(bold=True)
            header.append(cell)
        ws.append(header)
        ws.freeze_panes = "A2"
        for row in rows(kind, f):
            values = []
            for key, _title, typ in columns:
                value = row.get(key)
                if value is None or value == "":
                    values.append(None)
                elif typ == "money":
                    cell = WriteOnlyCell(ws, value=Decimal(value).quantize(Decimal("0.01")))
                    cell.number_format = "#,##0.00"
                    values.append(cell)
                elif isinstance(value, datetime):
                    values.append(local_iso(value))
                elif isinstance(value, date):
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = "yyyy-mm-dd"
                    values.append(cell)
                else:
                    values.append(value)
            ws.append(values)
            contracts += kind == "contracts"
    wb.save(out)
    return contracts
