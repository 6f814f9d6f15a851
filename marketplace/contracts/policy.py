"""Who may do what with a contract. One place; views, templates and tests ask here.

- the buying agency's officers draft, sign for the buyer, approve variations, accept milestones,
  record payments, run final acceptance and terminate;
- members of the contracted organization sign for it, log service records, file progress reports,
  submit milestones and request variations;
- auditors and admins read everything and change nothing;
- everybody else gets 404 on a contract's internal pages (the public sees published summaries).
"""

from __future__ import annotations

from marketplace.contracts.models import Contract, ContractDocument
from marketplace.core.permissions import (
    ADMIN,
    AUDITOR,
    OFFICER,
    ORG_MEMBER,
    _authenticated,
    _role,
    _same_agency,
)
from marketplace.extensions import db
from marketplace.tenders.models import Tender


def is_buyer(user, contract) -> bool:
    """An officer of the agency that holds the contract."""
    return isinstance(contract, Contract) and _same_agency(user, contract)


def is_supplier(user, contract) -> bool:
    """A member of the contracted organization."""
    return (
        isinstance(contract, Contract)
        and _role(user, ORG_MEMBER)
        and user.organization_id is not None
        and user.organization_id == contract.organization_id
    )


def _contract_party(user, contract):
    """Either party: changes to a contract (signatures, variations, documents) are theirs alone."""
    return is_buyer(user, contract) or is_supplier(user, contract)


def _contract_view(user, contract):
    """The full contract page: both parties, auditors and admins."""
    if not isinstance(contract, Contract) or not _authenticated(user):
        return False
    return is_buyer(user, contract) or is_supplier(user, contract) or _role(user, AUDITOR, ADMIN)


def _contract_manage(user, contract):
    """The buyer's side: draft, sign, approve variations, accept milestones, pay, accept, terminate."""
    return is_buyer(user, contract)


def _contract_deliver(user, contract):
    """The supplier's side: sign, log services, report, submit milestones, request variations."""
    return is_supplier(user, contract)


def _contract_list(user, obj=None):
    """The contracts list: officers (their agency's), organization members (their own), auditors, admins."""
    return _authenticated(user) and (
        _role(user, AUDITOR, ADMIN)
        or (_role(user, OFFICER) and user.agency_id is not None)
        or (_role(user, ORG_MEMBER) and user.organization_id is not None)
    )


def _contract_draft(user, tender):
    """Drafting a tender's contract: an officer of the procuring agency (the verb checks the award)."""
    return isinstance(tender, Tender) and _same_agency(user, tender)


def _contract_public(user, contract):
    """The published summary: anyone, once the contract is signed (active, completed or terminated)."""
    return isinstance(contract, Contract) and contract.is_signed


def _contract_document(user, document):
    """A contract document: the parties, auditors and admins; anyone for a public one of a published
    contract."""
    if not isinstance(document, ContractDocument):
        return False
    contract = db.session.get(Contract, document.contract_id)
    if contract is None:
        return False
    return _contract_view(user, contract) or (document.public and _contract_public(user, contract))


RULES = {
    "contract.view": _contract_view,
    "contract.party": _contract_party,
    "contract.manage": _contract_manage,
    "contract.deliver": _contract_deliver,
    "contract.list": _contract_list,
    "contract.draft": _contract_draft,
    "contract.public": _contract_public,
    "contract.document": _contract_document,
}
