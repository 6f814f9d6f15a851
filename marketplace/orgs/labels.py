"""Display labels of the organization vocabularies.

The state machines — an organization's status and the decisions in its history — are in the shared
registry (``LABELS``, :mod:`marketplace.core.labels`): pages use ``state_label("org")`` /
``state_badge("org")`` and ``state_label("org_decision")``. The fixed vocabularies of the
registration (types, inspection results, ratings, document kinds) have their filters here.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.core.labels import Label
from marketplace.orgs.models import (
    DEBARRED,
    INFO_REQUESTED,
    PENDING,
    REJECTED,
    SUSPENDED,
    VERIFIED,
)

LABELS = {
    "org": {
        PENDING: Label(_l("Pending review"), "secondary"),
        INFO_REQUESTED: Label(_l("More information requested"), "warning"),
        VERIFIED: Label(_l("Verified"), "success"),
        REJECTED: Label(_l("Rejected"), "danger"),
        SUSPENDED: Label(_l("Suspended"), "warning"),
        DEBARRED: Label(_l("Debarred"), "danger"),
    },
    "org_decision": {
        "submitted": Label(_l("Submitted for review")),
        "resubmitted": Label(_l("Corrected and resubmitted")),
        "verified": Label(_l("Verified"), "success"),
        "rejected": Label(_l("Rejected"), "danger"),
        "info_requested": Label(_l("More information requested"), "warning"),
        "suspended": Label(_l("Suspended"), "warning"),
        "debarred": Label(_l("Debarred"), "danger"),
        "reinstated": Label(_l("Reinstated"), "success"),
    },
}

ORG_TYPES = {
    "social_group": _l("Social group (社会团体)"),
    "social_service_agency": _l("Social service agency (社会服务机构 / 民办非企业单位)"),
    "foundation": _l("Foundation (基金会)"),
    "other_civil_affairs": _l("Other civil-affairs registration (其他)"),
}

INSPECTION_RESULTS = {
    "qualified": _l("Qualified (合格)"),
    "basically_qualified": _l("Basically qualified (基本合格)"),
    "unqualified": _l("Unqualified (不合格)"),
    "not_yet_inspected": _l("Not yet inspected (未参检)"),
}

RATINGS = {
    "none": _l("Not rated"),
    "1A": "1A",
    "2A": "2A",
    "3A": "3A",
    "4A": "4A",
    "5A": "5A",
}

DOCUMENT_KINDS = {
    "registration_certificate": _l("Registration certificate (登记证书)"),
    "other": _l("Other document"),
}


def register_filters(state) -> None:
    """Blueprint ``record_once`` hook: the vocabulary filters the organization templates use."""
    state.app.jinja_env.filters.update(
        org_type_label=lambda v: ORG_TYPES.get(v, v),
        inspection_label=lambda v: INSPECTION_RESULTS.get(v, v),
        rating_label=lambda v: RATINGS.get(v, v),
        document_kind_label=lambda v: DOCUMENT_KINDS.get(v, v),
    )
