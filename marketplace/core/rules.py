"""The numbers of the procurement rules (DOMAIN.md; docs/rules.md), read from the configuration where
``config.py`` sets the rule as the default, so a province can set its own. Outside an application
(a script, a unit of pure code) the defaults of ``config.py`` apply."""

from __future__ import annotations

from decimal import Decimal

from flask import current_app, has_app_context

_DEFAULTS = {
    "AMENDMENT_NOTICE_DAYS": 15,
    "AWARD_NOTICE_PERIOD_WORKING_DAYS": 1,
    "CHALLENGE_WINDOW_WORKING_DAYS": 7,
    "VARIATION_CAP_SHARE": "0.10",
    "CONTRACT_TERM_DEFAULT_MONTHS": 12,
    "CONTRACT_TERM_MAX_MONTHS": 36,
    "PERFORMANCE_GRADE_FLOORS": {"excellent": 90, "good": 80, "fair": 60},
}


def setting(name: str):
    if has_app_context() and name in current_app.config:
        return current_app.config[name]
    return _DEFAULTS[name]


def days(name: str) -> int:
    return int(setting(name))


def share(name: str) -> Decimal:
    return Decimal(str(setting(name)))
