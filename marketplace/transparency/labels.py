"""The labels of the transparency pages' codes (see :mod:`marketplace.core.labels`): how a milestone
whose due date has passed turned out."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.core.labels import Label
from marketplace.transparency.outcomes import LATE, ON_TIME, OVERDUE

LABELS = {
    "milestone_outcome": {
        ON_TIME: Label(_l("Met on time"), "success"),
        LATE: Label(_l("Met late"), "warning"),
        OVERDUE: Label(_l("Overdue, not met"), "danger"),
    },
}
