"""One label registry for every state machine: ``label("milestone", "overdue")`` → 已逾期 / Overdue.

Each package lists its machines in ``labels.py`` as ``LABELS = {"machine": {"state": Label(...)}}``
and ``create_app`` registers them (:func:`register_labels`). Pages use the ``state_label`` and
``state_badge`` filters (``{{ m.status|state_label("milestone") }}``); exports and notifications call
:func:`label`. A state has one label, whatever page shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask


@dataclass(frozen=True)
class Label:
    text: object  # a lazy_gettext string: rendered in the reader's language
    badge: str = "secondary"  # the Bootstrap colour of its badge


_machines: dict[str, dict[str, Label]] = {}


def register_labels(machines: dict[str, dict[str, Label]]) -> None:
    for machine, states in machines.items():
        if machine in _machines and _machines[machine] is not states:
            raise LookupError(f"labels for {machine!r} registered twice")
        _machines[machine] = states


def _find(machine: str, state) -> Label | None:
    try:
        states = _machines[machine]
    except KeyError:  # an unknown machine is a programming error, never a silent raw code
        raise LookupError(f"no labels registered for {machine!r}") from None
    return states.get(state)


def label(machine: str, state) -> str:
    """The state's label in the current language; an unknown state shows as its code."""
    found = _find(machine, state)
    return str(found.text) if found else ("" if state is None else str(state))


def badge(machine: str, state) -> str:
    found = _find(machine, state)
    return found.badge if found else "light"


def states(machine: str) -> dict[str, Label]:
    """Every state of ``machine`` with its label (for select boxes and filters)."""
    _find(machine, None)
    return dict(_machines[machine])


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        state_label=lambda state, machine: label(machine, state),
        state_badge=lambda state, machine: badge(machine, state),
    )
