"""The labels of the dashboards' codes (see :mod:`marketplace.core.labels`): why a contract is at risk."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.core.labels import Label
from marketplace.dashboards.services import ENDING, EXPIRED, OVERDUE, UNSIGNED

LABELS = {
    "contract_risk": {
        UNSIGNED: Label(_l("Not signed within 30 days of the award notice"), "danger"),
        ENDING: Label(_l("Term ends within 30 days"), "warning text-dark"),
        EXPIRED: Label(_l("Term has ended"), "danger"),
        OVERDUE: Label(_l("Overdue milestones"), "danger"),
    },
}
