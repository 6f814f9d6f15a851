"""The people on each side of a contract: who is told about what happens to it."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.contracts.models import Contract
from marketplace.core.permissions import OFFICER, ORG_MEMBER
from marketplace.extensions import db


def buyer_officers(contract: Contract) -> list[User]:
    """Active officers of the contracting agency."""
    return list(
        db.session.scalars(
            select(User).where(
                User.role == OFFICER, User.agency_id == contract.agency_id, User.active.is_(True)
            )
        )
    )


def supplier_members(contract: Contract) -> list[User]:
    """Active members of the contracted organization."""
    return list(
        db.session.scalars(
            select(User).where(
                User.role == ORG_MEMBER,
                User.organization_id == contract.organization_id,
                User.active.is_(True),
            )
        )
    )
