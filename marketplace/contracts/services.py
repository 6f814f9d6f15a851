"""Contract verbs: drafting from the final award, signatures, variations, termination, documents.

Each verb checks its rule, changes rows, writes an audit event and queues notifications; the caller
commits. Signed terms are never edited in place: after the first signature the only way to change the
value, the term or the milestones is an approved ``Variation`` (GPL 49: increases at most 10 % of the
original value), which keeps the terms before the change in ``previous``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.models import (
    ACTIVE,
    COMPLETED,
    DRAFT,
    MILESTONE_KINDS,
    TERMINATED,
    Contract,
    ContractDocument,
    ContractTarget,
    Milestone,
    Payment,
    Variation,
)
from marketplace.contracts.parties import buyer_officers, supplier_members
from marketplace.contracts.policy import is_buyer, is_supplier
from marketplace.core.documents import StoredFile
from marketplace.core.errors import RuleViolation
from marketplace.core.notifications import notify
from marketplace.core.permissions import ADMIN, AUDITOR, OFFICER, ORG_MEMBER
from marketplace.core.templating import money
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.core.validation import check_text
from marketplace.extensions import db
from marketplace.tenders.committee import services as award_services
from marketplace.tenders.models import Tender

TEXT_MAX = 5000
SCOPE_MAX = 20000
DEFAULT_TERM_MONTHS = 12  # longer terms need a written justification
MAX_TERM_MONTHS = 36
VARIATION_CAP = Decimal("0.10")  # GPL 49
SIGNING_DAYS = 30  # GPL 46: signed within 30 days of the award notice
MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)
MAX_QUANTITY = Decimal("9999999999.99")  # Numeric(12, 2)
CENT = Decimal("0.01")
# Contracts the public may read about (summary page, public documents).
PUBLISHED_STATUSES = (ACTIVE, COMPLETED, TERMINATED)
DOCUMENT_TYPES = {"pdf", "png", "jpg", "jpeg", "doc", "docx", "xls", "xlsx", "odt", "ods"}


# --- input ---------------------------------------------------------------------------------------


@dataclass
class TargetInput:
    name: str
    unit: str
    quantity: Decimal | str | None


@dataclass
class MilestoneInput:
    deliverable: str
    due_date: date | None
    amount: Decimal | str | None
    kind: str = "delivery"
    is_final: bool = False


@dataclass
class ContractInput:
    title: str
    term_start: date | None
    term_end: date | None
    term_justification: str = ""
    scope: str = ""
    targets: list[TargetInput] = field(default_factory=list)
    milestones: list[MilestoneInput] = field(default_factory=list)


@dataclass
class MilestoneChange:
    """A change to an existing milestone (``milestone_id``: new amount and/or due date; ``None`` keeps
    the current one) or, with ``milestone_id=None``, a new milestone."""

    milestone_id: int | None
    amount: Decimal | str | None = None
    due_date: date | None = None
    deliverable: str = ""
    kind: str = "delivery"


@dataclass
class VariationInput:
    """What a variation changes; ``None`` leaves a term as it is."""

    value: Decimal | str | None = None
    term_end: date | None = None
    term_justification: str | None = None
    milestones: list[MilestoneChange] = field(default_factory=list)


# --- reads ---------------------------------------------------------------------------------------


def contract_of(tender: Tender) -> Contract | None:
    return db.session.scalar(select(Contract).where(Contract.tender_id == tender.id))


def contracts_query(user, status: str | None = None):
    """The contracts ``user`` may list: an officer their agency's, a member their organization's,
    auditors and admins all; everybody else none."""
    stmt = select(Contract)
    role = getattr(user, "role", None) if getattr(user, "is_authenticated", False) else None
    if role in (AUDITOR, ADMIN):
        pass
    elif role == OFFICER and user.agency_id is not None:
        stmt = stmt.where(Contract.agency_id == user.agency_id)
    elif role == ORG_MEMBER and user.organization_id is not None:
        stmt = stmt.where(Contract.organization_id == user.organization_id)
    else:
        stmt = stmt.where(Contract.id.is_(None))
    if status:
        stmt = stmt.where(Contract.status == status)
    return stmt.order_by(Contract.created_at.desc(), Contract.id.desc())


def contracts_for(user, status: str | None = None, page: int = 1, per_page: int = 20):
    """A page of the contracts ``user`` may see (see :func:`contracts_query`)."""
    return db.paginate(contracts_query(user, status), page=page, per_page=per_page, error_out=False)


def public_contracts_of(org) -> list[Contract]:
    """Contracts an organization won and is delivering or delivered (its public profile)."""
    return list(
        db.session.scalars(
            select(Contract)
            .where(Contract.organization_id == org.id, Contract.status.in_((ACTIVE, COMPLETED)))
            .order_by(Contract.activated_at.desc(), Contract.id.desc())
        )
    )


def signing_days() -> int:
    """Days after the award notice within which the contract is signed (GPL 46: 30)."""
    return int(current_app.config.get("UNSIGNED_CONTRACT_DAYS", SIGNING_DAYS))


def signing_deadline(contract: Contract) -> date:
    """The last day to sign: 30 days after the award notice (GPL 46)."""
    return local_date(contract.award.published_at) + timedelta(days=signing_days())


def unsigned_cutoff(today: date) -> datetime:
    """Awards published before this moment have passed their signing deadline on local day ``today``
    (the set form of :func:`unsigned_overdue`, for the scheduled job)."""
    return start_of_local_day(today - timedelta(days=signing_days()))


def unsigned_overdue(contract: Contract) -> bool:
    """Not active 30 days after the award notice was published (GPL 46)."""
    return contract.status == DRAFT and local_date(clock.now()) > signing_deadline(contract)


def is_editable(contract: Contract) -> bool:
    """A draft nobody has signed yet: the first signature freezes the terms."""
    return contract.status == DRAFT and contract.officer_signed_at is None and contract.org_signed_at is None


def variation_blocker(contract: Contract) -> str | None:
    """Why no variation can be requested on ``contract`` now, or ``None``."""
    if contract.status != ACTIVE:
        return _("Only an active contract can be varied.")
    if pending_variation(contract) is not None:
        return _("Another variation is waiting for a decision: decide on it first.")
    return None


def variations(contract: Contract) -> list[Variation]:
    return list(
        db.session.scalars(
            select(Variation).where(Variation.contract_id == contract.id).order_by(Variation.id.desc())
        )
    )


def pending_variation(contract: Contract) -> Variation | None:
    return db.session.scalar(
        select(Variation).where(Variation.contract_id == contract.id, Variation.status == "requested")
    )


def requested_by_buyer(variation: Variation) -> bool:
    from marketplace.auth.models import User

    requester = db.session.get(User, variation.requested_by_id)
    return requester is not None and requester.role == OFFICER


def may_decide(variation: Variation, user) -> bool:
    """The other party decides (see :func:`decide_variation`)."""
    contract = variation.contract
    if variation.status != "requested" or contract.status != ACTIVE:
        return False
    return is_supplier(user, contract) if requested_by_buyer(variation) else is_buyer(user, contract)


def approved_increases(contract: Contract) -> Decimal:
    """The value added by approved variations so far (decreases do not give room back)."""
    total = Decimal("0")
    for v in variations(contract):
        if v.status == "approved" and "value" in v.changes and "value" in v.previous:
            total += max(Decimal("0"), Decimal(v.changes["value"]) - Decimal(v.previous["value"]))
    return total


def increase_cap(contract: Contract) -> Decimal:
    return (contract.original_value * VARIATION_CAP).quantize(CENT, rounding=ROUND_DOWN)


def public_documents(contract: Contract) -> list[ContractDocument]:
    return [d for d in contract.documents if d.public]


def document_of(contract: Contract, document_id) -> ContractDocument | None:
    return next((d for d in contract.documents if str(d.id) == str(document_id)), None)


def paid_total(contract: Contract) -> Decimal:
    return db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.contract_id == contract.id)
    ) or Decimal("0")


# --- checks --------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term_limit(term_start: date, months: int) -> date:
    """The last day of a term of ``months`` months starting on ``term_start`` (the last day of the
    calendar when that would be past year 9999: typed dates may be anything, never a 500)."""
    try:
        return add_months(term_start, months) - timedelta(days=1)
    except (ValueError, OverflowError):
        return date.max


def _check_term(term_start: date | None, term_end: date | None, justification: str | None) -> str:
    """Start before end; at most 12 months, up to 36 with a written justification."""
    if term_start is None:
        raise RuleViolation(_("Enter the first day of the term."), field="term_start")
    if term_end is None:
        raise RuleViolation(_("Enter the last day of the term."), field="term_end")
    if term_end < term_start:
        raise RuleViolation(_("The term cannot end before it starts."), field="term_end")
    justification = check_text(
        justification, "term_justification", _("Justification"), TEXT_MAX, required=False
    )
    longest = term_limit(term_start, MAX_TERM_MONTHS)
    if term_end > longest:
        raise RuleViolation(
            _(
                "A contract term is at most %(n)d months: it must end on %(date)s at the latest.",
                n=MAX_TERM_MONTHS,
                date=format_date(longest, "medium"),
            ),
            field="term_end",
        )
    if term_end > term_limit(term_start, DEFAULT_TERM_MONTHS) and not justification:
        raise RuleViolation(
            _(
                "A term longer than %(n)d months needs a written justification.",
                n=DEFAULT_TERM_MONTHS,
            ),
            field="term_justification",
        )
    return justification


def _amount(value, field_name: str, label: str, maximum: Decimal = MAX_AMOUNT) -> Decimal:
    """A non-negative amount with at most two decimals."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        if not amount.is_finite():
            raise InvalidOperation
        exact = amount == amount.quantize(CENT)
    except (InvalidOperation, TypeError, ValueError):
        raise RuleViolation(
            _("%(label)s: enter an amount, for example 35000.00.", label=label), field=field_name
        ) from None
    if amount < 0 or amount > maximum:
        raise RuleViolation(
            _("%(label)s must be between 0 and %(max)s.", label=label, max=f"{maximum:,.2f}"),
            field=field_name,
        )
    if not exact:
        raise RuleViolation(_("%(label)s: at most two decimal places.", label=label), field=field_name)
    return amount


def _check_targets(targets: list[TargetInput]) -> list[TargetInput]:
    if not targets:
        raise RuleViolation(_("Add at least one service target."), field="targets")
    checked = []
    for n, t in enumerate(targets, 1):
        name = check_text(t.name, "targets", _("Target %(n)d: name", n=n), 200)
        unit = check_text(t.unit, "targets", _("Target %(n)d: unit", n=n), 40)
        label = _("Target %(n)d: quantity", n=n)
        if t.quantity is None or str(t.quantity).strip() == "":
            raise RuleViolation(_("%(label)s is required.", label=label), field="targets")
        quantity = _amount(t.quantity, "targets", label, MAX_QUANTITY)
        if quantity <= 0:
            raise RuleViolation(_("%(label)s must be more than zero.", label=label), field="targets")
        checked.append(TargetInput(name, unit, quantity))
    return checked


def _check_milestone(m, n: int, term_start: date, term_end: date, field_name: str) -> MilestoneInput:
    deliverable = check_text(m.deliverable, field_name, _("Milestone %(n)d: deliverable", n=n), 300)
    if m.kind not in MILESTONE_KINDS:
        raise RuleViolation(_("Milestone %(n)d: choose a kind.", n=n), field=field_name)
    if m.due_date is None:
        raise RuleViolation(_("Milestone %(n)d: enter the due date.", n=n), field=field_name)
    if not term_start <= m.due_date <= term_end:
        raise RuleViolation(
            _(
                "Milestone %(n)d: the due date must fall within the term (%(start)s to %(end)s).",
                n=n,
                start=format_date(term_start, "medium"),
                end=format_date(term_end, "medium"),
            ),
            field=field_name,
        )
    label = _("Milestone %(n)d: amount", n=n)
    if m.amount is None or str(m.amount).strip() == "":
        raise RuleViolation(_("%(label)s is required.", label=label), field=field_name)
    amount = _amount(m.amount, field_name, label)
    return MilestoneInput(deliverable, m.due_date, amount, m.kind, bool(m.is_final))


def _check_plan(milestones: list, value: Decimal, field_name: str = "milestones") -> None:
    """The shares add up to the value exactly; one final milestone, the last by due date."""
    if not milestones:
        raise RuleViolation(_("Add at least one milestone."), field=field_name)
    total = sum((Decimal(m.amount) for m in milestones), Decimal("0"))
    if total != value:
        amounts = {"total": money(total), "diff": money(abs(value - total)), "value": money(value)}
        raise RuleViolation(
            _(
                "The milestone amounts add up to %(total)s, %(diff)s less than the contract value of "
                "%(value)s.",
                **amounts,
            )
            if total < value
            else _(
                "The milestone amounts add up to %(total)s, %(diff)s more than the contract value of "
                "%(value)s.",
                **amounts,
            ),
            field=field_name,
        )
    finals = [m for m in milestones if m.is_final]
    if len(finals) != 1:
        raise RuleViolation(
            _("Mark exactly one milestone as the final one (final acceptance)."), field=field_name
        )
    if any(m.due_date > finals[0].due_date for m in milestones):
        raise RuleViolation(_("The final milestone must be the last one by due date."), field=field_name)


def _check_input(data: ContractInput) -> tuple[str, str, str, list[TargetInput], list[MilestoneInput]]:
    title = check_text(data.title, "title", _("Title"), 200)
    justification = _check_term(data.term_start, data.term_end, data.term_justification)
    scope = check_text(data.scope, "scope", _("Scope"), SCOPE_MAX, required=False)
    targets = _check_targets(data.targets)
    if not data.milestones:
        raise RuleViolation(_("Add at least one milestone."), field="milestones")
    milestones = [
        _check_milestone(m, n, data.term_start, data.term_end, "milestones")
        for n, m in enumerate(data.milestones, 1)
    ]
    return title, justification, scope, targets, milestones


def _fill(contract: Contract, targets: list[TargetInput], milestones: list[MilestoneInput]) -> None:
    contract.targets = [
        ContractTarget(position=i, name=t.name, unit=t.unit, quantity=t.quantity)
        for i, t in enumerate(targets)
    ]
    ordered = sorted(enumerate(milestones), key=lambda pair: (pair[1].due_date, pair[1].is_final, pair[0]))
    contract.milestones = [
        Milestone(
            position=i,
            deliverable=m.deliverable,
            kind=m.kind,
            due_date=m.due_date,
            amount=m.amount,
            is_final=m.is_final,
        )
        for i, (_n, m) in enumerate(ordered)
    ]


def _str(amount) -> str:
    return str(Decimal(amount).quantize(CENT))


def _terms(contract: Contract) -> dict:
    return {
        "title": contract.title,
        "value": _str(contract.value),
        "term_start": contract.term_start.isoformat(),
        "term_end": contract.term_end.isoformat(),
        "term_justification": contract.term_justification,
        "targets": [[t.name, t.unit, str(t.quantity)] for t in contract.targets],
        "milestones": [_milestone_terms(m) for m in contract.milestones],
    }


def _milestone_terms(m: Milestone) -> dict:
    return {
        "id": m.id,
        "deliverable": m.deliverable,
        "kind": m.kind,
        "due_date": m.due_date.isoformat(),
        "amount": _str(m.amount),
        "is_final": m.is_final,
    }


# --- parties -------------------------------------------------------------------------------------


def _buyer(contract: Contract, actor) -> None:
    if not is_buyer(actor, contract):
        raise RuleViolation(_("Only an officer of the contracting agency can do this."))


def _party(contract: Contract, actor) -> str:
    """'buyer' or 'supplier'; anybody else is refused."""
    if is_buyer(actor, contract):
        return "buyer"
    if is_supplier(actor, contract):
        return "supplier"
    raise RuleViolation(_("Only the parties to this contract can do this."))


def _the_other_side(contract: Contract, side: str) -> list:
    return supplier_members(contract) if side == "buyer" else buyer_officers(contract)


def _link(contract: Contract) -> str:
    return f"/contracts/{contract.id}"


# --- drafting ------------------------------------------------------------------------------------


def drafting_blocker(tender: Tender) -> str | None:
    """Why a contract cannot be drafted for ``tender`` yet, or ``None`` (IR 54)."""
    if award_services.open_challenges(tender):
        return _("A challenge of the award is open: the contract waits until it is answered (IR 54).")
    award = award_services.current_award(tender)
    if award is None:
        return _("This tender has no valid award: a contract follows a final award.")
    if not award_services.award_is_final(tender):
        return _(
            "The award is not final yet: the contract is drafted after the challenge period ends on "
            "%(date)s with no open challenge (IR 54).",
            date=format_date(local_date(award.challenge_deadline), "medium"),
        )
    return None


def draft_contract(tender: Tender, data: ContractInput, actor) -> Contract:
    """The officer drafts the contract from the final award: parties and value come from the award."""
    if not (
        actor is not None and getattr(actor, "role", None) == OFFICER and actor.agency_id == tender.agency_id
    ):
        raise RuleViolation(_("Only an officer of the procuring agency can do this."))
    if contract_of(tender) is not None:
        raise RuleViolation(_("This tender already has a contract."))
    blocker = drafting_blocker(tender)
    if blocker:
        raise RuleViolation(blocker)
    # The award became final when its window closed; the job may not have written it yet.
    award_services.finalize_if_due(tender, actor)
    award = award_services.current_award(tender)
    bid = award.bid
    title, justification, scope, targets, milestones = _check_input(data)
    value = Decimal(bid.price)
    _check_plan(milestones, value)
    reference = f"HT-{tender.reference or tender.id}"
    if db.session.scalar(select(Contract.id).where(Contract.reference == reference)) is not None:
        reference = f"{reference}-{tender.id}"
    contract = Contract(
        reference=reference[:50],
        tender_id=tender.id,
        award_id=award.id,
        agency_id=tender.agency_id,
        organization_id=bid.organization_id,
        title=title,
        status=DRAFT,
        original_value=value,
        value=value,
        term_start=data.term_start,
        term_end=data.term_end,
        term_justification=justification,
        scope=scope,
        created_by_id=actor.id,
        created_at=clock.now(),
    )
    _fill(contract, targets, milestones)
    db.session.add(contract)
    db.session.flush()
    audit.record(
        actor,
        "contract.draft",
        "contract",
        contract.id,
        f"drafted contract {contract.reference} at {value}",
        _terms(contract),
        tender_id=tender.id,
    )
    notify(
        supplier_members(contract),
        "contract.drafted",
        f"合同草案待签署 / A contract is ready for your signature — {contract.title}",
        "请核对合同条款后签署。 / Check the terms, then sign.",
        _link(contract),
    )
    return contract


def update_draft(contract: Contract, data: ContractInput, actor) -> Contract:
    """Change a draft nobody has signed yet; targets and milestones are replaced."""
    _buyer(contract, actor)
    if contract.status != DRAFT:
        raise RuleViolation(_("Only a draft contract can be edited; signed terms change by a variation."))
    if not is_editable(contract):
        raise RuleViolation(
            _("The contract has been signed: its terms are frozen. Ask for a variation once it is active.")
        )
    title, justification, scope, targets, milestones = _check_input(data)
    _check_plan(milestones, contract.value)
    before = _terms(contract)
    contract.title, contract.scope = title, scope
    contract.term_start, contract.term_end, contract.term_justification = (
        data.term_start,
        data.term_end,
        justification,
    )
    contract.targets.clear()
    contract.milestones.clear()
    db.session.flush()
    _fill(contract, targets, milestones)
    db.session.flush()
    audit.record(
        actor,
        "contract.update",
        "contract",
        contract.id,
        f"draft contract {contract.reference} updated",
        audit.diff(before, _terms(contract)),
        tender_id=contract.tender_id,
    )
    return contract


# --- signatures ----------------------------------------------------------------------------------


def sign(contract: Contract, actor) -> Contract:
    """One signature per side (an officer for the agency, a member for the organization). The first
    signature freezes the terms; the second makes the contract active."""
    if contract.status != DRAFT:
        raise RuleViolation(
            _("Only a draft contract is signed; this one is already %(status)s.", status=contract.status)
        )
    side = _party(contract, actor)
    now = clock.now()
    if side == "buyer":
        if contract.officer_signed_at is not None:
            raise RuleViolation(_("The agency has already signed this contract."))
        contract.officer_signed_at, contract.officer_signed_by_id = now, actor.id
    else:
        if contract.org_signed_at is not None:
            raise RuleViolation(_("Your organization has already signed this contract."))
        contract.org_signed_at, contract.org_signed_by_id = now, actor.id
    both = contract.officer_signed_at is not None and contract.org_signed_at is not None
    if both:
        contract.status = ACTIVE
        contract.activated_at = now
    audit.record(
        actor,
        "contract.sign",
        "contract",
        contract.id,
        f"signed for the {'agency' if side == 'buyer' else 'organization'}"
        + ("; contract active" if both else ""),
        tender_id=contract.tender_id,
    )
    if both:
        subject = f"合同已生效 / The contract is signed by both parties and active — {contract.title}"
    elif side == "buyer":
        subject = (
            f"采购人已签署合同，请签署 / The agency signed the contract: your signature — {contract.title}"
        )
    else:
        subject = (
            f"服务机构已签署合同，请签署 / The organization signed the contract: your signature — "
            f"{contract.title}"
        )
    notify(_the_other_side(contract, side), "contract.signed", subject, "", _link(contract))
    return contract


# --- variations ----------------------------------------------------------------------------------


@dataclass
class _Planned:
    """A milestone as it would be after a variation."""

    milestone: Milestone | None
    deliverable: str
    kind: str
    due_date: date
    amount: Decimal
    is_final: bool


def _project(contract: Contract, changes: VariationInput):
    """Check a variation against the current terms; return the terms it would produce and its JSON."""
    new_value = contract.value
    record: dict = {}
    if changes.value is not None and str(changes.value).strip() != "":
        new_value = _amount(changes.value, "value", _("New value"))
        if new_value <= 0:
            raise RuleViolation(_("The contract value must be more than zero."), field="value")
        if new_value != contract.value:
            record["value"] = _str(new_value)
    new_end = changes.term_end or contract.term_end
    justification = contract.term_justification
    if changes.term_justification is not None and changes.term_justification.strip():
        justification = changes.term_justification
    if new_end != contract.term_end:
        justification = _check_term(contract.term_start, new_end, justification)
        record["term_end"] = new_end.isoformat()
        if justification != contract.term_justification:
            record["term_justification"] = justification

    by_id = {m.id: m for m in contract.milestones}
    planned = {
        m.id: _Planned(m, m.deliverable, m.kind, m.due_date, Decimal(m.amount), m.is_final)
        for m in contract.milestones
    }
    changed, added = [], []
    for n, change in enumerate(changes.milestones, 1):
        if change.milestone_id is None:
            m = _check_milestone(
                MilestoneInput(change.deliverable, change.due_date, change.amount, change.kind),
                n,
                contract.term_start,
                new_end,
                "milestones",
            )
            planned[f"new{n}"] = _Planned(None, m.deliverable, m.kind, m.due_date, m.amount, False)
            added.append(
                {
                    "deliverable": m.deliverable,
                    "kind": m.kind,
                    "due_date": m.due_date.isoformat(),
                    "amount": _str(m.amount),
                }
            )
            continue
        milestone = by_id.get(change.milestone_id)
        if milestone is None:
            raise RuleViolation(_("That milestone is not part of this contract."), field="milestones")
        p = planned[milestone.id]
        amount = p.amount
        if change.amount is not None and str(change.amount).strip() != "":
            amount = _amount(change.amount, "milestones", milestone.deliverable)
        due = change.due_date or p.due_date
        if amount == p.amount and due == p.due_date:
            continue
        if milestone.status == "accepted":
            raise RuleViolation(
                _(
                    "The milestone “%(name)s” is accepted: it can no longer change.",
                    name=milestone.deliverable,
                ),
                field="milestones",
            )
        p.amount, p.due_date = amount, due
        entry = {"id": milestone.id}
        if amount != Decimal(milestone.amount):
            entry["amount"] = _str(amount)
        if due != milestone.due_date:
            entry["due_date"] = due.isoformat()
        changed.append(entry)
    if changed or added:
        record["milestones"] = changed + [{"id": None, **a} for a in added]
    if not record:
        raise RuleViolation(_("The request changes nothing: enter a new value, term or milestone."))

    for p in planned.values():
        if not contract.term_start <= p.due_date <= new_end:
            raise RuleViolation(
                _(
                    "The milestone “%(name)s” would fall outside the term (%(start)s to %(end)s).",
                    name=p.deliverable,
                    start=format_date(contract.term_start, "medium"),
                    end=format_date(new_end, "medium"),
                ),
                field="milestones",
            )
    _check_plan(list(planned.values()), new_value)
    _check_cap(contract, new_value)
    return new_value, new_end, justification, list(planned.values()), record


def _check_cap(contract: Contract, new_value: Decimal) -> None:
    """Increases add up to at most 10 % of the original value across all variations (GPL 49)."""
    this = max(Decimal("0"), new_value - contract.value)
    if not this:
        return
    done, cap = approved_increases(contract), increase_cap(contract)
    if done + this > cap:
        raise RuleViolation(
            _(
                "Value increases are capped at 10%% of the original value (GPL 49): at most %(cap)s in "
                "total. Already approved: %(done)s; this change: %(this)s.",
                cap=money(cap),
                done=money(done),
                this=money(this),
            ),
            field="value",
        )


def request_variation(contract: Contract, changes: VariationInput, reason: str, actor) -> Variation:
    """Either party asks to change the value, the end of the term or unmet milestones of an active
    contract. One request at a time; the other party decides (see :func:`decide_variation`)."""
    side = _party(contract, actor)
    blocker = variation_blocker(contract)
    if blocker:
        raise RuleViolation(blocker)
    reason = check_text(reason, "reason", _("Reason"), TEXT_MAX)
    _value, _end, _just, _planned, record = _project(contract, changes)
    variation = Variation(
        contract_id=contract.id,
        reason=reason,
        changes=record,
        previous={},
        status="requested",
        requested_at=clock.now(),
        requested_by_id=actor.id,
    )
    db.session.add(variation)
    db.session.flush()
    audit.record(
        actor,
        "contract.variation.request",
        "contract",
        contract.id,
        f"variation {variation.id} requested",
        {"changes": record, "reason": reason},
        tender_id=contract.tender_id,
    )
    notify(
        _the_other_side(contract, side),
        "contract.variation",
        f"合同变更申请待决定 / A contract variation awaits your decision — {contract.title}",
        reason[:1000],
        _link(contract),
    )
    return variation


def decide_variation(variation: Variation, approve: bool, note: str, actor) -> Variation:
    """The other party decides: a variation the organization requested is decided by an officer of the
    contracting agency; one an officer requested (the agency consents by asking) needs the
    organization's agreement, decided by one of its members. A change to signed terms thus always has
    both parties' consent and nobody approves their own request. The 10 % cap and the milestone rules
    are checked again on approval (terms may have moved since the request)."""
    contract = variation.contract
    if variation.status != "requested":
        raise RuleViolation(_("This variation was already decided."))
    if contract.status != ACTIVE:
        raise RuleViolation(_("Only an active contract can be varied."))
    if not may_decide(variation, actor):
        raise RuleViolation(_("The other party to the contract decides on this variation."))
    note = check_text(note, "note", _("Note"), TEXT_MAX, required=not approve)
    now = clock.now()
    if approve:
        changes = variation.changes or {}
        ms = changes.get("milestones") or []
        as_input = VariationInput(
            value=changes.get("value"),
            term_end=date.fromisoformat(changes["term_end"]) if changes.get("term_end") else None,
            term_justification=changes.get("term_justification"),
            milestones=[
                MilestoneChange(
                    milestone_id=m.get("id"),
                    amount=m.get("amount"),
                    due_date=date.fromisoformat(m["due_date"]) if m.get("due_date") else None,
                    deliverable=m.get("deliverable", ""),
                    kind=m.get("kind", "delivery"),
                )
                for m in ms
            ],
        )
        try:
            new_value, new_end, justification, planned, _record = _project(contract, as_input)
        except RuleViolation as exc:
            raise RuleViolation(
                _("The variation can no longer be approved: %(why)s", why=exc.message), field="note"
            ) from None
        variation.previous = _terms(contract)
        contract.value, contract.term_end, contract.term_justification = new_value, new_end, justification
        for p in planned:
            if p.milestone is None:
                contract.milestones.append(
                    Milestone(
                        deliverable=p.deliverable,
                        kind=p.kind,
                        due_date=p.due_date,
                        amount=p.amount,
                        is_final=False,
                    )
                )
            elif p.milestone.due_date != p.due_date or Decimal(p.milestone.amount) != p.amount:
                p.milestone.due_date, p.milestone.amount = p.due_date, p.amount
        ordered = sorted(contract.milestones, key=lambda m: (m.due_date, m.is_final, m.position or 0))
        for i, m in enumerate(ordered):
            m.position = i
        contract.milestones.sort(key=lambda m: m.position)  # the loaded list follows the new order
    variation.status = "approved" if approve else "rejected"
    variation.decided_at, variation.decided_by_id, variation.decision_note = now, actor.id, note
    db.session.flush()
    audit.record(
        actor,
        "contract.variation.decide",
        "contract",
        contract.id,
        f"variation {variation.id} {variation.status}",
        {"changes": variation.changes, "previous": variation.previous, "note": note},
        tender_id=contract.tender_id,
    )
    requester_side = "buyer" if requested_by_buyer(variation) else "supplier"
    notify(
        _the_other_side(contract, "supplier" if requester_side == "buyer" else "buyer"),
        "contract.variation.decided",
        (
            f"合同变更已批准 / The contract variation was approved — {contract.title}"
            if approve
            else f"合同变更未获批准 / The contract variation was rejected — {contract.title}"
        ),
        note[:1000],
        _link(contract),
    )
    return variation


# --- termination ---------------------------------------------------------------------------------


def terminate(contract: Contract, reason: str, amount_paid, actor) -> Contract:
    """The agency ends an active contract early, recording why and what was paid in all."""
    _buyer(contract, actor)
    if contract.status != ACTIVE:
        raise RuleViolation(_("Only an active contract can be terminated."))
    reason = check_text(reason, "reason", _("Reason"), TEXT_MAX)
    if amount_paid is None or str(amount_paid).strip() == "":
        raise RuleViolation(_("Enter the amount paid in all (0 if nothing)."), field="amount_paid")
    paid = _amount(amount_paid, "amount_paid", _("Amount paid"))
    if paid > contract.value:
        raise RuleViolation(
            _(
                "The amount paid (%(paid)s) cannot exceed the contract value of %(value)s.",
                paid=money(paid),
                value=money(contract.value),
            ),
            field="amount_paid",
        )
    recorded = Decimal(paid_total(contract))
    if paid < recorded:
        raise RuleViolation(
            _(
                "Payments of %(recorded)s are already recorded: the amount paid cannot be less.",
                recorded=money(recorded),
            ),
            field="amount_paid",
        )
    contract.status = TERMINATED
    contract.terminated_at = clock.now()
    contract.termination_reason = reason
    contract.termination_amount_paid = paid
    audit.record(
        actor,
        "contract.terminate",
        "contract",
        contract.id,
        f"contract {contract.reference} terminated; amount paid {paid}",
        {"reason": reason, "amount_paid": paid},
        tender_id=contract.tender_id,
    )
    notify(
        supplier_members(contract),
        "contract.terminated",
        f"合同已终止 / The contract was terminated — {contract.title}",
        reason[:1000],
        _link(contract),
    )
    return contract


# --- documents -----------------------------------------------------------------------------------


def add_document(contract: Contract, stored: StoredFile, public: bool, actor) -> ContractDocument:
    """Either party files a document with the contract; ``public`` ones appear on the summary page."""
    _party(contract, actor)
    doc = ContractDocument(
        contract_id=contract.id,
        public=bool(public),
        uploaded_by_id=actor.id,
        uploaded_at=clock.now(),
        **stored.columns(),
    )
    contract.documents.append(doc)
    db.session.flush()
    audit.record(
        actor,
        "contract.document",
        "contract",
        contract.id,
        f"document {doc.filename} added ({'public' if doc.public else 'parties only'})",
        {"sha256": doc.sha256},
        tender_id=contract.tender_id,
    )
    return doc
