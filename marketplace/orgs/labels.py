"""Display labels for the organization vocabularies (types, statuses, inspection results, ratings)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.orgs.models import (
    DEBARRED,
    INFO_REQUESTED,
    PENDING,
    REJECTED,
    SUSPENDED,
    VERIFIED,
)

ORG_TYPES = {
    "social_group": _l("Social group (社会团体)"),
    "social_service_agency": _l("Social service agency (社会服务机构 / 民办非企业单位)"),
    "foundation": _l("Foundation (基金会)"),
    "other_civil_affairs": _l("Other civil-affairs registration (其他)"),
}

STATUSES = {
    PENDING: _l("Pending review"),
    INFO_REQUESTED: _l("More information requested"),
    VERIFIED: _l("Verified"),
    REJECTED: _l("Rejected"),
    SUSPENDED: _l("Suspended"),
    DEBARRED: _l("Debarred"),
}

STATUS_BADGES = {
    PENDING: "secondary",
    INFO_REQUESTED: "warning",
    VERIFIED: "success",
    REJECTED: "danger",
    SUSPENDED: "warning",
    DEBARRED: "danger",
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

DECISIONS = {
    "submitted": _l("Submitted for review"),
    "resubmitted": _l("Corrected and resubmitted"),
    "verified": _l("Verified"),
    "rejected": _l("Rejected"),
    "info_requested": _l("More information requested"),
    "suspended": _l("Suspended"),
    "debarred": _l("Debarred"),
    "reinstated": _l("Reinstated"),
}


def register_filters(state) -> None:
    """Blueprint ``record_once`` hook: the label filters the organization templates use."""
    state.app.jinja_env.filters.update(
        org_type_label=lambda v: ORG_TYPES.get(v, v),
        org_status_label=lambda v: STATUSES.get(v, v),
        org_status_badge=lambda v: STATUS_BADGES.get(v, "light"),
        inspection_label=lambda v: INSPECTION_RESULTS.get(v, v),
        rating_label=lambda v: RATINGS.get(v, v),
        document_kind_label=lambda v: DOCUMENT_KINDS.get(v, v),
        decision_label=lambda v: DECISIONS.get(v, v),
    )
