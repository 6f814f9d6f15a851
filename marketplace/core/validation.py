"""Checks the service verbs share. They raise :class:`RuleViolation` naming the field."""

from __future__ import annotations

from flask_babel import gettext as _

from marketplace.core.errors import RuleViolation


def check_text(value: str | None, field_name: str, label: str, maximum: int, required: bool = True) -> str:
    """``value`` stripped; required and at most ``maximum`` characters."""
    value = (value or "").strip()
    if required and not value:
        raise RuleViolation(_("%(label)s is required.", label=label), field=field_name)
    if len(value) > maximum:
        raise RuleViolation(
            _("%(label)s is too long (at most %(n)d characters).", label=label, n=maximum), field=field_name
        )
    return value
