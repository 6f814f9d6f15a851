"""The labels of the performance vocabularies (see :mod:`marketplace.core.labels`): an evaluation
round's state (``Evaluation.state``), its stage and grade, and an indicator's scoring rule."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.core.labels import Label

LABELS = {
    "evaluation": {
        "assigned": Label(_l("Waiting for the assessor's declaration"), "secondary"),
        "conflict": Label(_l("Conflict declared: another assessor must be assigned"), "warning"),
        "declared": Label(_l("Being scored"), "primary"),
        "submitted": Label(_l("Submitted"), "success"),
    },
    "evaluation_stage": {
        "ex_ante": Label(_l("Ex-ante assessment (事前评估)")),
        "in_progress": Label(_l("In-progress monitoring (事中监控)")),
        "ex_post": Label(_l("Ex-post evaluation (事后评价)")),
    },
    # The stage inside a sentence ("Ex-post evaluation submitted"): its name without "evaluation".
    "evaluation_stage_name": {
        "ex_ante": Label(_l("Ex-ante")),
        "in_progress": Label(_l("In-progress")),
        "ex_post": Label(_l("Ex-post")),
    },
    "evaluation_grade": {
        "excellent": Label(_l("Excellent (优)"), "success"),
        "good": Label(_l("Good (良)"), "primary"),
        "fair": Label(_l("Fair (中)"), "warning"),
        "poor": Label(_l("Poor (差)"), "danger"),
    },
    "indicator_rule": {
        "manual": Label(_l("Points by the assessor")),
        "ratio": Label(_l("Ratio bands of actual ÷ target")),
        "survey": Label(_l("Satisfaction survey")),
    },
}

# Audit and notification parameters stored as codes, shown by their labels (core.messages).
_STAGE = {"stage": "evaluation_stage_name"}
MESSAGE_PARAMS = {
    "%(stage)s evaluation submitted: %(total)s points, %(grade)s": {**_STAGE, "grade": "evaluation_grade"},
    "%(total)s · %(grade)s": {"grade": "evaluation_grade"},
    "%(stage)s evaluation draft saved: %(scored)s of %(of)s indicators scored": _STAGE,
    "%(stage)s evaluation assigned to assessor %(assessor)s (replacing %(previous)s)": _STAGE,
    "%(stage)s evaluation assigned to assessor %(assessor)s": _STAGE,
    "Assessor %(assessor)s declared a conflict of interest for the %(stage)s evaluation": _STAGE,
    "Assessor %(assessor)s declared no conflict for the %(stage)s evaluation": _STAGE,
}
