"""A contract's history: one timeline from the tender draft to the last payment.

The timeline is built from the audit events of the contract's tender and of the contract (bid events
only once the tender's bids were opened) plus two kinds of domain rows: service records summed per
month, and payments that have no audit event of their own (rows loaded in bulk). Read-only: nothing
here changes a row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask import has_request_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from marketplace.audit.models import AuditEvent
from marketplace.audit.sealed import sealed_bid_event_filter
from marketplace.audit.service_totals import service_totals
from marketplace.auth.models import Agency, User
from marketplace.contracts.models import Contract, Payment
from marketplace.contracts.policy import is_buyer, is_supplier
from marketplace.core.messages import render
from marketplace.core.permissions import ADMIN, AUDITOR
from marketplace.extensions import db
from marketplace.orgs.models import Organization
from marketplace.tenders.bids.models import Bid

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
    "tender.opening_key": "publication",
    "tender.opening_share_confirm": "opening",
    "tender.ceremony_begin": "opening",
    "tender.opening_share": "opening",
    "tender.ceremony_complete": "opening",
    "tender.ceremony_fail": "opening",
    "bid.undecryptable": "opening",
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
    party: str  # the agency, the organization, the committee, or the system
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


# The party an account without an agency or organization acts for.
_ROLE_PARTIES = {
    "evaluator": _l("Evaluation committee"),
    "auditor": _l("Auditor"),
    "admin": _l("Administrator"),
    "grid_worker": _l("Grid worker"),
}


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
        return cls(
            {uid: agency or org or str(_ROLE_PARTIES.get(role, role)) for uid, role, agency, org in rows}
        )

    def of(self, user_id: int | None) -> str:
        return self.labels.get(user_id, _("System")) if user_id else _("System")


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


def _events(tender_ids: list[int], contract_ids: list[int]) -> list:
    """The audit events of the tenders and contracts, oldest first, as column rows."""
    return db.session.execute(
        select(
            AuditEvent.id,
            AuditEvent.occurred_at,
            AuditEvent.actor_id,
            AuditEvent.actor_label,
            AuditEvent.action,
            AuditEvent.object_type,
            AuditEvent.object_id,
            AuditEvent.summary,
            AuditEvent.params,
            AuditEvent.changes,
            AuditEvent.tender_id,
        )
        .where(
            or_(
                AuditEvent.tender_id.in_(tender_ids),
                and_(
                    AuditEvent.object_type == "contract",
                    AuditEvent.object_id.in_([str(i) for i in contract_ids]),
                ),
            ),
            # Bid events stay sealed until the tender's bids are opened.
            sealed_bid_event_filter(),
            # Service records appear as monthly totals (below), not one line per record.
            AuditEvent.action != "contract.service_logged",
        )
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    ).all()


def _own_bid_ids(keys: list[_ContractKey]) -> set[str]:
    """The bids the contracted organizations made on the contracts' tenders (as audit object ids)."""
    return set(
        db.session.scalars(
            select(Bid.public_id).where(
                Bid.tender_id.in_([k.tender_id for k in keys]),
                Bid.organization_id.in_([k.organization_id for k in keys]),
            )
        )
    )


def _hidden_from_supplier(event, kind: str, own_bids: set[str]) -> bool:
    own = event.object_type == "bid" and event.object_id in own_bids
    return (kind in _SUPPLIER_HIDDEN_KINDS and not own) or event.action in _SUPPLIER_HIDDEN_ACTIONS


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
    events = _events(list(by_tender), list(by_id))
    own_bids = _own_bid_ids(keys) if supplier_view else set()
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
        if supplier_view and _hidden_from_supplier(e, kind, own_bids):
            continue
        out[key.id].append(
            Entry(
                at=e.occurred_at,
                kind=kind,
                text=render(e.summary, e.params),
                party=parties.of(e.actor_id),
                account="" if supplier_view else e.actor_label,
                action=e.action,
                link=_link(e.object_type, e.tender_id, key.id, kind),
                event_id=e.id,
            )
        )
    _add_payments(out, paid_with_event, supplier_view)
    _add_service_totals(out)
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
                text=_(
                    "Payment of %(amount)s on %(day)s (%(reference)s)",
                    amount=f"¥{Decimal(r.amount):,.2f}",
                    day=r.paid_on.isoformat(),
                    reference=r.reference,
                ),
                party=parties.of(r.recorded_by_id),
                account=accounts.get(r.recorded_by_id, ""),
                action="payment",
                link=_link("contract", None, r.contract_id, "payment"),
            )
        )


def _add_service_totals(out: dict[int, list[Entry]]) -> None:
    for t in service_totals(list(out)):
        out[t["contract_id"]].append(
            Entry(
                # Placed at the last record logged for that month, so the timeline stays in order.
                at=t["last_recorded_at"],
                kind="service_totals",
                text=_(
                    "%(month)s: %(records)d record(s), quantity %(quantity)s, "
                    "%(beneficiaries)d beneficiaries, %(hours)s hours",
                    month=t["month"],
                    records=t["records"],
                    quantity=t["quantity"],
                    beneficiaries=t["beneficiaries"],
                    hours=t["hours"],
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
    full = is_buyer(user, contract) or user.role in (AUDITOR, ADMIN)
    return not full and is_supplier(user, contract)
