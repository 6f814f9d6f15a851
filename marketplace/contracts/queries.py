"""Finding contracts: a tender's contract, the contracts a user may list, an organization's record."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.contracts.models import ACTIVE, COMPLETED, Contract
from marketplace.core.permissions import ADMIN, AUDITOR, OFFICER, ORG_MEMBER
from marketplace.extensions import db
from marketplace.tenders.models import Tender


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
