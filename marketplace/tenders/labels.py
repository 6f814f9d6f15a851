"""The labels of the tender and bid state machines (see :mod:`marketplace.core.labels`), and of the
procurement and evaluation methods (``{{ tender.method|state_label("method") }}``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.core.labels import Label
from marketplace.tenders.procedures import EVALUATION_METHODS, PROFILES

LABELS = {
    "tender": {
        "draft": Label(_l("Draft"), "secondary"),
        "open": Label(_l("Open for bids"), "success"),
        "closed": Label(_l("Bidding closed"), "dark"),
        "opened": Label(_l("Bids opened"), "info"),
        "evaluation": Label(_l("Under evaluation"), "primary"),
        "awarded": Label(_l("Awarded"), "success"),
        "failed": Label(_l("Failed (no award)"), "warning"),
        "cancelled": Label(_l("Cancelled"), "danger"),
    },
    "bid": {
        "draft": Label(_l("Draft (not submitted)"), "secondary"),
        "submitted": Label(_l("Submitted"), "success"),
        "withdrawn": Label(_l("Withdrawn"), "warning"),
    },
    "method": {code: Label(profile.label) for code, profile in PROFILES.items()},
    "evaluation_method": {code: Label(text) for code, text in EVALUATION_METHODS.items()},
}

# Audit parameters and failure reasons stored as codes, shown by their labels (core.messages).
MESSAGE_PARAMS = {
    "Cancelled (was %(status)s): %(reason)s": {"status": "tender"},
    "Withdrew the bid (was %(status)s)": {"status": "bid"},
    "Only %(n)s bid(s) were received; %(method)s requires at least %(minimum)s (MOF Order 87, art. 41).": {
        "method": "method"
    },
    "Only %(n)s bid(s) are within the budget ceiling; %(method)s requires at least %(minimum)s "
    "(Government Procurement Law, art. 36).": {"method": "method"},
}
