"""Who may do what with indicator templates, evaluation rounds and survey results (``RULES``,
registered by ``create_app``).

- admins keep the indicator templates;
- the buying agency's officers assign assessors to a contract's rounds;
- the assigned assessor declares independence and scores their round;
- a submitted round's report: the contract's parties, auditors, admins and the assessor;
- survey comments that passed screening: the buying agency's officers, auditors and admins (not the
  organization whose service is commented on).
"""

from __future__ import annotations

from sqlalchemy import exists, select

from marketplace.contracts.policy import is_buyer
from marketplace.core.permissions import ADMIN, AUDITOR, EVALUATOR, _authenticated, _role, can
from marketplace.extensions import db
from marketplace.performance.models import Evaluation


def _perf_templates(user, obj=None):
    """The indicator templates: admins."""
    return _role(user, ADMIN)


def _perf_assign(user, contract):
    """Assigning assessors to a contract's rounds: the buying agency's officers."""
    return is_buyer(user, contract)


def _perf_assessments(user, obj=None):
    """The "My assessments" page: evaluators (with or without a round yet)."""
    return _role(user, EVALUATOR)


def _perf_mine(user, obj=None):
    """The "My assessments" list: evaluators with at least one round assigned."""
    return _role(user, EVALUATOR) and bool(
        db.session.scalar(select(exists().where(Evaluation.assessor_id == user.id)))
    )


def _perf_assess(user, evaluation):
    """Declaring and scoring a round: its assessor."""
    return isinstance(evaluation, Evaluation) and _authenticated(user) and evaluation.assessor_id == user.id


def _perf_report(user, evaluation):
    """A submitted round's report: the assessor, and whoever may see the contract."""
    if not isinstance(evaluation, Evaluation) or not evaluation.is_submitted:
        return False
    return can(user, "performance.assess", evaluation) or can(user, "contract.view", evaluation.contract)


def _perf_survey_comments(user, contract):
    """Screened survey comments of a contract: the buyer's officers, auditors and admins."""
    return is_buyer(user, contract) or _role(user, AUDITOR, ADMIN)


RULES = {
    "performance.templates": _perf_templates,
    "performance.assign": _perf_assign,
    "performance.assessments": _perf_assessments,
    "performance.mine": _perf_mine,
    "performance.assess": _perf_assess,
    "performance.report": _perf_report,
    "performance.survey_comments": _perf_survey_comments,
}
