"""Documents filed with a contract by either party; public ones appear on the summary page."""

from __future__ import annotations

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.models import Contract, ContractDocument
from marketplace.contracts.parties import side_of
from marketplace.core.documents import StoredFile
from marketplace.core.messages import N_
from marketplace.core.records import require_open_record
from marketplace.extensions import db

DOCUMENT_TYPES = {"pdf", "png", "jpg", "jpeg", "doc", "docx", "xls", "xlsx", "odt", "ods"}


def public_documents(contract: Contract) -> list[ContractDocument]:
    return [d for d in contract.documents if d.public]


def document_of(contract: Contract, document_id) -> ContractDocument | None:
    return next((d for d in contract.documents if str(d.id) == str(document_id)), None)


def add_document(contract: Contract, stored: StoredFile, public: bool, actor) -> ContractDocument:
    """Either party files a document with the contract; ``public`` ones appear on the summary page."""
    side_of(contract, actor)
    require_open_record(contract)
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
        N_("Document %(filename)s added (public)")
        if doc.public
        else N_("Document %(filename)s added (parties only)"),
        {"sha256": doc.sha256},
        tender_id=contract.tender_id,
        params={"filename": doc.filename},
    )
    return doc
