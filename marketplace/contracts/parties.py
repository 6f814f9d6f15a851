"""The two sides of a contract: who acts for each side, and who is told about what happens to it.

The buyer is the contracting agency (its officers), the supplier the contracted organization (its
members). Verbs that either side may run ask :func:`side_of`; verbs for the buyer only ask
:func:`require_buyer`.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.contracts.models import Contract
from marketplace.contracts.policy import is_buyer, is_supplier
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import OFFICER, ORG_MEMBER
from marketplace.extensions import db

BUYER = "buyer"
SUPPLIER = "supplier"
# The body of a notification that passes on a person's own words (a reason, a note): nothing to
# translate, the words fill the placeholder as written.
OWN_WORDS = "%(text)s"


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


def side_of(contract: Contract, actor) -> str:
    """``BUYER`` or ``SUPPLIER``; anybody else is refused."""
    if is_buyer(actor, contract):
        return BUYER
    if is_supplier(actor, contract):
        return SUPPLIER
    raise RuleViolation(_("Only the parties to this contract can do this."))


def require_buyer(contract: Contract, actor) -> None:
    if not is_buyer(actor, contract):
        raise RuleViolation(_("Only an officer of the contracting agency can do this."))


def the_other_side(contract: Contract, side: str) -> list[User]:
    """The people to tell about what ``side`` did."""
    return supplier_members(contract) if side == BUYER else buyer_officers(contract)


def user_of(user_id: int | None) -> User | None:
    """The person who signed, requested or decided (``None`` when nobody did)."""
    return db.session.get(User, user_id) if user_id else None


def contract_link(contract: Contract) -> str:
    """Where a notification about ``contract`` points: the contract page."""
    return f"/contracts/{contract.id}"
