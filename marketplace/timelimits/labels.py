"""The labels of the statutory time limits and of their states (see :mod:`marketplace.core.labels`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.core.labels import Label
from marketplace.core.messages import LAW
from marketplace.timelimits.limits import (
    CHALLENGE,
    DECISION,
    LATE,
    MET,
    NOTICE,
    OPEN,
    OVERDUE,
    REPORT,
    SIGNATURE,
)

LABELS = {
    "time_limit": {
        REPORT: Label(_l("Committee's report to the buyer")),
        DECISION: Label(_l("Buyer's award decision")),
        NOTICE: Label(_l("Award notice")),
        CHALLENGE: Label(_l("Answer to a challenge")),
        SIGNATURE: Label(_l("Contract signature")),
    },
    "time_limit_state": {
        MET: Label(_l("Met"), "success"),
        LATE: Label(_l("Met late"), "warning text-dark"),
        OPEN: Label(_l("Still running"), "info text-dark"),
        OVERDUE: Label(_l("Overdue"), "danger"),
    },
}

# The law reference of a time limit, stored as its short form, shown as a citation (core.messages).
MESSAGE_PARAMS = {"This statutory time limit (%(source)s) passes at the end of %(due)s.": {"source": LAW}}
