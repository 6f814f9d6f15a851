"""Who may move the training clock: admins (and only where training is allowed, ``services.allowed``)."""

from __future__ import annotations

from marketplace.core.permissions import ADMIN, _role


def move_training_clock(user, obj=None) -> bool:
    return _role(user, ADMIN)


RULES = {"training.clock": move_training_clock}
