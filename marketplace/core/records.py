"""A closed procurement's records are read-only.

A procurement is closed when its tender failed or was cancelled (the notice is public at once), or
when its contract is terminated, or completed with nothing left to pay (docs/audit.md, "Retention").
Each domain registers the rule for its own objects (``CLOSED_RULES`` in its ``retention.py``): a
function answering why the record is closed (a translated sentence) or ``None``. Every verb that
would change a tender, its bids, its committee records or its contract calls
:func:`require_open_record` first; reading, exports, the audit log and the performance evaluation of
a completed contract do not.

This module knows no domain model: domains register their rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from marketplace.core.errors import RuleViolation

_rules: dict[type, list[Callable[[object], str | None]]] = {}


def register_closed_rules(rules: Mapping[type, Callable[[object], str | None]]) -> None:
    """A package's rules; a model may have rules from several packages (a tender is closed by its
    own failure, or by its contract). Registering the same rule again is harmless."""
    for model, rule in rules.items():
        registered = _rules.setdefault(model, [])
        if rule not in registered:
            registered.append(rule)


def closed_reason(record) -> str | None:
    """Why ``record`` (a tender, a contract, …) is closed, or ``None`` while it is open."""
    if record is None:
        return None
    for model in type(record).__mro__:
        for rule in _rules.get(model, ()):
            reason = rule(record)
            if reason:
                return reason
    return None


def is_closed(record) -> bool:
    return closed_reason(record) is not None


def require_open_record(record) -> None:
    """Raise a :class:`RuleViolation` naming why, when ``record``'s procurement is closed."""
    reason = closed_reason(record)
    if reason:
        raise RuleViolation(reason)
