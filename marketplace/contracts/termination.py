"""Termination: the agency ends an active contract early, recording why and what was paid in all."""

from __future__ import annotations

from flask_babel import gettext as _

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.delivery.payments import paid_total
from marketplace.contracts.locking import lock_contract
from marketplace.contracts.models import TERMINATED, Contract
from marketplace.contracts.parties import OWN_WORDS, contract_link, require_buyer, supplier_members
from marketplace.contracts.schemas import TerminationSchema
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.schemas import load
from marketplace.core.templating import money


def termination_blocker(contract: Contract) -> str | None:
    """Why ``contract`` cannot be terminated now, or ``None``."""
    if not contract.is_active:
        return _("Only an active contract can be terminated.")
    return None


def terminate(contract: Contract, reason: str, amount_paid, actor) -> Contract:
    """The agency ends an active contract early, recording why and what was paid in all: at most the
    contract value, at least the payments already recorded."""
    require_buyer(contract, actor)
    contract = lock_contract(contract)  # a payment or a variation at the same moment waits
    blocker = termination_blocker(contract)
    if blocker:
        raise RuleViolation(blocker)
    data = load(TerminationSchema(), {"reason": reason, "amount_paid": amount_paid})
    reason, paid = data["reason"], data["amount_paid"]
    if paid > contract.value:
        raise RuleViolation(
            _(
                "The amount paid (%(paid)s) cannot exceed the contract value of %(value)s.",
                paid=money(paid),
                value=money(contract.value),
            ),
            field="amount_paid",
        )
    recorded = paid_total(contract)
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
        N_("Contract %(reference)s terminated; amount paid %(paid)s"),
        {"reason": reason, "amount_paid": paid},
        tender_id=contract.tender_id,
        params={"reference": contract.reference, "paid": paid},
    )
    notify(
        supplier_members(contract),
        "contract.terminated",
        N_("The contract was terminated — %(title)s"),
        OWN_WORDS,
        contract_link(contract),
        params={"title": contract.title, "text": reason[:1000]},
    )
    return contract
