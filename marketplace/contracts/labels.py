"""The labels of this package's state machines and vocabularies (see :mod:`marketplace.core.labels`):
pages use ``{{ x.status|state_label("milestone") }}`` and ``|state_badge("milestone")``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.core.labels import Label

LABELS = {
    "contract": {
        "draft": Label(_l("Draft (not signed)"), "secondary"),
        "active": Label(_l("Active"), "success"),
        "completed": Label(_l("Completed"), "primary"),
        "terminated": Label(_l("Terminated"), "danger"),
    },
    # A milestone's state, and the decision on one of its submissions (accepted or rejected).
    "milestone": {
        "pending": Label(_l("Pending"), "secondary"),
        "submitted": Label(_l("Submitted, awaiting acceptance"), "info"),
        "rejected": Label(_l("Rejected: to be resubmitted"), "warning"),
        "accepted": Label(_l("Accepted"), "success"),
    },
    "milestone_kind": {
        "delivery": Label(_l("Delivery")),
        "report": Label(_l("Report")),
        "payment": Label(_l("Payment")),
    },
    "variation": {
        "requested": Label(_l("Awaiting a decision"), "warning"),
        "approved": Label(_l("Approved"), "success"),
        "rejected": Label(_l("Rejected"), "secondary"),
    },
    "acceptance": {
        "passed": Label(_l("Passed (合格)"), "success"),
        "failed": Label(_l("Failed (不合格)"), "danger"),
    },
    # The kinds of service a service record counts.
    "activity": {
        "home_visit": Label(_l("Home visit (上门服务)")),
        "day_care": Label(_l("Day care (日间照料)")),
        "group_activity": Label(_l("Group activity (小组活动)")),
        "counselling": Label(_l("Counselling (心理咨询)")),
        "training": Label(_l("Training (培训)")),
        "assessment": Label(_l("Assessment (评估)")),
        "referral": Label(_l("Referral (转介)")),
        "other": Label(_l("Other (其他)")),
    },
}

ACTIVITY_TYPES = tuple(LABELS["activity"])
ACCEPTANCE_RESULTS = tuple(LABELS["acceptance"])

# Audit parameters stored as codes, shown by their labels (core.messages).
MESSAGE_PARAMS = {"Service record %(record)s: %(activity)s on %(day)s": {"activity": "activity"}}
