"""The public lists: award notices, signed contracts and acceptance results, and their counts.

The only ``Bid`` read is an award's winning bid, whose tender's opening record must exist.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from marketplace.contracts.models import Acceptance, Contract, ContractDocument
from marketplace.extensions import db
from marketplace.tenders.bids.models import Bid, BidOpening
from marketplace.tenders.committee.models import Award
from marketplace.tenders.models import PUBLIC_STATUSES, Tender
from marketplace.transparency.filters import PUBLIC_CONTRACT_STATUSES, Filters, public_contracts, signed_at


def award_count(filters: Filters) -> int:
    return db.session.scalar(_awards(filters).with_only_columns(func.count(Award.id)))


def acceptance_count(filters: Filters) -> int:
    return db.session.scalar(_acceptances(filters).with_only_columns(func.count(Acceptance.id)))


def _awards(filters: Filters) -> Select:
    """Published award notices. Every award follows an opening; the join on the opening record keeps
    it so even if a row were wrong. The year is the notice's."""
    return (
        select(Award)
        .join(Tender, Tender.id == Award.tender_id)
        .join(BidOpening, BidOpening.tender_id == Award.tender_id)
        .where(
            Tender.status.in_(PUBLIC_STATUSES),
            *filters.tender_conditions(),
            *filters.in_year(Award.published_at),
        )
    )


def awards_query(filters: Filters) -> Select:
    """Published award notices, newest first, with their tender, agency and winner."""
    return (
        _awards(filters)
        .options(
            joinedload(Award.tender).joinedload(Tender.agency),
            joinedload(Award.bid).joinedload(Bid.organization),
        )
        .order_by(Award.published_at.desc(), Award.id.desc())
    )


def contracts_query(filters: Filters) -> Select:
    """Signed contracts (never drafts), most recently signed first. The year is the signature's."""
    return (
        select(Contract)
        .join(Tender, Tender.id == Contract.tender_id)
        .where(*public_contracts(filters))
        .options(
            joinedload(Contract.agency),
            joinedload(Contract.organization),
            joinedload(Contract.tender),
        )
        .order_by(signed_at.desc(), Contract.id.desc())
    )


def public_document_counts(contract_ids: list[int]) -> dict[int, int]:
    """How many documents of each contract are marked public."""
    if not contract_ids:
        return {}
    return dict(
        db.session.execute(
            select(ContractDocument.contract_id, func.count())
            .where(ContractDocument.contract_id.in_(contract_ids), ContractDocument.public.is_(True))
            .group_by(ContractDocument.contract_id)
        ).all()
    )


def _acceptances(filters: Filters) -> Select:
    """Published acceptance results of signed contracts. The year is the publication's."""
    return (
        select(Acceptance)
        .join(Contract, Contract.id == Acceptance.contract_id)
        .join(Tender, Tender.id == Contract.tender_id)
        .where(
            Acceptance.published_at.is_not(None),
            Contract.status.in_(PUBLIC_CONTRACT_STATUSES),
            *filters.tender_conditions(),
            *filters.in_year(Acceptance.published_at),
        )
    )


def acceptances_query(filters: Filters) -> Select:
    """Published acceptance results, newest first."""
    return _acceptances(filters).order_by(Acceptance.published_at.desc(), Acceptance.id.desc())


def contracts_by_id(contract_ids: list[int]) -> dict[int, Contract]:
    if not contract_ids:
        return {}
    return {
        c.id: c
        for c in db.session.scalars(
            select(Contract)
            .where(Contract.id.in_(contract_ids))
            .options(
                joinedload(Contract.agency), joinedload(Contract.organization), joinedload(Contract.tender)
            )
        )
    }
