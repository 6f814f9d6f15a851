"""The assessor's scores of a round, its submission (total and grade) and the report.

Each verb checks its rule, changes rows, writes an audit event (with the contract's ``tender_id``) and
queues notifications; the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.parties import buyer_officers, supplier_members
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.performance import indicators, scoring
from marketplace.performance.models import Evaluation, Indicator, IndicatorScore
from marketplace.performance.prefill import Prefill, prefill
from marketplace.performance.rounds import evaluation_link
from marketplace.performance.schemas import flatten_scores, score_sheet_schema, value_field


def scores_by_indicator(evaluation: Evaluation) -> dict[int, IndicatorScore]:
    return {s.indicator_id: s for s in evaluation.scores}


# --- one leaf -------------------------------------------------------------------------------------


def _score_leaf(leaf: Indicator, sheet: dict, pre: Prefill | None) -> dict | None:
    """The row values of one leaf from the loaded sheet, or None when it is left blank."""
    value = sheet[value_field(leaf)]
    if value is None:
        return None
    reason = sheet[f"reason_{leaf.id}"]
    if leaf.rule == "ratio":
        ratio = value
        points = scoring.ratio_points(ratio, leaf.weight, leaf.bands)
        overridden = pre is not None and pre.ratio is not None and ratio != pre.ratio
    else:
        ratio, points = None, value
        overridden = pre is not None and points != pre.points
    if overridden and not reason:
        raise RuleViolation(
            _("“%(name)s”: give a reason for changing the prefilled value.", name=leaf.name),
            field=f"reason_{leaf.id}",
        )
    return {
        "points": scoring.q2(points),
        "ratio": ratio,
        "prefilled_points": pre.points if pre is not None else None,
        "override_reason": reason if overridden else "",
        "evidence": sheet[f"evidence_{leaf.id}"],
        "comment": sheet[f"comment_{leaf.id}"],
    }


# --- the score sheet ------------------------------------------------------------------------------


def _require_scoring(evaluation: Evaluation, actor) -> None:
    if actor is None or evaluation.assessor_id != actor.id:
        raise RuleViolation(_("Only the assigned assessor can score this evaluation."))
    if evaluation.is_submitted:
        raise RuleViolation(_("This evaluation has been submitted and can no longer change."))
    if not evaluation.is_being_scored:
        raise RuleViolation(_("Declare your independence before you score."))


def _apply_scores(evaluation: Evaluation, leaves, sheet: dict) -> list[Indicator]:
    """Write each leaf's row (a blank leaf loses its row); returns the leaves left blank."""
    pre = prefill(evaluation)
    existing = scores_by_indicator(evaluation)
    missing = []
    for leaf in leaves:
        values = _score_leaf(leaf, sheet, pre.get(leaf.id))
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
    return missing


def _submit(evaluation: Evaluation, missing: list[Indicator], actor) -> None:
    """Finish the round: every leaf scored; total, grade, audit event and the parties told."""
    if missing:
        raise RuleViolation(
            _("Score every indicator before you submit: “%(name)s” has no score.", name=missing[0].name),
            field=value_field(missing[0]),
        )
    db.session.flush()
    contract = evaluation.contract
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
        N_("%(stage)s evaluation submitted: %(total)s points, %(grade)s"),
        {
            "evaluation_id": evaluation.id,
            "total": evaluation.total,
            "grade": evaluation.grade,
            "overridden": overrides,
        },
        tender_id=contract.tender_id,
        params={"stage": evaluation.stage, "total": evaluation.total, "grade": evaluation.grade},
    )
    notify(
        buyer_officers(contract) + supplier_members(contract),
        "evaluation_round.submitted",
        N_("Performance evaluation report — %(title)s"),
        N_("%(total)s · %(grade)s"),
        f"{evaluation_link(evaluation)}/report",
        params={"title": contract.title, "total": str(evaluation.total), "grade": evaluation.grade},
    )


def _record_draft(evaluation: Evaluation, scored: int, of: int, actor) -> None:
    db.session.flush()
    contract = evaluation.contract
    audit.record(
        actor,
        "evaluation_round.save",
        "contract",
        contract.id,
        N_("%(stage)s evaluation draft saved: %(scored)s of %(of)s indicators scored"),
        {
            "evaluation_id": evaluation.id,
            "scored": sorted(s.indicator_id for s in evaluation.scores),
        },
        tender_id=contract.tender_id,
        params={"stage": evaluation.stage, "scored": scored, "of": of},
    )


def save_scores(
    evaluation: Evaluation, scores: Mapping, actor, submit: bool = False, summary: str = ""
) -> Evaluation:
    """Save the assessor's scores, ``{leaf id: {"points" or "ratio", "evidence", "comment",
    "override_reason"}}`` (a leaf left out or blank has no score); ``submit`` finishes the round
    (every leaf scored) with its total and grade."""
    _require_scoring(evaluation, actor)
    leaves = indicators.leaves(evaluation.template)
    sheet = load(score_sheet_schema(leaves), flatten_scores(scores, summary))
    missing = _apply_scores(evaluation, leaves, sheet)
    evaluation.summary = sheet["summary"]
    if submit:
        _submit(evaluation, missing, actor)
    else:
        _record_draft(evaluation, len(leaves) - len(missing), len(leaves), actor)
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
    by_leaf = scores_by_indicator(evaluation)
    groups = []
    for group, leaves in indicators.tree(evaluation.template):
        rows = [ReportLeaf(leaf, by_leaf.get(leaf.id)) for leaf in leaves]
        groups.append(
            ReportGroup(group, rows, scoring.total(r.score.points for r in rows if r.score is not None))
        )
    return groups
