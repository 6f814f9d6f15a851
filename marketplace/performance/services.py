"""Evaluation rounds of a contract: assignment to an independent assessor, the conflict declaration,
prefilled values, scores, submission and the report.

Each verb checks its rule, changes rows, writes an audit event (with the contract's ``tender_id``, so
the round shows in the contract's history) and queues notifications; the caller commits.

Prefilled values:

- a ``ratio`` leaf gets the contract's completion ratio: for each target, delivered ÷ planned capped
  at 1 (over-delivering one target cannot hide a shortfall in another), then the mean over the
  targets, kept to four places rounded down. No targets, or nothing delivered against them yet: no
  prefill.
- the ``survey`` leaf gets the mean of the survey responses' means ÷ 5 × its maximum. No responses:
  no prefill.

The assessor may change a prefilled value (the ratio of a ratio leaf, the points of a survey leaf) only
with a reason, kept with the score.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth.models import User
from marketplace.contracts.delivery import progress
from marketplace.contracts.models import ACTIVE, COMPLETED, Contract
from marketplace.contracts.parties import buyer_officers, supplier_members
from marketplace.core.errors import RuleViolation
from marketplace.core.notifications import notify
from marketplace.core.permissions import EVALUATOR, can
from marketplace.core.validation import check_text
from marketplace.extensions import db
from marketplace.performance import indicators, scoring
from marketplace.performance.models import (
    STAGES,
    Evaluation,
    Indicator,
    IndicatorScore,
    IndicatorTemplate,
    Survey,
    SurveyResponse,
)

TEXT_MAX = 5000
RATIO_MAX = Decimal("100")


@dataclass
class Prefill:
    points: Decimal
    ratio: Decimal | None = None
    source: str = ""  # "records" | "survey"
    responses: int = 0


@dataclass
class ScoreInput:
    points: object = None  # manual and survey leaves
    ratio: object = None  # ratio leaves: actual ÷ target
    evidence: str = ""
    comment: str = ""
    override_reason: str = ""


# --- reads ----------------------------------------------------------------------------------------


def rounds(contract: Contract) -> list[Evaluation]:
    rows = db.session.scalars(select(Evaluation).where(Evaluation.contract_id == contract.id)).all()
    return sorted(rows, key=lambda e: STAGES.index(e.stage))


def round_of(contract: Contract, stage: str) -> Evaluation | None:
    return db.session.scalar(
        select(Evaluation).where(Evaluation.contract_id == contract.id, Evaluation.stage == stage)
    )


def assigned_to(user) -> list[Evaluation]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(
        db.session.scalars(
            select(Evaluation)
            .where(Evaluation.assessor_id == user.id)
            .order_by(Evaluation.assigned_at.desc())
        )
    )


def has_conflict(evaluation: Evaluation) -> bool:
    """The assessor declared a conflict: the round waits for another assessor."""
    return evaluation.status == "assigned" and evaluation.declared_at is not None


def scores_by_indicator(evaluation: Evaluation) -> dict[int, IndicatorScore]:
    return {s.indicator_id: s for s in evaluation.scores}


def independence_problem(contract: Contract, assessor: User) -> str | None:
    """Why ``assessor`` cannot evaluate ``contract`` (None when they can)."""
    if assessor is None or assessor.role != EVALUATOR or not assessor.active:
        return _("The assessor must be an active evaluator account.")
    if assessor.agency_id is not None and assessor.agency_id == contract.agency_id:
        return _("The assessor belongs to the buying agency and is not independent: choose a third party.")
    if assessor.organization_id is not None and assessor.organization_id == contract.organization_id:
        return _(
            "The assessor belongs to the contracted organization and is not independent: "
            "choose a third party."
        )
    return None


def eligible_assessors(contract: Contract) -> list[User]:
    users = db.session.scalars(
        select(User).where(User.role == EVALUATOR, User.active.is_(True)).order_by(User.email)
    )
    return [u for u in users if independence_problem(contract, u) is None]


# --- prefill --------------------------------------------------------------------------------------


def completion_ratio(contract: Contract) -> Decimal | None:
    """Mean over the targets of min(delivered ÷ planned, 1); None without targets or before anything
    was delivered against them (an ex-ante round has nothing to measure yet)."""
    rows = [r for r in progress(contract).targets if r.planned > 0]
    if not rows or not any(r.delivered > 0 for r in rows):
        return None
    shares = [min(Decimal(r.delivered) / Decimal(r.planned), Decimal("1")) for r in rows]
    return scoring.q_ratio(sum(shares, Decimal("0")) / len(shares))


def survey_mean(contract: Contract) -> tuple[Decimal | None, int]:
    """The mean answer (1-5) of the contract's survey responses and how many there are."""
    mean, count = db.session.execute(
        select(func.avg(SurveyResponse.mean), func.count(SurveyResponse.id))
        .join(Survey, Survey.id == SurveyResponse.survey_id)
        .where(Survey.contract_id == contract.id)
    ).one()
    if not count:
        return None, 0
    return Decimal(str(mean)), int(count)


def prefill(evaluation: Evaluation) -> dict[int, Prefill]:
    contract = evaluation.contract
    values: dict[int, Prefill] = {}
    leaves = indicators.leaves(evaluation.template)
    ratio = completion_ratio(contract) if any(i.rule == "ratio" for i in leaves) else None
    mean, responses = survey_mean(contract) if any(i.rule == "survey" for i in leaves) else (None, 0)
    for leaf in leaves:
        if leaf.rule == "ratio" and ratio is not None:
            values[leaf.id] = Prefill(scoring.ratio_points(ratio, leaf.weight, leaf.bands), ratio, "records")
        elif leaf.rule == "survey" and mean is not None:
            values[leaf.id] = Prefill(scoring.survey_points(mean, leaf.weight), None, "survey", responses)
    return values


# --- verbs ----------------------------------------------------------------------------------------


def _link(evaluation: Evaluation) -> str:
    return f"/evaluations/{evaluation.id}"


def assign(
    contract: Contract, stage: str, assessor: User | None, template: IndicatorTemplate | None, actor
) -> Evaluation:
    """Give a round of ``contract`` to an independent assessor (an officer of the buying agency).

    One round per stage; a round whose assessor declared a conflict, or who has not declared yet, can
    be given to someone else."""
    if not can(actor, "contract.manage", contract):
        raise RuleViolation(_("Only an officer of the buying agency can assign an assessor."))
    if contract.status not in (ACTIVE, COMPLETED):
        raise RuleViolation(_("Evaluation rounds are assigned once the contract is in force or completed."))
    if stage not in STAGES:
        raise RuleViolation(_("Choose the stage of the evaluation."), field="stage")
    if assessor is None:
        raise RuleViolation(_("Choose the assessor."), field="assessor")
    problem = independence_problem(contract, assessor)
    if problem:
        raise RuleViolation(problem, field="assessor")
    template = template if template is not None else indicators.for_category(contract.tender.category)
    if template.archived:
        raise RuleViolation(_("This template was replaced by a newer version."), field="template")
    now = clock.now()
    evaluation = round_of(contract, stage)
    previous = None
    if evaluation is not None:
        if evaluation.status != "assigned":
            raise RuleViolation(
                _("This stage already has an assessor who declared independence."), field="stage"
            )
        if has_conflict(evaluation) and evaluation.assessor_id == assessor.id:
            raise RuleViolation(
                _("This assessor declared a conflict of interest for this contract."), field="assessor"
            )
        previous = evaluation.assessor_id
        evaluation.scores.clear()
        evaluation.assessor_id = assessor.id
        evaluation.template_id = template.id
        evaluation.assigned_by_id = actor.id
        evaluation.assigned_at = now
        evaluation.declared_at = None
        evaluation.declaration = ""
    else:
        evaluation = Evaluation(
            contract_id=contract.id,
            stage=stage,
            template_id=template.id,
            assessor_id=assessor.id,
            assigned_by_id=actor.id,
            assigned_at=now,
            status="assigned",
        )
        db.session.add(evaluation)
    db.session.flush()
    db.session.refresh(evaluation)
    audit.record(
        actor,
        "evaluation_round.assign",
        "contract",
        contract.id,
        f"{stage} evaluation assigned to assessor {assessor.id}"
        + (f" (replacing {previous})" if previous else ""),
        {
            "evaluation_id": evaluation.id,
            "stage": stage,
            "assessor": [previous, assessor.id],
            "template": template.id,
        },
        tender_id=contract.tender_id,
    )
    notify(
        [assessor],
        "evaluation_round.assigned",
        f"绩效评价任务 / Performance evaluation assigned — {contract.title}",
        "请先声明独立性（无利益冲突），然后评分。 / "
        "Declare your independence (no conflict of interest), then score the indicators.",
        _link(evaluation),
    )
    return evaluation


def declare(evaluation: Evaluation, no_conflict: bool, statement: str, actor) -> bool:
    """The assessor declares independence. A conflict blocks the round until another assessor is
    assigned. Returns True when no conflict was declared."""
    if actor is None or evaluation.assessor_id != actor.id:
        raise RuleViolation(_("Only the assigned assessor can make this declaration."))
    if evaluation.status != "assigned" or evaluation.declared_at is not None:
        raise RuleViolation(_("This declaration has already been made."))
    statement = check_text(statement, "statement", _("Statement"), TEXT_MAX, required=not no_conflict)
    contract = evaluation.contract
    evaluation.declared_at = clock.now()
    evaluation.declaration = statement
    if not no_conflict:
        audit.record(
            actor,
            "evaluation_round.conflict",
            "contract",
            contract.id,
            f"Assessor {actor.id} declared a conflict of interest for the {evaluation.stage} evaluation",
            {"evaluation_id": evaluation.id, "statement": statement},
            tender_id=contract.tender_id,
        )
        notify(
            buyer_officers(contract),
            "evaluation_round.conflict",
            f"评价人员申报利益冲突，请重新指派 / "
            f"The assessor declared a conflict: assign another — {contract.title}",
            statement,
            f"/contracts/{contract.id}",
        )
        return False
    evaluation.status = "declared"
    audit.record(
        actor,
        "evaluation_round.declare",
        "contract",
        contract.id,
        f"Assessor {actor.id} declared no conflict for the {evaluation.stage} evaluation",
        {"evaluation_id": evaluation.id, "status": ["assigned", "declared"]},
        tender_id=contract.tender_id,
    )
    return True


def _decimal(value, field_name: str, label: str, maximum: Decimal, places: Decimal) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip().replace("，", "").replace(",", ""))
    except (InvalidOperation, ValueError):
        raise RuleViolation(_("%(label)s: enter a number.", label=label), field=field_name) from None
    if not number.is_finite():
        raise RuleViolation(_("%(label)s: enter a number.", label=label), field=field_name)
    if number < 0 or number > maximum:
        raise RuleViolation(
            _("%(label)s must be between 0 and %(max)s.", label=label, max=maximum), field=field_name
        )
    if number != number.quantize(places):
        raise RuleViolation(_("%(label)s has too many decimals.", label=label), field=field_name)
    return number


def _score_leaf(leaf: Indicator, entry: ScoreInput, pre: Prefill | None) -> dict | None:
    """The row values of one leaf, or None when it is left blank."""
    label = leaf.name
    reason = check_text(entry.override_reason, f"reason_{leaf.id}", _("Reason"), TEXT_MAX, required=False)
    evidence = check_text(entry.evidence, f"evidence_{leaf.id}", _("Evidence"), TEXT_MAX, required=False)
    comment = check_text(entry.comment, f"comment_{leaf.id}", _("Comment"), TEXT_MAX, required=False)
    ratio = None
    if leaf.rule == "ratio":
        ratio = _decimal(entry.ratio, f"ratio_{leaf.id}", label, RATIO_MAX, scoring.RATIO_PLACES)
        if ratio is None:
            return None
        points = scoring.ratio_points(ratio, leaf.weight, leaf.bands)
        overridden = pre is not None and pre.ratio is not None and ratio != pre.ratio
    else:
        points = _decimal(entry.points, f"points_{leaf.id}", label, Decimal(leaf.weight), scoring.CENT)
        if points is None:
            return None
        overridden = pre is not None and points != pre.points
    if overridden and not reason:
        raise RuleViolation(
            _("“%(name)s”: give a reason for changing the prefilled value.", name=label),
            field=f"reason_{leaf.id}",
        )
    return {
        "points": scoring.q2(points),
        "ratio": ratio,
        "prefilled_points": pre.points if pre is not None else None,
        "override_reason": reason if overridden else "",
        "evidence": evidence,
        "comment": comment,
    }


def save_scores(
    evaluation: Evaluation, scores: dict[int, ScoreInput], actor, submit: bool = False, summary: str = ""
) -> Evaluation:
    """Save the assessor's scores; ``submit`` finishes the round (every leaf scored) with its total and
    grade."""
    if actor is None or evaluation.assessor_id != actor.id:
        raise RuleViolation(_("Only the assigned assessor can score this evaluation."))
    if evaluation.status == "submitted":
        raise RuleViolation(_("This evaluation has been submitted and can no longer change."))
    if evaluation.status != "declared":
        raise RuleViolation(_("Declare your independence before you score."))
    summary = check_text(summary, "summary", _("Overall comment"), TEXT_MAX, required=False)
    pre = prefill(evaluation)
    existing = scores_by_indicator(evaluation)
    missing = []
    leaves = indicators.leaves(evaluation.template)
    for leaf in leaves:
        values = _score_leaf(leaf, scores.get(leaf.id) or ScoreInput(), pre.get(leaf.id))
        row = existing.get(leaf.id)
        if values is None:
            missing.append(leaf)
            if row is not None:
                evaluation.scores.remove(row)
            continue
        if row is None:
            row = IndicatorScore(indicator_id=leaf.id)
            evaluation.scores.append(row)
        for key, value in values.items():
            setattr(row, key, value)
    evaluation.summary = summary
    contract = evaluation.contract
    if submit:
        if missing:
            raise RuleViolation(
                _("Score every indicator before you submit: “%(name)s” has no score.", name=missing[0].name),
                field=("ratio_%d" if missing[0].rule == "ratio" else "points_%d") % missing[0].id,
            )
        db.session.flush()
        evaluation.total = scoring.total(s.points for s in evaluation.scores)
        evaluation.grade = scoring.grade(evaluation.total)
        evaluation.status = "submitted"
        evaluation.submitted_at = clock.now()
        overrides = [s.indicator_id for s in evaluation.scores if s.override_reason]
        audit.record(
            actor,
            "evaluation_round.submit",
            "contract",
            contract.id,
            f"{evaluation.stage} evaluation submitted: {evaluation.total} points, {evaluation.grade}",
            {
                "evaluation_id": evaluation.id,
                "total": evaluation.total,
                "grade": evaluation.grade,
                "overridden": overrides,
            },
            tender_id=contract.tender_id,
        )
        notify(
            buyer_officers(contract) + supplier_members(contract),
            "evaluation_round.submitted",
            f"绩效评价报告 / Performance evaluation report — {contract.title}",
            f"{evaluation.total} · {evaluation.grade}",
            f"{_link(evaluation)}/report",
        )
    else:
        db.session.flush()
        audit.record(
            actor,
            "evaluation_round.save",
            "contract",
            contract.id,
            f"{evaluation.stage} evaluation draft saved: "
            f"{len(leaves) - len(missing)} of {len(leaves)} indicators scored",
            {
                "evaluation_id": evaluation.id,
                "scored": sorted(s.indicator_id for s in evaluation.scores),
            },
            tender_id=contract.tender_id,
        )
    db.session.flush()
    return evaluation


# --- the report -----------------------------------------------------------------------------------


@dataclass
class ReportLeaf:
    indicator: Indicator
    score: IndicatorScore | None


@dataclass
class ReportGroup:
    indicator: Indicator
    leaves: list[ReportLeaf]
    points: Decimal


def report(evaluation: Evaluation) -> list[ReportGroup]:
    template = evaluation.template
    by_leaf = scores_by_indicator(evaluation)
    groups = []
    for g in indicators.level_one(template):
        rows = [ReportLeaf(leaf, by_leaf.get(leaf.id)) for leaf in indicators.children(template, g)]
        groups.append(
            ReportGroup(g, rows, scoring.total(r.score.points for r in rows if r.score is not None))
        )
    return groups
