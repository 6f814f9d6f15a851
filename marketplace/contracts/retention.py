"""What of a contract and its delivery is kept (GPL 42), and when the contract's procurement is closed.

Registered by ``create_app`` (``core.retention``, ``core.records``); docs/audit.md, "Retention".
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.contracts.delivery.models import STAGED, ServiceImport, ServiceRecordVersion
from marketplace.contracts.delivery.payments import paid_total
from marketplace.contracts.models import (
    COMPLETED,
    DRAFT,
    TERMINATED,
    Acceptance,
    Contract,
    ContractDocument,
    ContractTarget,
    Milestone,
    MilestoneDocument,
    MilestoneSubmission,
    Payment,
    ProgressReport,
    ServiceRecord,
    ServiceRecordDocument,
    Variation,
)
from marketplace.extensions import db
from marketplace.tenders.models import AWARDED, Tender

RETAINED = (
    Contract,
    ContractTarget,
    Milestone,
    MilestoneSubmission,
    MilestoneDocument,
    ContractDocument,
    Variation,
    ServiceRecord,
    ServiceRecordDocument,
    ProgressReport,
    Acceptance,
    Payment,
    ServiceImport,
    ServiceRecordVersion,
)


def _contract_is_draft(contract_id: int) -> bool:
    contract = db.session.get(Contract, contract_id)
    return contract is not None and contract.status == DRAFT


def _draft_term(row) -> bool:
    """A draft contract's targets and milestones are replaced when the draft is edited; signed terms
    change only by a variation, and are kept."""
    return _contract_is_draft(row.contract_id)


def _staged_import(row) -> bool:
    """An uploaded file nobody confirmed (its records were never stored) is dropped after a while."""
    return row.status == STAGED


REMOVABLE = {ContractTarget: _draft_term, Milestone: _draft_term, ServiceImport: _staged_import}


def contract_closed(contract: Contract) -> str | None:
    """A terminated contract, or a completed one with nothing left to pay (the payment after the final
    acceptance, and a holdback, are still recorded on a completed contract until it is settled)."""
    if contract.status == TERMINATED:
        return _(
            "This procurement is closed: the contract was terminated. Its records are kept and can no "
            "longer change."
        )
    if contract.status == COMPLETED and paid_total(contract) >= Decimal(contract.value):
        return _(
            "This procurement is closed: the contract is completed and paid. Its records are kept and can "
            "no longer change."
        )
    return None


def tender_closed_by_contract(tender: Tender) -> str | None:
    """A tender whose contract is closed is closed with it (only an awarded tender has a contract)."""
    if tender.status != AWARDED:
        return None
    contract = db.session.scalar(select(Contract).where(Contract.tender_id == tender.id))
    return contract_closed(contract) if contract is not None else None


CLOSED_RULES = {Contract: contract_closed, Tender: tender_closed_by_contract}
