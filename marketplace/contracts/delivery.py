"""Delivery of a project-based contract: service records, progress, reports, milestones, final
acceptance (IR 45) and the payments ledger.

Each verb checks its rule, changes rows, writes an audit event and queues notifications; the caller
commits. Service records and acceptance representatives hold counts and names only: anything that
looks like a resident identity number (居民身份证号码) is refused.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.models import (
    ACTIVE,
    COMPLETED,
    DRAFT,
    Acceptance,
    Contract,
    ContractTarget,
    Milestone,
    MilestoneDocument,
    MilestoneSubmission,
    Payment,
    ProgressReport,
    ServiceRecord,
    ServiceRecordDocument,
)
from marketplace.contracts.parties import buyer_officers, supplier_members
from marketplace.core.districts import COMMUNITY, District
from marketplace.core.documents import StoredFile
from marketplace.core.errors import RuleViolation
from marketplace.core.notifications import notify
from marketplace.core.permissions import can
from marketplace.core.templating import money
from marketplace.core.timeutil import local_date
from marketplace.core.validation import check_text
from marketplace.extensions import db
from marketplace.performance import track_record

TEXT_MAX = 5000
NOTES_MAX = 2000
REFERENCE_MAX = 100
NAME_MAX = 60
MAX_REPRESENTATIVES = 6
# Numeric(12, 2) / Numeric(8, 2) / Integer bounds of the columns, so nothing overflows at the database.
QUANTITY_MAX = Decimal("9999999999.99")
HOURS_MAX = Decimal("999999.99")
AMOUNT_MAX = Decimal("999999999999.99")  # Numeric(14, 2)
BENEFICIARIES_MAX = 1_000_000
CENT = Decimal("0.01")

ACTIVITY_TYPES = {
    "home_visit": _l("Home visit (上门服务)"),
    "day_care": _l("Day care (日间照料)"),
    "group_activity": _l("Group activity (小组活动)"),
    "counselling": _l("Counselling (心理咨询)"),
    "training": _l("Training (培训)"),
    "assessment": _l("Assessment (评估)"),
    "referral": _l("Referral (转介)"),
    "other": _l("Other (其他)"),
}

ACCEPTANCE_RESULTS = {"passed": _l("Passed (合格)"), "failed": _l("Failed (不合格)")}

# 18 characters: 17 digits and a digit or X (GB 11643). Full-width digits are folded by NFKC first.
_IDENTITY_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def looks_like_identity_number(text: str | None) -> bool:
    folded = unicodedata.normalize("NFKC", text or "")
    return bool(_IDENTITY_NUMBER.search(folded)) or bool(
        _IDENTITY_NUMBER.search(re.sub(r"[\s\-]", "", folded))
    )


def _refuse_identity_numbers(text: str, field_name: str) -> None:
    if looks_like_identity_number(text):
        raise RuleViolation(
            _(
                "Remove the identity number: records hold counts and names only, never a resident's "
                "identity number (身份证号)."
            ),
            field=field_name,
        )


def _today() -> date:
    return local_date(clock.now())


def _link(contract: Contract) -> str:
    return f"/contracts/{contract.id}"


def _require(actor, action: str, contract: Contract) -> None:
    if not can(actor, action, contract):
        if action == "contract.manage":
            raise RuleViolation(_("Only an officer of the buying agency can do this."))
        raise RuleViolation(_("Only a member of the contracted organization can do this."))


def _require_active(contract: Contract) -> None:
    if contract.status != ACTIVE:
        raise RuleViolation(_("This can be done only while the contract is in force."))


def _within_term(contract: Contract, day: date, field_name: str, label: str) -> None:
    if day > _today():
        raise RuleViolation(_("%(label)s cannot be in the future.", label=label), field=field_name)
    if not contract.term_start <= day <= contract.term_end:
        raise RuleViolation(
            _(
                "%(label)s must fall within the contract term (%(start)s to %(end)s).",
                label=label,
                start=contract.term_start.isoformat(),
                end=contract.term_end.isoformat(),
            ),
            field=field_name,
        )


def _decimal(value, field_name: str, label: str, maximum: Decimal) -> Decimal:
    try:
        number = Decimal(str(value if value is not None else "0").strip() or "0")
    except (InvalidOperation, ValueError):
        raise RuleViolation(_("%(label)s must be a number.", label=label), field=field_name) from None
    if not number.is_finite():
        raise RuleViolation(_("%(label)s must be a number.", label=label), field=field_name)
    if number < 0:
        raise RuleViolation(_("%(label)s cannot be negative.", label=label), field=field_name)
    if number > maximum:
        raise RuleViolation(_("%(label)s is too large.", label=label), field=field_name)
    return number.quantize(CENT)


def _in_area(contract: Contract, community: District) -> bool:
    """The community lies in the tender's service areas (or its district when none are listed)."""
    tender = contract.tender
    areas = {d.code for d in tender.service_areas} or {tender.district_code}
    return any(node.code in areas for node in community.path())


# --- service records ------------------------------------------------------------------------------


@dataclass
class RecordInput:
    service_date: date | None
    activity_type: str
    target_id: int | None = None
    quantity: Decimal | str | None = Decimal("0")
    beneficiaries: int | None = 0
    hours: Decimal | str | None = Decimal("0")
    community_code: str | None = None
    notes: str = ""


def communities_for(contract: Contract) -> list[District]:
    """The communities a service record may name: those within the tender's area."""
    communities = db.session.scalars(
        select(District).where(District.level == COMMUNITY).order_by(District.code)
    )
    return [c for c in communities if _in_area(contract, c)]


def log_service_record(
    contract: Contract, data: RecordInput, files: list[StoredFile], actor
) -> ServiceRecord:
    _require(actor, "contract.deliver", contract)
    _require_active(contract)
    if data.service_date is None:
        raise RuleViolation(_("Service date is required."), field="service_date")
    _within_term(contract, data.service_date, "service_date", _("The service date"))
    if data.activity_type not in ACTIVITY_TYPES:
        raise RuleViolation(_("Choose an activity type from the list."), field="activity_type")
    target = None
    if data.target_id is not None:
        target = db.session.get(ContractTarget, data.target_id)
        if target is None or target.contract_id != contract.id:
            raise RuleViolation(_("Choose a target of this contract."), field="target_id")
    quantity = _decimal(data.quantity, "quantity", _("Quantity"), QUANTITY_MAX)
    hours = _decimal(data.hours, "hours", _("Hours"), HOURS_MAX)
    try:
        beneficiaries = int(data.beneficiaries or 0)
    except (TypeError, ValueError):
        raise RuleViolation(_("Beneficiaries must be a whole number."), field="beneficiaries") from None
    if beneficiaries < 0:
        raise RuleViolation(_("Beneficiaries cannot be negative."), field="beneficiaries")
    if beneficiaries > BENEFICIARIES_MAX:
        raise RuleViolation(_("Beneficiaries is too large."), field="beneficiaries")
    community = None
    if data.community_code:
        community = db.session.get(District, data.community_code)
        if community is None or community.level != COMMUNITY or not _in_area(contract, community):
            raise RuleViolation(
                _("Choose a community within the tender's service area."), field="community_code"
            )
    notes = check_text(data.notes, "notes", _("Notes"), NOTES_MAX, required=False)
    _refuse_identity_numbers(notes, "notes")
    now = clock.now()
    record = ServiceRecord(
        contract_id=contract.id,
        service_date=data.service_date,
        activity_type=data.activity_type,
        target_id=target.id if target else None,
        quantity=quantity,
        beneficiaries=beneficiaries,
        hours=hours,
        community_code=community.code if community else None,
        notes=notes,
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
        f"Service record {record.id}: {data.activity_type} on {data.service_date.isoformat()}",
        {
            "record_id": record.id,
            "activity_type": data.activity_type,
            "target_id": record.target_id,
            "quantity": quantity,
            "beneficiaries": beneficiaries,
            "hours": hours,
            "documents": [f.sha256 for f in files],
        },
        tender_id=contract.tender_id,
    )
    return record


@dataclass
class RecordFilter:
    date_from: date | None = None
    date_to: date | None = None
    activity_type: str | None = None
    target_id: int | None = None


def _latest_first(model, contract: Contract, day):
    """The rows of ``model`` on ``contract``, the latest ``day`` first (then the latest entered)."""
    return select(model).where(model.contract_id == contract.id).order_by(day.desc(), model.id.desc())


def records_query(contract: Contract, f: RecordFilter | None = None):
    f = f or RecordFilter()
    stmt = _latest_first(ServiceRecord, contract, ServiceRecord.service_date)
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
        done = Decimal(str(delivered.get(t.id, 0))).quantize(CENT)
        planned = Decimal(t.quantity)
        percent = int(min(Decimal(100), done * 100 / planned)) if planned > 0 else 0
        rows.append(TargetProgress(t, planned, done, percent))
    return Progress(rows, int(beneficiaries or 0), Decimal(str(hours or 0)).quantize(CENT), int(count or 0))


# --- progress reports -----------------------------------------------------------------------------


def file_progress_report(
    contract: Contract, period_start: date | None, period_end: date | None, summary: str, issues: str, actor
) -> ProgressReport:
    _require(actor, "contract.deliver", contract)
    _require_active(contract)
    if period_start is None:
        raise RuleViolation(_("The start of the period is required."), field="period_start")
    if period_end is None:
        raise RuleViolation(_("The end of the period is required."), field="period_end")
    if period_end < period_start:
        raise RuleViolation(_("The period cannot end before it starts."), field="period_end")
    _within_term(contract, period_start, "period_start", _("The start of the period"))
    _within_term(contract, period_end, "period_end", _("The end of the period"))
    summary = check_text(summary, "summary", _("Summary"), TEXT_MAX)
    issues = check_text(issues, "issues", _("Issues"), TEXT_MAX, required=False)
    _refuse_identity_numbers(summary, "summary")
    _refuse_identity_numbers(issues, "issues")
    report = ProgressReport(
        contract_id=contract.id,
        period_start=period_start,
        period_end=period_end,
        summary=summary,
        issues=issues,
        submitted_at=clock.now(),
        submitted_by_id=actor.id,
    )
    db.session.add(report)
    db.session.flush()
    audit.record(
        actor,
        "contract.progress_reported",
        "contract",
        contract.id,
        f"Progress report {report.id} for {period_start.isoformat()} to {period_end.isoformat()}",
        {"report_id": report.id},
        tender_id=contract.tender_id,
    )
    notify(
        buyer_officers(contract),
        "contract.progress_report",
        f"服务进度报告 / Progress report filed — {contract.title}",
        f"{period_start.isoformat()} – {period_end.isoformat()}",
        f"{_link(contract)}/reports",
    )
    return report


def reports_query(contract: Contract):
    return _latest_first(ProgressReport, contract, ProgressReport.period_end)


# --- milestones -----------------------------------------------------------------------------------


def overdue_days(milestone: Milestone) -> int:
    """Days past due today for a milestone not yet accepted (0 when not overdue)."""
    if milestone.status == "accepted":
        return 0
    return max(0, (_today() - milestone.due_date).days)


def latest_submission(milestone: Milestone) -> MilestoneSubmission | None:
    return milestone.submissions[-1] if milestone.submissions else None


def submit_milestone(
    milestone: Milestone, report: str, files: list[StoredFile], actor
) -> MilestoneSubmission:
    contract = milestone.contract
    _require(actor, "contract.deliver", contract)
    _require_active(contract)
    if milestone.status not in ("pending", "rejected"):
        raise RuleViolation(
            _("This milestone is already submitted or accepted: it cannot be submitted again."),
            field="report",
        )
    report = check_text(report, "report", _("Report"), TEXT_MAX)
    _refuse_identity_numbers(report, "report")
    now = clock.now()
    submission = MilestoneSubmission(
        milestone_id=milestone.id, report=report, submitted_at=now, submitted_by_id=actor.id
    )
    for f in files:
        submission.documents.append(MilestoneDocument(uploaded_at=now, **f.columns()))
    milestone.submissions.append(submission)
    previous = milestone.status
    milestone.status = "submitted"
    db.session.flush()
    audit.record(
        actor,
        "contract.milestone_submitted",
        "contract",
        contract.id,
        f"Milestone {milestone.id} submitted: {milestone.deliverable}",
        {
            "milestone_id": milestone.id,
            "submission_id": submission.id,
            "status": [previous, "submitted"],
            "documents": [f.sha256 for f in files],
        },
        tender_id=contract.tender_id,
    )
    notify(
        buyer_officers(contract),
        "contract.milestone_submitted",
        f"里程碑已提交，待验收 / Milestone submitted for acceptance — {milestone.deliverable}",
        contract.title,
        _link(contract),
    )
    return submission


def _decide(milestone: Milestone, decision: str, reason: str, actor) -> None:
    submission = latest_submission(milestone)
    if submission is not None and submission.decision is None:
        submission.decision = decision
        submission.decision_reason = reason
        submission.decided_at = clock.now()
        submission.decided_by_id = actor.id


def _mark_accepted(milestone: Milestone, actor) -> None:
    milestone.status = "accepted"
    milestone.met_on = _today()
    milestone.accepted_at = clock.now()
    milestone.accepted_by_id = actor.id
    milestone.overdue_days = None
    _decide(milestone, "accepted", "", actor)


def accept_milestone(milestone: Milestone, actor) -> None:
    contract = milestone.contract
    _require(actor, "contract.manage", contract)
    _require_active(contract)
    if milestone.is_final:
        raise RuleViolation(
            _("The final milestone is accepted through the final acceptance (验收), with service recipients.")
        )
    if milestone.status != "submitted":
        raise RuleViolation(_("Only a submitted milestone can be accepted."))
    _mark_accepted(milestone, actor)
    audit.record(
        actor,
        "contract.milestone_accepted",
        "contract",
        contract.id,
        f"Milestone {milestone.id} accepted: {milestone.deliverable}; {money(milestone.amount)} due",
        {"milestone_id": milestone.id, "status": ["submitted", "accepted"], "amount_due": milestone.amount},
        tender_id=contract.tender_id,
    )
    notify(
        supplier_members(contract),
        "contract.milestone_accepted",
        f"里程碑已验收 / Milestone accepted — {milestone.deliverable}",
        f"应付款项 / Payment due: {money(milestone.amount)}",
        _link(contract),
    )


def reject_milestone(milestone: Milestone, reason: str, actor) -> None:
    contract = milestone.contract
    _require(actor, "contract.manage", contract)
    _require_active(contract)
    if milestone.status != "submitted":
        raise RuleViolation(_("Only a submitted milestone can be rejected."), field="reason")
    reason = check_text(reason, "reason", _("Reason"), TEXT_MAX)
    milestone.status = "rejected"
    _decide(milestone, "rejected", reason, actor)
    audit.record(
        actor,
        "contract.milestone_rejected",
        "contract",
        contract.id,
        f"Milestone {milestone.id} rejected: {milestone.deliverable}",
        {"milestone_id": milestone.id, "status": ["submitted", "rejected"], "reason": reason},
        tender_id=contract.tender_id,
    )
    notify(
        supplier_members(contract),
        "contract.milestone_rejected",
        f"里程碑未通过，请重新提交 / Milestone rejected: please resubmit — {milestone.deliverable}",
        reason,
        _link(contract),
    )


# --- final acceptance (IR 45) ---------------------------------------------------------------------


@dataclass
class Representative:
    name: str
    community: str = ""
    role: str = ""


def acceptance_of(contract: Contract) -> Acceptance | None:
    return db.session.scalar(select(Acceptance).where(Acceptance.contract_id == contract.id))


def acceptance_problems(contract: Contract) -> list[str]:
    """Why final acceptance cannot run yet (empty when it can)."""
    problems = []
    if contract.status != ACTIVE:
        problems.append(_("This can be done only while the contract is in force."))
    for m in contract.milestones:
        if not m.is_final and m.status != "accepted":
            problems.append(_("Milestone “%(name)s” is not accepted yet.", name=m.deliverable))
        elif m.is_final and m.status != "submitted":
            problems.append(_("The final milestone “%(name)s” has not been submitted.", name=m.deliverable))
    return problems


def final_acceptance(
    contract: Contract, result: str, summary: str, representatives: list[Representative], actor
) -> Acceptance:
    _require(actor, "contract.manage", contract)
    problems = acceptance_problems(contract)
    if problems:
        raise RuleViolation(problems[0])
    if result not in ACCEPTANCE_RESULTS:
        raise RuleViolation(_("Choose passed or failed."), field="result")
    summary = check_text(summary, "summary", _("Summary"), TEXT_MAX)
    _refuse_identity_numbers(summary, "summary")
    people = []
    for r in representatives:
        name = check_text(r.name, "representatives", _("Name"), NAME_MAX, required=False)
        community = check_text(r.community, "representatives", _("Community"), NAME_MAX * 2, required=False)
        role = check_text(r.role, "representatives", _("Role"), NAME_MAX, required=False)
        if not (name or community or role):
            continue
        if not name:
            raise RuleViolation(_("Each representative needs a name."), field="representatives")
        for text in (name, community, role):
            _refuse_identity_numbers(text, "representatives")
        people.append({"name": name, "community": community, "role": role})
    if not people:
        raise RuleViolation(
            _("At least one service-recipient representative must take part in the acceptance (IR 45)."),
            field="representatives",
        )
    if len(people) > MAX_REPRESENTATIVES:
        raise RuleViolation(
            _("At most %(n)d representatives can be recorded.", n=MAX_REPRESENTATIVES),
            field="representatives",
        )
    now = clock.now()
    acceptance = acceptance_of(contract)
    previous = acceptance.result if acceptance is not None else None
    if acceptance is None:
        # One row per contract: a failed acceptance is repeated after the resubmission and replaces it
        # (the earlier result stays in the audit log).
        acceptance = Acceptance(contract_id=contract.id)
        db.session.add(acceptance)
    acceptance.result = result
    acceptance.summary = summary
    acceptance.recipient_representatives = people
    acceptance.accepted_at = now
    acceptance.accepted_by_id = actor.id
    acceptance.published_at = now
    finals = [m for m in contract.milestones if m.is_final]
    if result == "passed":
        for m in finals:
            _mark_accepted(m, actor)
        contract.status = COMPLETED
        contract.completed_at = now
    else:
        for m in finals:
            m.status = "rejected"
            _decide(m, "rejected", summary, actor)
    db.session.flush()
    audit.record(
        actor,
        "contract.final_acceptance",
        "contract",
        contract.id,
        f"Final acceptance {result} with {len(people)} service-recipient representative(s)",
        {
            "result": [previous, result],
            "representatives": len(people),
            "status": [ACTIVE, contract.status],
        },
        tender_id=contract.tender_id,
    )
    notify(
        supplier_members(contract),
        "contract.final_acceptance",
        (
            f"项目验收合格 / Final acceptance passed — {contract.title}"
            if result == "passed"
            else f"项目验收不合格 / Final acceptance failed — {contract.title}"
        ),
        summary,
        f"{_link(contract)}/acceptance",
    )
    return acceptance


def masked_name(name: str) -> str:
    """A representative's name as published: the surname (first character) and "*"."""
    name = (name or "").strip()
    return f"{name[0]}*" if name else ""


# --- payments -------------------------------------------------------------------------------------


@dataclass
class Ledger:
    value: Decimal
    due: Decimal  # accepted milestones' shares
    paid: Decimal
    balance: Decimal  # value − paid
    outstanding: Decimal  # due − paid, never below 0


def _paid(contract: Contract, milestone: Milestone | None = None) -> Decimal:
    stmt = select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.contract_id == contract.id)
    if milestone is not None:
        stmt = stmt.where(Payment.milestone_id == milestone.id)
    return Decimal(str(db.session.scalar(stmt) or 0)).quantize(CENT)


def ledger(contract: Contract) -> Ledger:
    due = Decimal(
        str(
            db.session.scalar(
                select(func.coalesce(func.sum(Milestone.amount), 0)).where(
                    Milestone.contract_id == contract.id, Milestone.status == "accepted"
                )
            )
            or 0
        )
    ).quantize(CENT)
    paid = _paid(contract)
    value = Decimal(contract.value)
    return Ledger(value, due, paid, value - paid, max(Decimal("0.00"), due - paid))


def unpaid_share(milestone: Milestone) -> Decimal:
    return max(Decimal("0.00"), Decimal(milestone.amount) - _paid(milestone.contract, milestone))


def payments_query(contract: Contract):
    return _latest_first(Payment, contract, Payment.paid_on)


def _lock(contract: Contract) -> Contract:
    """Lock the contract row (PostgreSQL: SELECT … FOR UPDATE) so payments are summed one at a time."""
    return db.session.execute(
        select(Contract)
        .where(Contract.id == contract.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def parse_amount(value) -> Decimal:
    """A payment amount typed by a person: a positive number of yuan with at most two decimals."""
    try:
        amount = Decimal(str(value).strip().replace(",", "").replace("，", ""))
    except (InvalidOperation, ValueError):
        raise RuleViolation(_("Enter the amount as a number, e.g. 84000.00."), field="amount") from None
    if not amount.is_finite():
        raise RuleViolation(_("Enter the amount as a number, e.g. 84000.00."), field="amount")
    if amount <= 0:
        raise RuleViolation(_("The amount must be more than zero."), field="amount")
    if amount > AMOUNT_MAX:
        raise RuleViolation(_("The amount is larger than any contract value."), field="amount")
    if amount != amount.quantize(CENT):
        raise RuleViolation(_("The amount can have at most two decimals (fen)."), field="amount")
    return amount.quantize(CENT)


def record_payment(
    contract: Contract,
    paid_on: date | None,
    amount,
    reference: str,
    milestone: Milestone | None,
    actor,
) -> Payment:
    _require(actor, "contract.manage", contract)
    if contract.status == DRAFT:
        raise RuleViolation(_("No payment can be recorded before the contract is signed."))
    amount = parse_amount(amount)
    if paid_on is None:
        raise RuleViolation(_("The payment date is required."), field="paid_on")
    if paid_on > _today():
        raise RuleViolation(_("The payment date cannot be in the future."), field="paid_on")
    if contract.activated_at is not None and paid_on < local_date(contract.activated_at):
        raise RuleViolation(
            _(
                "The payment date cannot be before the contract was signed (%(date)s).",
                date=local_date(contract.activated_at).isoformat(),
            ),
            field="paid_on",
        )
    reference = check_text(reference, "reference", _("Payment reference"), REFERENCE_MAX)
    if milestone is not None and milestone.contract_id != contract.id:
        raise RuleViolation(_("Choose a milestone of this contract."), field="milestone")
    contract = _lock(contract)
    remaining = Decimal(contract.value) - _paid(contract)
    if amount > remaining:
        raise RuleViolation(
            _(
                "Payments cannot exceed the contract value: %(remaining)s remains to be paid.",
                remaining=money(remaining),
            ),
            field="amount",
        )
    # A poor ex-post grade holds back part of the final payment (FINAL_PAYMENT_HOLDBACK_SHARE): no
    # payment, tied to a milestone or not, may reach into the held-back amount.
    held_back = track_record.holdback_amount(contract)
    if held_back and amount > remaining - held_back:
        raise RuleViolation(
            _(
                "The final ex-post evaluation graded this contract poor: %(held)s is held back, so at "
                "most %(payable)s can be paid now.",
                held=money(held_back),
                payable=money(max(Decimal("0.00"), remaining - held_back)),
            ),
            field="amount",
        )
    if milestone is not None:
        if milestone.status != "accepted":
            raise RuleViolation(
                _("This milestone is not accepted yet: its share is not due."), field="milestone"
            )
        share = unpaid_share(milestone)
        if amount > share:
            raise RuleViolation(
                _(
                    "The payment exceeds the milestone's unpaid share: %(remaining)s remains for it.",
                    remaining=money(share),
                ),
                field="amount",
            )
        held = track_record.holdback_amount(contract) if milestone.is_final else Decimal("0")
        if held and amount > share - held:
            raise RuleViolation(
                _(
                    "The final ex-post evaluation graded this contract poor: %(held)s of the final "
                    "milestone is held back, so at most %(payable)s can be paid for it now.",
                    held=money(held),
                    payable=money(max(Decimal("0.00"), share - held)),
                ),
                field="amount",
            )
    payment = Payment(
        contract_id=contract.id,
        milestone_id=milestone.id if milestone is not None else None,
        paid_on=paid_on,
        amount=amount,
        reference=reference,
        recorded_at=clock.now(),
        recorded_by_id=actor.id,
    )
    db.session.add(payment)
    db.session.flush()
    audit.record(
        actor,
        "contract.payment_recorded",
        "contract",
        contract.id,
        f"Payment of {money(amount)} on {paid_on.isoformat()} ({reference})",
        {
            "payment_id": payment.id,
            "amount": amount,
            "milestone_id": payment.milestone_id,
            "remaining_after": remaining - amount,
        },
        tender_id=contract.tender_id,
    )
    notify(
        supplier_members(contract),
        "contract.payment",
        f"已付款 / Payment recorded — {contract.title}",
        f"{money(amount)} · {paid_on.isoformat()} · {reference}",
        f"{_link(contract)}/payments",
    )
    return payment
