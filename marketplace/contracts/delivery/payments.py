"""The payments ledger: payments recorded by the agency never exceed the contract value, a
milestone's payment never exceeds its unpaid share, and a poor ex-post grade holds back part of the
final payment (``performance.track_record``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.delivery.checks import require, today
from marketplace.contracts.delivery.schemas import PaymentInputSchema
from marketplace.contracts.locking import lock_contract
from marketplace.contracts.models import Contract, Milestone, Payment
from marketplace.contracts.parties import contract_link, supplier_members
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.schemas import load, parse_decimal
from marketplace.core.templating import money
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.performance import track_record

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass
class Ledger:
    value: Decimal
    due: Decimal  # accepted milestones' shares
    paid: Decimal
    balance: Decimal  # value − paid
    outstanding: Decimal  # due − paid, never below 0


def paid_total(contract: Contract, milestone: Milestone | None = None) -> Decimal:
    """What was paid on the contract (or for one of its milestones)."""
    stmt = select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.contract_id == contract.id)
    if milestone is not None:
        stmt = stmt.where(Payment.milestone_id == milestone.id)
    return parse_decimal(db.session.scalar(stmt) or 0).quantize(CENT)


def ledger(contract: Contract) -> Ledger:
    due = parse_decimal(
        db.session.scalar(
            select(func.coalesce(func.sum(Milestone.amount), 0)).where(
                Milestone.contract_id == contract.id, Milestone.status == "accepted"
            )
        )
        or 0
    ).quantize(CENT)
    paid = paid_total(contract)
    value = Decimal(contract.value)
    return Ledger(value, due, paid, value - paid, max(ZERO, due - paid))


def unpaid_share(milestone: Milestone) -> Decimal:
    return max(ZERO, Decimal(milestone.amount) - paid_total(milestone.contract, milestone))


def unpaid_shares(contract: Contract) -> dict[int, Decimal]:
    """milestone id → unpaid share, for the accepted milestones (those whose share is due)."""
    return {m.id: unpaid_share(m) for m in contract.milestones if m.is_accepted}


def payments_query(contract: Contract):
    """The contract's payments, the latest paid first (then the latest recorded)."""
    return (
        select(Payment)
        .where(Payment.contract_id == contract.id)
        .order_by(Payment.paid_on.desc(), Payment.id.desc())
    )


def _lock(contract: Contract) -> Contract:
    """Lock the contract row so payments (and variations) are summed one at a time."""
    return lock_contract(contract)


def _check_paid_on(contract: Contract, paid_on: date) -> None:
    """A payment date between the signature and today."""
    if paid_on > today():
        raise RuleViolation(_("The payment date cannot be in the future."), field="paid_on")
    if contract.activated_at is not None and paid_on < local_date(contract.activated_at):
        raise RuleViolation(
            _(
                "The payment date cannot be before the contract was signed (%(date)s).",
                date=local_date(contract.activated_at).isoformat(),
            ),
            field="paid_on",
        )


def _check_within_value(contract: Contract, amount: Decimal) -> Decimal:
    """The payment fits in what remains of the contract value, less any holdback; returns what
    remained before it."""
    remaining = Decimal(contract.value) - paid_total(contract)
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
                payable=money(max(ZERO, remaining - held_back)),
            ),
            field="amount",
        )
    return remaining


def _check_milestone_share(contract: Contract, milestone: Milestone, amount: Decimal) -> None:
    """A payment for a milestone: accepted, within its unpaid share, less any holdback on the final."""
    if not milestone.is_accepted:
        raise RuleViolation(_("This milestone is not accepted yet: its share is not due."), field="milestone")
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
                payable=money(max(ZERO, share - held)),
            ),
            field="amount",
        )


def record_payment(
    contract: Contract,
    paid_on: date | None,
    amount,
    reference: str,
    milestone: Milestone | None,
    actor,
) -> Payment:
    """The agency records a payment made on ``paid_on`` (``amount`` as typed), tied to an accepted
    milestone or not."""
    require(actor, "contract.manage", contract)
    if contract.is_draft:
        raise RuleViolation(_("No payment can be recorded before the contract is signed."))
    data = load(PaymentInputSchema(), {"paid_on": paid_on, "amount": amount, "reference": reference})
    paid_on, amount, reference = data["paid_on"], data["amount"], data["reference"]
    _check_paid_on(contract, paid_on)
    if milestone is not None and milestone.contract_id != contract.id:
        raise RuleViolation(_("Choose a milestone of this contract."), field="milestone")
    contract = _lock(contract)
    remaining = _check_within_value(contract, amount)
    if milestone is not None:
        _check_milestone_share(contract, milestone, amount)
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
    params = {"amount": money(amount), "day": paid_on.isoformat(), "reference": reference}
    audit.record(
        actor,
        "contract.payment_recorded",
        "contract",
        contract.id,
        N_("Payment of %(amount)s on %(day)s (%(reference)s)"),
        {
            "payment_id": payment.id,
            "amount": amount,
            "milestone_id": payment.milestone_id,
            "remaining_after": remaining - amount,
        },
        tender_id=contract.tender_id,
        params=params,
    )
    notify(
        supplier_members(contract),
        "contract.payment",
        N_("Payment recorded — %(title)s"),
        N_("%(amount)s · %(day)s · %(reference)s"),
        f"{contract_link(contract)}/payments",
        params={"title": contract.title, **params},
    )
    return payment
