"""What every delivery verb checks first: who may act, the contract in force, dates in its term."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from marketplace import clock
from marketplace.contracts.models import Contract
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import can
from marketplace.core.timeutil import local_date

TEXT_MAX = 5000


def today() -> date:
    """Today's local date."""
    return local_date(clock.now())


def require(actor, action: str, contract: Contract) -> None:
    """``contract.manage`` (the buyer's officers) or ``contract.deliver`` (the supplier's members)."""
    if not can(actor, action, contract):
        if action == "contract.manage":
            raise RuleViolation(_("Only an officer of the buying agency can do this."))
        raise RuleViolation(_("Only a member of the contracted organization can do this."))


def require_active(contract: Contract) -> None:
    if not contract.is_active:
        raise RuleViolation(_("This can be done only while the contract is in force."))


def within_term(contract: Contract, day: date, field_name: str, label: str) -> None:
    """``day`` is not in the future and falls within the contract's term."""
    if day > today():
        raise RuleViolation(_("%(label)s cannot be in the future.", label=label), field=field_name)
    if not contract.term_start <= day <= contract.term_end:
        raise RuleViolation(
            _(
                "%(label)s must fall within the contract term (%(start)s to %(end)s).",
                label=label,
                start=contract.term_start.isoformat(),
                end=contract.term_end.isoformat(),
            ),
            field=field_name,
        )
