"""Contracts' receivers of the tender signals; ``create_app`` calls :func:`connect_signals`."""

from __future__ import annotations

from flask_babel import gettext as _

from marketplace.contracts.queries import contract_of
from marketplace.core.errors import RuleViolation
from marketplace.tenders.signals import award_annulling


def refuse_when_contracted(tender, **_kwargs) -> None:
    """An award whose contract was already drafted is not annulled for a failure to sign: the contract
    records what happened to it (its signatures, or its termination)."""
    if contract_of(tender) is not None:
        raise RuleViolation(
            _("A contract was already drafted for this award: record the failure on the contract instead."),
            field="ground",
        )


def connect_signals() -> None:
    award_annulling.connect(refuse_when_contracted)
