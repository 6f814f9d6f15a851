"""Final acceptance (验收, IR 45): the agency checks the delivered service with service-recipient
representatives and publishes the result. Passed completes the contract; failed returns the final
milestone for a resubmission, and the acceptance is repeated (the row is replaced, the audit log
keeps every result)."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.delivery.checks import require
from marketplace.contracts.delivery.milestones import mark_accepted, record_decision
from marketplace.contracts.delivery.schemas import AcceptanceInputSchema
from marketplace.contracts.locking import lock_contract
from marketplace.contracts.models import ACTIVE, COMPLETED, Acceptance, Contract
from marketplace.contracts.parties import OWN_WORDS, contract_link, supplier_members
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.schemas import load
from marketplace.extensions import db


def acceptance_of(contract: Contract) -> Acceptance | None:
    return db.session.scalar(select(Acceptance).where(Acceptance.contract_id == contract.id))


def published_acceptance(contract: Contract) -> Acceptance | None:
    """The acceptance result the public may read, or ``None`` before one is published."""
    acceptance = acceptance_of(contract)
    return acceptance if acceptance is not None and acceptance.published_at is not None else None


def acceptance_problems(contract: Contract) -> list[str]:
    """Why final acceptance cannot run yet (empty when it can)."""
    problems = []
    if not contract.is_active:
        problems.append(_("This can be done only while the contract is in force."))
    for m in contract.milestones:
        if not m.is_final and not m.is_accepted:
            problems.append(_("Milestone “%(name)s” is not accepted yet.", name=m.deliverable))
        elif m.is_final and not m.is_submitted:
            problems.append(_("The final milestone “%(name)s” has not been submitted.", name=m.deliverable))
    return problems


def masked_name(name: str) -> str:
    """A representative's name as published: the surname (first character) and "*"."""
    name = (name or "").strip()
    return f"{name[0]}*" if name else ""


def _conclude(contract: Contract, result: str, summary: str, actor, now) -> None:
    """Passed: the final milestones are accepted and the contract completed; failed: they go back to
    the organization with the summary as the reason."""
    finals = [m for m in contract.milestones if m.is_final]
    if result == "passed":
        for m in finals:
            mark_accepted(m, actor)
        contract.status = COMPLETED
        contract.completed_at = now
    else:
        for m in finals:
            m.status = "rejected"
            record_decision(m, "rejected", summary, actor)


def final_acceptance(contract: Contract, raw: Mapping, actor) -> Acceptance:
    """The agency records the final acceptance (``raw``: an ``AcceptanceInputSchema``) once every
    other milestone is accepted and the final one submitted; the result is published at once."""
    require(actor, "contract.manage", contract)
    contract = lock_contract(contract)
    problems = acceptance_problems(contract)
    if problems:
        raise RuleViolation(problems[0])
    data = load(AcceptanceInputSchema(), raw)
    result, summary, people = data["result"], data["summary"], data["representatives"]
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
    _conclude(contract, result, summary, actor, now)
    db.session.flush()
    passed = result == "passed"
    audit.record(
        actor,
        "contract.final_acceptance",
        "contract",
        contract.id,
        N_("Final acceptance passed with %(n)s service-recipient representative(s)")
        if passed
        else N_("Final acceptance failed with %(n)s service-recipient representative(s)"),
        {
            "result": [previous, result],
            "representatives": len(people),
            "status": [ACTIVE, contract.status],
        },
        tender_id=contract.tender_id,
        params={"n": len(people)},
    )
    notify(
        supplier_members(contract),
        "contract.final_acceptance",
        N_("Final acceptance passed — %(title)s") if passed else N_("Final acceptance failed — %(title)s"),
        OWN_WORDS,
        f"{contract_link(contract)}/acceptance",
        params={"title": contract.title, "text": summary},
    )
    return acceptance
