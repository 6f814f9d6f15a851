"""The rows of the contract exports: one set-based SELECT per kind of record (nothing here changes a row).

Each kind is a single query over the matching contracts, with its joins and grouped subqueries, ordered
by contract id and then as the kind's own order; its cells come formatted by the database
(:mod:`marketplace.audit.export_sql`) as tuples in the column order of
:data:`~marketplace.audit.export_columns.COLUMNS`, streamed from a server-side cursor. So memory stays
flat however many contracts match, and a CSV row goes straight from the cursor into the writer.
Service-record detail never leaves as rows: only monthly totals, and acceptance representatives only as
a count. The history kind is in :mod:`marketplace.audit.export_history`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import String, case, cast, func, select
from sqlalchemy.sql.util import find_tables

from marketplace.audit.export_columns import COLUMNS
from marketplace.audit.export_history import history_rows
from marketplace.audit.export_sql import (
    array_length,
    iso_date,
    local_day,
    local_moment,
    money,
    month_of,
    stream,
)
from marketplace.audit.filters import ContractFilter, conditions, contract_date
from marketplace.auth.models import Agency, User
from marketplace.contracts.models import Acceptance, Contract, Milestone, Payment, ServiceRecord, Variation
from marketplace.core import labels
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.orgs.models import Organization
from marketplace.performance.models import Evaluation, IndicatorTemplate
from marketplace.tenders.committee.models import Award
from marketplace.tenders.models import Tender


def matching(f: ContractFilter):
    """The matching contracts (id, reference, tender, organization) as a subquery; joined with their
    tenders only when the filter asks about them (district, category)."""
    where = conditions(f)
    stmt = select(Contract.id, Contract.reference, Contract.tender_id, Contract.organization_id)
    if any(Tender.__table__ in find_tables(condition, check_columns=True) for condition in where):
        stmt = stmt.join(Tender, Tender.id == Contract.tender_id)
    return stmt.where(*where).subquery("matching")


def _contracts(f: ContractFilter):
    """One row per matching contract: its columns, the parties' names and the totals of its milestones,
    payments, approved variations and service records (grouped subqueries joined once)."""
    accepted = Milestone.status == "accepted"
    milestones = (
        select(
            Milestone.contract_id,
            func.count(Milestone.id).label("n"),
            func.sum(case((accepted, 1), else_=0)).label("accepted"),
            func.sum(case((accepted, Milestone.amount), else_=0)).label("due"),
        )
        .group_by(Milestone.contract_id)
        .subquery("m")
    )
    paid = (
        select(Payment.contract_id, func.sum(Payment.amount).label("total"))
        .group_by(Payment.contract_id)
        .subquery("p")
    )
    variations = (
        select(Variation.contract_id, func.count(Variation.id).label("n"))
        .where(Variation.status == "approved")
        .group_by(Variation.contract_id)
        .subquery("v")
    )
    services = (
        select(
            ServiceRecord.contract_id,
            func.count(ServiceRecord.id).label("n"),
            func.sum(ServiceRecord.beneficiaries).label("beneficiaries"),
            func.sum(ServiceRecord.hours).label("hours"),
        )
        .group_by(ServiceRecord.contract_id)
        .subquery("s")
    )
    paid_total = func.coalesce(paid.c.total, 0)
    return (
        select(
            Contract.id,
            Contract.reference,
            Contract.title,
            Contract.status,
            labelled(Contract.status, "contract"),
            func.coalesce(Tender.reference, ""),
            Tender.category,
            labelled(Tender.category, names=SERVICE_CATEGORIES),
            Tender.district_code,
            Agency.name,
            Organization.name,
            Organization.uscc,
            local_moment(Award.published_at),
            local_day(contract_date()),
            iso_date(Contract.term_start),
            iso_date(Contract.term_end),
            money(Contract.original_value),
            money(Contract.value),
            money(func.coalesce(milestones.c.due, 0)),
            money(paid_total),
            money(Contract.value - paid_total),
            func.coalesce(milestones.c.n, 0),
            func.coalesce(milestones.c.accepted, 0),
            func.coalesce(variations.c.n, 0),
            func.coalesce(services.c.n, 0),
            func.coalesce(services.c.beneficiaries, 0),
            money(func.coalesce(services.c.hours, 0)),
            func.coalesce(Acceptance.result, ""),
            labelled(Acceptance.result, "acceptance"),
            array_length(Acceptance.recipient_representatives),
            local_moment(Contract.officer_signed_at),
            local_moment(Contract.org_signed_at),
            local_moment(Contract.completed_at),
            local_moment(Contract.terminated_at),
        )
        .join(Tender, Tender.id == Contract.tender_id)
        .join(Agency, Agency.id == Contract.agency_id)
        .join(Organization, Organization.id == Contract.organization_id)
        .outerjoin(Award, Award.id == Contract.award_id)
        .outerjoin(milestones, milestones.c.contract_id == Contract.id)
        .outerjoin(paid, paid.c.contract_id == Contract.id)
        .outerjoin(variations, variations.c.contract_id == Contract.id)
        .outerjoin(services, services.c.contract_id == Contract.id)
        .outerjoin(Acceptance, Acceptance.contract_id == Contract.id)
        .where(*conditions(f))
        .order_by(Contract.id)
    )


def labelled(code, machine: str | None = None, names: dict | None = None):
    """The label of ``code`` (a column) in the current language, as SQL: one CASE over the machine's
    states (:mod:`marketplace.core.labels`) or ``names``; an unknown code shows as itself, NULL as ''."""
    names = names if names is not None else {state: lab.text for state, lab in labels.states(machine).items()}
    whens = {state: str(text) for state, text in names.items()}
    return case(whens, value=code, else_=func.coalesce(code, "")) if whens else func.coalesce(code, "")


def _milestones(f: ContractFilter):
    m = matching(f)
    return (
        select(
            Milestone.contract_id,
            m.c.reference,
            Milestone.position + 1,
            Milestone.deliverable,
            Milestone.kind,
            labelled(Milestone.kind, "milestone_kind"),
            iso_date(Milestone.due_date),
            money(Milestone.amount),
            case((Milestone.is_final, "yes"), else_=""),
            Milestone.status,
            labelled(Milestone.status, "milestone"),
            iso_date(Milestone.met_on),
            Milestone.overdue_days,
        )
        .join(m, m.c.id == Milestone.contract_id)
        .order_by(Milestone.contract_id, Milestone.position, Milestone.id)
    )


def _payments(f: ContractFilter):
    m = matching(f)
    return (
        select(
            Payment.contract_id,
            m.c.reference,
            Payment.id,
            iso_date(Payment.paid_on),
            money(Payment.amount),
            Payment.reference,
            Payment.milestone_id,
            local_moment(Payment.recorded_at),
        )
        .join(m, m.c.id == Payment.contract_id)
        .order_by(Payment.contract_id, Payment.paid_on, Payment.id)
    )


def _variations(f: ContractFilter):
    m = matching(f)
    return (
        select(
            Variation.contract_id,
            m.c.reference,
            Variation.id,
            Variation.status,
            labelled(Variation.status, "variation"),
            Variation.reason,
            Variation.changes,
            Variation.previous,
            local_moment(Variation.requested_at),
            local_moment(Variation.decided_at),
            Variation.decision_note,
        )
        .join(m, m.c.id == Variation.contract_id)
        .order_by(Variation.contract_id, Variation.id)
    )


def _terms(value) -> str:
    return json.dumps(value or {}, ensure_ascii=False, sort_keys=True)


def _variation_row(row) -> tuple:
    """The changed and previous terms as JSON text with sorted keys (few rows: formatted here)."""
    return (*row[:6], _terms(row[6]), _terms(row[7]), *row[8:])


def _service_totals(f: ContractFilter):
    m = matching(f)
    month = month_of(ServiceRecord.service_date)
    return (
        select(
            ServiceRecord.contract_id,
            m.c.reference,
            month,
            func.count(ServiceRecord.id),
            money(func.sum(ServiceRecord.quantity)),
            func.sum(ServiceRecord.beneficiaries),
            money(func.sum(ServiceRecord.hours)),
        )
        .join(m, m.c.id == ServiceRecord.contract_id)
        .group_by(ServiceRecord.contract_id, m.c.reference, month)
        .order_by(ServiceRecord.contract_id, month)
    )


def _evaluations(f: ContractFilter):
    """Performance-evaluation rounds (绩效评价): stage, assessor, template, total and grade."""
    m = matching(f)
    return (
        select(
            Evaluation.contract_id,
            m.c.reference,
            Evaluation.stage,
            labelled(Evaluation.stage, "evaluation_stage"),
            Evaluation.status,
            labelled(Evaluation.status, "evaluation"),
            User.name,
            IndicatorTemplate.name + " (v" + cast(IndicatorTemplate.version, String) + ")",
            money(Evaluation.total),
            func.coalesce(Evaluation.grade, ""),
            labelled(Evaluation.grade, "evaluation_grade"),
            local_moment(Evaluation.submitted_at),
        )
        .join(m, m.c.id == Evaluation.contract_id)
        .join(User, User.id == Evaluation.assessor_id)
        .join(IndicatorTemplate, IndicatorTemplate.id == Evaluation.template_id)
        .order_by(Evaluation.contract_id, Evaluation.id)
    )


_QUERIES = {
    "contracts": _contracts,
    "milestones": _milestones,
    "payments": _payments,
    "variations": _variations,
    "service_record_totals": _service_totals,
    "evaluations": _evaluations,
}


def query(kind: str, f: ContractFilter):
    """The query of one kind other than history (its cells formatted, in the order of ``COLUMNS``)."""
    if kind not in _QUERIES:
        raise ValueError(f"unknown kind {kind!r}")
    return _QUERIES[kind](f)


def partitions(kind: str, f: ContractFilter) -> Iterator[list]:
    """Every row of one kind for the matching contracts, as tuples of formatted cells in the order of
    ``COLUMNS[kind]``, in partitions as the server-side cursor delivers them. Call inside
    :func:`~marketplace.audit.export_sql.formatting_session`."""
    if kind == "history":
        yield from history_rows(matching(f))
        return
    for part in stream(query(kind, f)):
        yield [_variation_row(r) for r in part] if kind == "variations" else part


def keys(kind: str) -> list[str]:
    return [key for key, _header, _typ in COLUMNS[kind]]
