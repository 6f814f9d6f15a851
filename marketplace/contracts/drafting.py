"""Drafting a contract from the final award, and editing the draft until the first signature.

Each verb checks its rule, changes rows, writes an audit event and queues notifications; the caller
commits. The parties and the value come from the award; the first signature freezes the terms (see
:mod:`marketplace.contracts.signing`), after which only a variation changes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.models import DRAFT, Contract, ContractTarget, Milestone
from marketplace.contracts.parties import contract_link, require_buyer, supplier_members
from marketplace.contracts.queries import contract_of
from marketplace.contracts.schemas import ContractInputSchema
from marketplace.contracts.terms import check_plan, terms_of
from marketplace.core import retention
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.permissions import OFFICER
from marketplace.core.schemas import load
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.tenders.committee import awards as award_services
from marketplace.tenders.models import Tender


def is_editable(contract: Contract) -> bool:
    """A draft nobody has signed yet: the first signature freezes the terms."""
    return contract.is_draft and contract.officer_signed_at is None and contract.org_signed_at is None


def drafting_blocker(tender: Tender) -> str | None:
    """Why a contract cannot be drafted for ``tender`` yet, or ``None`` (IR 54)."""
    if award_services.open_challenges(tender):
        return _(
            "A challenge of the award is open: the contract waits until it is answered (Government "
            "Procurement Regulations, art. 54)."
        )
    award = award_services.current_award(tender)
    if award is None:
        return _("This tender has no valid award: a contract follows a final award.")
    if not award_services.award_is_final(tender):
        return _(
            "The award is not final yet: the contract is drafted after the challenge period ends on "
            "%(date)s with no open challenge (Government Procurement Regulations, art. 54).",
            date=format_date(local_date(award.challenge_deadline), "medium"),
        )
    return None


def _fill(contract: Contract, data: dict) -> None:
    """The targets and milestones of a loaded ``ContractInputSchema``, milestones by due date."""
    contract.targets = [ContractTarget(position=i, **t) for i, t in enumerate(data["targets"])]
    ordered = sorted(
        enumerate(data["milestones"]), key=lambda pair: (pair[1]["due_date"], pair[1]["is_final"], pair[0])
    )
    contract.milestones = [Milestone(position=i, **m) for i, (_n, m) in enumerate(ordered)]


def _reference(tender: Tender) -> str:
    """HT-<tender reference>, made unique with the tender's id when taken."""
    reference = f"HT-{tender.reference or tender.id}"
    if db.session.scalar(select(Contract.id).where(Contract.reference == reference)) is not None:
        reference = f"{reference}-{tender.id}"
    return reference[:50]


def draft_contract(tender: Tender, raw: Mapping, actor) -> Contract:
    """The officer drafts the contract from the final award: parties and value come from the award;
    ``raw`` is loaded by ``ContractInputSchema``."""
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
    data = load(ContractInputSchema(), raw)
    value = Decimal(bid.price)
    check_plan(data["milestones"], value)
    contract = Contract(
        reference=_reference(tender),
        tender_id=tender.id,
        award_id=award.id,
        agency_id=tender.agency_id,
        organization_id=bid.organization_id,
        title=data["title"],
        status=DRAFT,
        original_value=value,
        value=value,
        term_start=data["term_start"],
        term_end=data["term_end"],
        term_justification=data["term_justification"],
        scope=data["scope"],
        created_by_id=actor.id,
        created_at=clock.now(),
    )
    _fill(contract, data)
    db.session.add(contract)
    db.session.flush()
    audit.record(
        actor,
        "contract.draft",
        "contract",
        contract.id,
        N_("Drafted contract %(reference)s at %(value)s"),
        terms_of(contract),
        tender_id=tender.id,
        params={"reference": contract.reference, "value": value},
    )
    notify(
        supplier_members(contract),
        "contract.drafted",
        N_("A contract is ready for your signature — %(title)s"),
        N_("Check the terms, then sign."),
        contract_link(contract),
        params={"title": contract.title},
    )
    return contract


def update_draft(contract: Contract, raw: Mapping, actor) -> Contract:
    """Change a draft nobody has signed yet (``raw`` as for :func:`draft_contract`); targets and
    milestones are replaced."""
    require_buyer(contract, actor)
    if not contract.is_draft:
        raise RuleViolation(_("Only a draft contract can be edited; signed terms change by a variation."))
    if not is_editable(contract):
        raise RuleViolation(
            _("The contract has been signed: its terms are frozen. Ask for a variation once it is active.")
        )
    data = load(ContractInputSchema(), raw)
    check_plan(data["milestones"], contract.value)
    before = terms_of(contract)
    contract.title, contract.scope = data["title"], data["scope"]
    contract.term_start, contract.term_end, contract.term_justification = (
        data["term_start"],
        data["term_end"],
        data["term_justification"],
    )
    for row in [*contract.targets, *contract.milestones]:
        retention.permit_removal(row)  # a draft's terms: not yet part of the record
    contract.targets.clear()
    contract.milestones.clear()
    db.session.flush()
    _fill(contract, data)
    db.session.flush()
    audit.record(
        actor,
        "contract.update",
        "contract",
        contract.id,
        N_("Draft contract %(reference)s updated"),
        audit.diff(before, terms_of(contract)),
        tender_id=contract.tender_id,
        params={"reference": contract.reference},
    )
    return contract
