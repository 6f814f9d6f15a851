"""Contract histories and the rows of contract exports (read-only: nothing here changes a row).

A contract's history is one timeline from the tender draft to the last payment, built from the audit
events of its tender and of the contract (bid events only once the tender's bids were opened) plus
two kinds of domain rows: service records summed per month, and payments that have no audit event of
their own (rows loaded in bulk).

Export rows are read in batches of contracts by keyset pagination (``id > last``), as plain column
tuples (no ORM identity map), so memory stays flat however many contracts match. Service-record
detail never leaves as rows: only monthly totals, and acceptance representatives only as a count.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import has_request_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select

from marketplace.audit.models import AuditEvent
from marketplace.audit.sealed import sealed_bid_event_filter
from marketplace.auth.models import Agency, User
from marketplace.contracts.models import (
    CONTRACT_STATUSES,
    Acceptance,
    Contract,
    Milestone,
    Payment,
    ServiceRecord,
    Variation,
)
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.districts import District
from marketplace.core.errors import RuleViolation
from marketplace.core.timeutil import local_date, parse_local_date, start_of_local_day, to_local
from marketplace.extensions import db
from marketplace.orgs.models import Organization
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.models import Tender

BATCH = 500  # contracts per keyset page
CENT = Decimal("0.01")

# --- filters ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractFilter:
    """Which contracts an index page or an export covers. ``date_from``/``date_to`` are local dates of
    the contract date: the day both parties signed (or the day it was drafted, while unsigned)."""

    district: str | None = None
    agency_id: int | None = None
    organization_id: int | None = None
    category: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    status: str | None = None

    def as_dict(self) -> dict:
        """The filter as given (for the audit event and the export header), empty values left out."""
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items() if v}

    def query_args(self) -> dict:
        """The filter as the index page's query string (``from``/``to`` for the dates)."""
        names = {
            "agency_id": "agency",
            "organization_id": "organization",
            "date_from": "from",
            "date_to": "to",
        }
        return {names.get(k, k): v for k, v in self.as_dict().items()}


def _int_arg(value, field_name: str, label: str) -> int | None:
    value = (value or "").strip() if isinstance(value, str) else value
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise RuleViolation(_("%(label)s must be a number.", label=label), field=field_name) from None
    if number < 1 or number > 2**31 - 1:  # an INTEGER column
        raise RuleViolation(_("%(label)s must be a number.", label=label), field=field_name)
    return number


def _date_arg(value, field_name: str, label: str) -> date | None:
    if isinstance(value, date):
        return value
    return parse_local_date(value, label, field=field_name)


def parse_filter(args: Mapping) -> ContractFilter:
    """A filter from query-string or command-line values. Raises :class:`RuleViolation` on a bad value.

    Keys: ``district`` (a county code), ``agency`` and ``organization`` (ids), ``category``,
    ``from``/``to`` (YYYY-MM-DD) and ``status``."""
    district = (args.get("district") or "").strip() or None
    # Codes are digits (GB/T 2260); anything else is not looked up (PostgreSQL refuses NUL bytes).
    if district is not None and (
        not re.fullmatch(r"[0-9]{6,12}", district) or db.session.get(District, district) is None
    ):
        raise RuleViolation(_("Unknown district code %(code)s.", code=district[:12]), field="district")
    category = (args.get("category") or "").strip() or None
    if category is not None and category not in SERVICE_CATEGORIES:
        raise RuleViolation(_("Unknown service category %(c)s.", c=category[:40]), field="category")
    status = (args.get("status") or "").strip() or None
    if status is not None and status not in CONTRACT_STATUSES:
        raise RuleViolation(
            _("Unknown status %(s)s: use one of %(all)s.", s=status[:20], all=", ".join(CONTRACT_STATUSES)),
            field="status",
        )
    date_from = _date_arg(args.get("from"), "from", _("The start date"))
    date_to = _date_arg(args.get("to"), "to", _("The end date"))
    if date_from and date_to and date_to < date_from:
        raise RuleViolation(_("The end date cannot be before the start date."), field="to")
    return ContractFilter(
        district=district,
        agency_id=_int_arg(args.get("agency"), "agency", _("The agency")),
        organization_id=_int_arg(args.get("organization"), "organization", _("The organization")),
        category=category,
        date_from=date_from,
        date_to=date_to,
        status=status,
    )


def contract_date():
    """The contract date: both signatures (activation), or the drafting while it is unsigned."""
    return func.coalesce(Contract.activated_at, Contract.created_at)


def _conditions(f: ContractFilter) -> list:
    conditions = []
    if f.district:
        conditions.append(Tender.district_code == f.district)
    if f.category:
        conditions.append(Tender.category == f.category)
    if f.agency_id:
        conditions.append(Contract.agency_id == f.agency_id)
    if f.organization_id:
        conditions.append(Contract.organization_id == f.organization_id)
    if f.status:
        conditions.append(Contract.status == f.status)
    if f.date_from:
        conditions.append(contract_date() >= start_of_local_day(f.date_from))
    if f.date_to:
        conditions.append(contract_date() < start_of_local_day(f.date_to + timedelta(days=1)))
    return conditions


def contracts_query(f: ContractFilter):
    """The index page's query: matching contracts, newest first."""
    return (
        select(Contract)
        .join(Tender, Tender.id == Contract.tender_id)
        .where(*_conditions(f))
        .order_by(contract_date().desc(), Contract.id.desc())
    )


def count(f: ContractFilter) -> int:
    return db.session.scalar(
        select(func.count(Contract.id)).join(Tender, Tender.id == Contract.tender_id).where(*_conditions(f))
    )


def filter_choices() -> dict:
    """Options for the filter form's selects."""
    from marketplace.core.districts import counties

    return {
        "districts": counties(),
        "agencies": db.session.scalars(select(Agency).order_by(Agency.name)).all(),
        "organizations": db.session.scalars(
            select(Organization)
            .where(Organization.id.in_(select(Contract.organization_id)))
            .order_by(Organization.name)
        ).all(),
        "categories": SERVICE_CATEGORIES,
        "statuses": CONTRACT_STATUSES,
    }


# --- contract history ---------------------------------------------------------------------------------

# kind → label; the order is the order of a typical procedure.
KINDS = {
    "draft": _l("Tender drafted"),
    "publication": _l("Publication"),
    "document": _l("Tender documents"),
    "amendment": _l("Amendment"),
    "clarification": _l("Clarification"),
    "cancellation": _l("Cancellation"),
    "bid": _l("Bid"),
    "opening": _l("Bid opening"),
    "committee": _l("Evaluation committee"),
    "qualification": _l("Qualification"),
    "scores": _l("Scores and ranking"),
    "failure": _l("Tender failed"),
    "award": _l("Award notice"),
    "challenge": _l("Challenge"),
    "contract": _l("Contract"),
    "signature": _l("Signature"),
    "variation": _l("Variation"),
    "service_totals": _l("Service records (monthly total)"),
    "report": _l("Progress report"),
    "milestone": _l("Milestone"),
    "acceptance": _l("Final acceptance"),
    "payment": _l("Payment"),
    "termination": _l("Termination"),
    "performance": _l("Performance evaluation"),
    "reminder": _l("Reminder"),
    "other": _l("Other"),
}

_ACTION_KINDS = {
    "tender.create": "draft",
    "tender.update": "draft",
    "tender.publish": "publication",
    "tender.add_document": "document",
    "tender.remove_document": "document",
    "tender.amend": "amendment",
    "tender.cancel": "cancellation",
    "clarification.ask": "clarification",
    "clarification.answer": "clarification",
    "tender.open_bids": "opening",
    "bid.qualify": "qualification",
    "bid.price_review": "qualification",
    "committee.save_scores": "scores",
    "committee.submit_scores": "scores",
    "evaluation.conclude": "scores",
    "evaluation.sign_off": "committee",
    "tender.fail": "failure",
    "tender.retender": "failure",
    "award.publish": "award",
    "award.final": "award",
    "contract.sign": "signature",
    "contract.terminate": "termination",
    "contract.progress_reported": "report",
    "contract.final_acceptance": "acceptance",
    "contract.payment_recorded": "payment",
}
_PREFIX_KINDS = {
    "bid.": "bid",
    "committee.": "committee",
    "challenge.": "challenge",
    "contract.variation.": "variation",
    "evaluation_round.": "performance",
    "contract.milestone_": "milestone",
    "contract.": "contract",
}

# What the contracted organization's members see of the tender stage: the public steps, their own
# bids and challenges, never the committee's work, other bidders' steps or who asked a question.
_SUPPLIER_HIDDEN_KINDS = {"draft", "document", "committee", "qualification", "scores", "bid"}
_SUPPLIER_HIDDEN_ACTIONS = {"clarification.ask", "challenge.file"}


def kind_of(action: str) -> str:
    if action in _ACTION_KINDS:
        return _ACTION_KINDS[action]
    for prefix, kind in _PREFIX_KINDS.items():
        if action.startswith(prefix):
            return kind
    return "other"


def kind_label(kind: str) -> str:
    return str(KINDS.get(kind, kind))


@dataclass
class Entry:
    """One step of a contract's history."""

    at: datetime
    kind: str
    text: str
    party: str  # the agency, the organization, the committee, or "system"
    account: str  # the account that acted, as the audit log recorded it (auditors' view only)
    action: str = ""
    link: str = ""
    event_id: int | None = None

    @property
    def label(self) -> str:
        return kind_label(self.kind)


@dataclass
class _ContractKey:
    id: int
    tender_id: int
    reference: str = ""
    organization_id: int | None = None


@dataclass
class _Parties:
    """Who each acting account speaks for: its agency or organization, or its role."""

    labels: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, user_ids: Iterable[int]) -> _Parties:
        ids = {i for i in user_ids if i}
        if not ids:
            return cls()
        rows = db.session.execute(
            select(User.id, User.role, Agency.name, Organization.name)
            .outerjoin(Agency, Agency.id == User.agency_id)
            .outerjoin(Organization, Organization.id == User.organization_id)
            .where(User.id.in_(ids))
        ).all()
        roles = {
            "evaluator": "评标委员会 Evaluation committee",
            "auditor": "审计 Auditor",
            "admin": "平台管理员 Administrator",
        }
        return cls({uid: agency or org or roles.get(role, role) for uid, role, agency, org in rows})

    def of(self, user_id: int | None) -> str:
        return self.labels.get(user_id, "system") if user_id else "system"


def _link(event_type: str, tender_id: int | None, contract_id: int, kind: str) -> str:
    if not has_request_context():
        return ""
    if kind in ("opening",) and tender_id:
        return url_for("bids.opening", tender_id=tender_id)
    if kind in ("award", "challenge", "committee", "qualification", "scores") and tender_id:
        return url_for("committee.notice", tender_id=tender_id)
    if kind == "payment":
        return url_for("contracts.payments", contract_id=contract_id)
    if event_type == "contract" or kind in ("contract", "signature", "variation", "milestone", "termination"):
        return url_for("contracts.detail", contract_id=contract_id)
    if kind == "acceptance":
        return url_for("contracts.acceptance", contract_id=contract_id)
    if kind == "report":
        return url_for("contracts.reports", contract_id=contract_id)
    if tender_id and kind not in ("draft", "bid"):
        return url_for("tenders.detail", tender_id=tender_id)
    return ""


def histories(contracts: list, supplier_view: bool = False) -> dict[int, list[Entry]]:
    """The history of each contract (objects with ``id``, ``tender_id`` and ``organization_id``),
    oldest first, in a handful of queries for the whole batch.

    ``supplier_view``: the organization's members' view (see ``_SUPPLIER_HIDDEN_KINDS``), with the
    party but not the account of each step."""
    keys = [
        _ContractKey(c.id, c.tender_id, getattr(c, "reference", ""), c.organization_id) for c in contracts
    ]
    if not keys:
        return {}
    by_tender = {k.tender_id: k for k in keys}
    by_id = {k.id: k for k in keys}
    events = db.session.execute(
        select(
            AuditEvent.id,
            AuditEvent.occurred_at,
            AuditEvent.actor_id,
            AuditEvent.actor_label,
            AuditEvent.action,
            AuditEvent.object_type,
            AuditEvent.object_id,
            AuditEvent.summary,
            AuditEvent.changes,
            AuditEvent.tender_id,
        )
        .where(
            or_(
                AuditEvent.tender_id.in_(list(by_tender)),
                and_(AuditEvent.object_type == "contract", AuditEvent.object_id.in_([str(i) for i in by_id])),
            ),
            # Bid events stay sealed until the tender's bids are opened.
            sealed_bid_event_filter(),
            # Service records appear as monthly totals (below), not one line per record.
            AuditEvent.action != "contract.service_logged",
        )
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    ).all()
    own_bids: set[str] = set()
    if supplier_view:
        own_bids = {
            str(i)
            for i in db.session.scalars(
                select(Bid.id).where(
                    Bid.tender_id.in_(list(by_tender)),
                    Bid.organization_id.in_([k.organization_id for k in keys]),
                )
            )
        }
    parties = _Parties.load(e.actor_id for e in events)
    out: dict[int, list[Entry]] = {k.id: [] for k in keys}
    paid_with_event: set[int] = set()
    for e in events:
        key = by_id.get(int(e.object_id)) if e.object_type == "contract" else None
        key = key or by_tender.get(e.tender_id)
        if key is None:
            continue
        kind = kind_of(e.action)
        if kind == "payment" and e.changes and e.changes.get("payment_id"):
            paid_with_event.add(int(e.changes["payment_id"]))
        if supplier_view:
            own = e.object_type == "bid" and e.object_id in own_bids
            if (kind in _SUPPLIER_HIDDEN_KINDS and not own) or e.action in _SUPPLIER_HIDDEN_ACTIONS:
                continue
        out[key.id].append(
            Entry(
                at=e.occurred_at,
                kind=kind,
                text=e.summary,
                party=parties.of(e.actor_id),
                account="" if supplier_view else e.actor_label,
                action=e.action,
                link=_link(e.object_type, e.tender_id, key.id, kind),
                event_id=e.id,
            )
        )
    _add_payments(out, paid_with_event, supplier_view)
    _add_service_totals(out, supplier_view)
    for entries in out.values():
        entries.sort(key=lambda x: (x.at, x.event_id or 0))
    return out


def _add_payments(out: dict[int, list[Entry]], paid_with_event: set[int], supplier_view: bool) -> None:
    """Payments without an audit event of their own (e.g. loaded in bulk) still appear."""
    rows = db.session.execute(
        select(
            Payment.id,
            Payment.contract_id,
            Payment.paid_on,
            Payment.amount,
            Payment.reference,
            Payment.recorded_at,
            Payment.recorded_by_id,
        ).where(Payment.contract_id.in_(list(out)))
    ).all()
    rows = [r for r in rows if r.id not in paid_with_event]
    parties = _Parties.load(r.recorded_by_id for r in rows)
    accounts = (
        dict(
            db.session.execute(
                select(User.id, User.email).where(User.id.in_({r.recorded_by_id for r in rows}))
            ).all()
        )
        if rows and not supplier_view
        else {}
    )
    for r in rows:
        out[r.contract_id].append(
            Entry(
                at=r.recorded_at,
                kind="payment",
                text=f"Payment of ¥{Decimal(r.amount):,.2f} on {r.paid_on.isoformat()} ({r.reference})",
                party=parties.of(r.recorded_by_id),
                account=accounts.get(r.recorded_by_id, ""),
                action="payment",
                link=_link("contract", None, r.contract_id, "payment"),
            )
        )


def _add_service_totals(out: dict[int, list[Entry]], supplier_view: bool) -> None:
    for t in service_totals(list(out)):
        out[t["contract_id"]].append(
            Entry(
                # Placed at the last record logged for that month, so the timeline stays in order.
                at=t["last_recorded_at"],
                kind="service_totals",
                text=(
                    f"{t['month']}: {t['records']} record(s), quantity {t['quantity']}, "
                    f"{t['beneficiaries']} beneficiaries, {t['hours']} hours"
                ),
                party=t["organization"],
                account="",
                action="service_totals",
                link=url_for("contracts.records", contract_id=t["contract_id"])
                if has_request_context()
                else "",
            )
        )


def history(contract: Contract, supplier_view: bool = False) -> list[Entry]:
    """One timeline from the tender draft to the last payment, oldest first."""
    return histories([contract], supplier_view)[contract.id]


def is_supplier_view(user, contract: Contract) -> bool:
    """Whether ``user`` sees the contract's history as its supplier does (the buyer's accounts hidden):
    a member of the contracted organization who is not also the buyer, an auditor or an admin."""
    from marketplace.contracts.policy import is_buyer, is_supplier
    from marketplace.core.permissions import ADMIN, AUDITOR

    full = is_buyer(user, contract) or user.role in (AUDITOR, ADMIN)
    return not full and is_supplier(user, contract)


# --- monthly service totals -------------------------------------------------------------------------


def service_totals(contract_ids: list[int]) -> Iterator[dict]:
    """Service records summed per contract and local month, streamed in (contract, date) order."""
    if not contract_ids:
        return
    orgs = dict(
        db.session.execute(
            select(Contract.id, Organization.name)
            .join(Organization, Organization.id == Contract.organization_id)
            .where(Contract.id.in_(contract_ids))
        ).all()
    )
    stmt = (
        select(
            ServiceRecord.contract_id,
            ServiceRecord.service_date,
            ServiceRecord.quantity,
            ServiceRecord.beneficiaries,
            ServiceRecord.hours,
            ServiceRecord.recorded_at,
        )
        .where(ServiceRecord.contract_id.in_(contract_ids))
        .order_by(ServiceRecord.contract_id, ServiceRecord.service_date, ServiceRecord.id)
        .execution_options(yield_per=2000)
    )
    current = None
    for cid, day, quantity, beneficiaries, hours, recorded_at in db.session.execute(stmt):
        month = f"{day.year:04d}-{day.month:02d}"
        if current is None or (current["contract_id"], current["month"]) != (cid, month):
            if current is not None:
                yield current
            current = {
                "contract_id": cid,
                "organization": orgs.get(cid, ""),
                "month": month,
                "records": 0,
                "quantity": Decimal("0"),
                "beneficiaries": 0,
                "hours": Decimal("0"),
                "last_recorded_at": recorded_at,
            }
        current["records"] += 1
        current["quantity"] += Decimal(quantity or 0)
        current["beneficiaries"] += int(beneficiaries or 0)
        current["hours"] += Decimal(hours or 0)
        current["last_recorded_at"] = max(current["last_recorded_at"], recorded_at)
    if current is not None:
        yield current


# --- export rows -------------------------------------------------------------------------------------

# Sheets (and ``--kind`` values) in the order an XLSX workbook holds them.
EXPORT_KINDS = (
    "contracts",
    "milestones",
    "payments",
    "variations",
    "service_record_totals",
    "evaluations",
    "history",
)

# Columns per kind: (key, header). Headers are bilingual and fixed, so a file reads the same whoever
# exported it; JSON uses the keys. Types: "money" (2 decimals), "date", "datetime", "int", "text".
COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "contracts": [
        ("id", "编号 ID", "int"),
        ("reference", "合同编号 Reference", "text"),
        ("title", "合同名称 Title", "text"),
        ("status", "状态 Status", "text"),
        ("tender_reference", "项目编号 Tender reference", "text"),
        ("category", "服务类别 Category", "text"),
        ("district", "区县 District", "text"),
        ("agency", "采购单位 Agency", "text"),
        ("organization", "承接机构 Organization", "text"),
        ("organization_uscc", "统一社会信用代码 USCC", "text"),
        ("award_published_at", "中标公告时间 Award published", "datetime"),
        ("contract_date", "合同日期 Contract date", "date"),
        ("term_start", "服务期起 Term start", "date"),
        ("term_end", "服务期止 Term end", "date"),
        ("original_value", "合同原金额 Original value", "money"),
        ("value", "合同金额 Value", "money"),
        ("due_total", "已验收应付 Due (accepted milestones)", "money"),
        ("paid_total", "已支付 Paid", "money"),
        ("remaining", "未支付 Remaining", "money"),
        ("milestones", "里程碑数 Milestones", "int"),
        ("milestones_accepted", "已验收里程碑 Milestones accepted", "int"),
        ("variations_approved", "已批准变更 Variations approved", "int"),
        ("service_records", "服务记录数 Service records", "int"),
        ("beneficiaries", "服务人次 Beneficiaries", "int"),
        ("hours", "服务时长 Hours", "money"),
        ("acceptance_result", "终期验收结果 Final acceptance", "text"),
        ("acceptance_representatives", "服务对象代表人数 Recipient representatives", "int"),
        ("officer_signed_at", "采购单位签署 Signed by the agency", "datetime"),
        ("org_signed_at", "机构签署 Signed by the organization", "datetime"),
        ("completed_at", "完成时间 Completed", "datetime"),
        ("terminated_at", "终止时间 Terminated", "datetime"),
    ],
    "milestones": [
        ("contract_id", "合同 ID Contract ID", "int"),
        ("contract_reference", "合同编号 Contract reference", "text"),
        ("position", "序号 Position", "int"),
        ("deliverable", "交付内容 Deliverable", "text"),
        ("kind", "类型 Kind", "text"),
        ("due_date", "到期日 Due date", "date"),
        ("amount", "付款金额 Amount", "money"),
        ("is_final", "终期 Final", "text"),
        ("status", "状态 Status", "text"),
        ("met_on", "完成日 Met on", "date"),
        ("overdue_days", "逾期天数 Days overdue", "int"),
    ],
    "payments": [
        ("contract_id", "合同 ID Contract ID", "int"),
        ("contract_reference", "合同编号 Contract reference", "text"),
        ("id", "支付 ID Payment ID", "int"),
        ("paid_on", "支付日期 Paid on", "date"),
        ("amount", "金额 Amount", "money"),
        ("reference", "凭证号 Reference", "text"),
        ("milestone_id", "里程碑 ID Milestone ID", "int"),
        ("recorded_at", "登记时间 Recorded", "datetime"),
    ],
    "variations": [
        ("contract_id", "合同 ID Contract ID", "int"),
        ("contract_reference", "合同编号 Contract reference", "text"),
        ("id", "变更 ID Variation ID", "int"),
        ("status", "状态 Status", "text"),
        ("reason", "理由 Reason", "text"),
        ("changes", "变更内容 Changes", "text"),
        ("previous", "变更前 Previous terms", "text"),
        ("requested_at", "申请时间 Requested", "datetime"),
        ("decided_at", "决定时间 Decided", "datetime"),
        ("decision_note", "决定说明 Decision note", "text"),
    ],
    "service_record_totals": [
        ("contract_id", "合同 ID Contract ID", "int"),
        ("contract_reference", "合同编号 Contract reference", "text"),
        ("month", "月份 Month", "text"),
        ("records", "记录数 Records", "int"),
        ("quantity", "数量 Quantity", "money"),
        ("beneficiaries", "服务人次 Beneficiaries", "int"),
        ("hours", "服务时长 Hours", "money"),
    ],
    "evaluations": [
        ("contract_id", "合同 ID Contract ID", "int"),
        ("contract_reference", "合同编号 Contract reference", "text"),
        ("stage", "评价阶段 Stage", "text"),
        ("status", "状态 Status", "text"),
        ("assessor", "评价人员 Assessor", "text"),
        ("template", "指标体系 Indicator template", "text"),
        ("total", "总分 Total score", "money"),
        ("grade", "等级 Grade", "text"),
        ("submitted_at", "提交时间 Submitted", "datetime"),
    ],
    "history": [
        ("contract_id", "合同 ID Contract ID", "int"),
        ("contract_reference", "合同编号 Contract reference", "text"),
        ("at", "时间 Time", "datetime"),
        ("kind", "环节 Kind", "text"),
        ("action", "操作 Action", "text"),
        ("party", "主体 Party", "text"),
        ("account", "账号 Account", "text"),
        ("text", "内容 Text", "text"),
    ],
}


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
        .where(*_conditions(f))
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


def _contract_summaries(batch: list) -> Iterator[dict]:
    ids = [r.id for r in batch]
    in_batch = lambda col: col.in_(ids)  # noqa: E731
    milestones = _grouped(
        select(
            Milestone.contract_id,
            func.count(Milestone.id),
            func.sum(case((Milestone.status == "accepted", 1), else_=0)),
            func.sum(case((Milestone.status == "accepted", Milestone.amount), else_=0)),
        )
        .where(in_batch(Milestone.contract_id))
        .group_by(Milestone.contract_id)
    )
    paid = _grouped(
        select(Payment.contract_id, func.coalesce(func.sum(Payment.amount), 0))
        .where(in_batch(Payment.contract_id))
        .group_by(Payment.contract_id)
    )
    variations = _grouped(
        select(Variation.contract_id, func.count(Variation.id))
        .where(in_batch(Variation.contract_id), Variation.status == "approved")
        .group_by(Variation.contract_id)
    )
    services = _grouped(
        select(
            ServiceRecord.contract_id,
            func.count(ServiceRecord.id),
            func.coalesce(func.sum(ServiceRecord.beneficiaries), 0),
            func.coalesce(func.sum(ServiceRecord.hours), 0),
        )
        .where(in_batch(ServiceRecord.contract_id))
        .group_by(ServiceRecord.contract_id)
    )
    acceptances = {
        cid: (result, len(people or []))
        for cid, result, people in db.session.execute(
            select(Acceptance.contract_id, Acceptance.result, Acceptance.recipient_representatives).where(
                in_batch(Acceptance.contract_id)
            )
        )
    }
    awards = dict(
        db.session.execute(select(Contract.id, _award_published()).where(in_batch(Contract.id))).all()
    )
    for r in batch:
        m_count, m_accepted, due = milestones.get(r.id, (0, 0, 0))
        paid_total = Decimal(str(paid.get(r.id, (0,))[0] or 0)).quantize(CENT)
        n_records, beneficiaries, hours = services.get(r.id, (0, 0, 0))
        result, representatives = acceptances.get(r.id, ("", 0))
        yield {
            "id": r.id,
            "reference": r.reference,
            "title": r.title,
            "status": r.status,
            "tender_reference": r.tender_reference or "",
            "category": r.category,
            "district": r.district_code,
            "agency": r.agency,
            "organization": r.organization,
            "organization_uscc": r.organization_uscc,
            "award_published_at": awards.get(r.id),
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
            "variations_approved": int(variations.get(r.id, (0,))[0] or 0),
            "service_records": int(n_records or 0),
            "beneficiaries": int(beneficiaries or 0),
            "hours": Decimal(str(hours or 0)).quantize(CENT),
            "acceptance_result": result,
            "acceptance_representatives": representatives,
            "officer_signed_at": r.officer_signed_at,
            "org_signed_at": r.org_signed_at,
            "completed_at": r.completed_at,
            "terminated_at": r.terminated_at,
        }


def _award_published():
    from marketplace.tenders.committee.models import Award

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
            "due_date": m.due_date,
            "amount": Decimal(m.amount),
            "is_final": "yes" if m.is_final else "",
            "status": m.status,
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
    from marketplace.performance.models import Evaluation, IndicatorTemplate

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
            "status": e.status,
            "assessor": e.assessor,
            "template": f"{e.template} (v{e.version})",
            "total": Decimal(e.total) if e.total is not None else None,
            "grade": e.grade or "",
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


def local_iso(moment: datetime | None) -> str:
    """A stored UTC moment as ISO 8601 in the display zone (with its offset)."""
    return to_local(moment).isoformat(timespec="seconds") if moment else ""
