"""Prefilled values of an evaluation round, from the contract's own records:

- a ``ratio`` leaf gets the contract's completion ratio: for each target, delivered ÷ planned capped
  at 1 (over-delivering one target cannot hide a shortfall in another), then the mean over the
  targets, kept to four places rounded down. No targets, or nothing delivered against them yet: no
  prefill.
- the ``survey`` leaf gets the mean of the survey responses' means ÷ 5 × its maximum. No responses:
  no prefill.

The assessor may change a prefilled value (the ratio of a ratio leaf, the points of a survey leaf) only
with a reason, kept with the score (:mod:`marketplace.performance.assessment`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from marketplace.contracts.delivery.records import progress
from marketplace.contracts.models import Contract
from marketplace.extensions import db
from marketplace.performance import indicators, scoring
from marketplace.performance.models import Evaluation, Survey, SurveyResponse


@dataclass
class Prefill:
    points: Decimal
    ratio: Decimal | None = None
    source: str = ""  # "records" | "survey"
    responses: int = 0


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
    """The prefilled value of each leaf that has one, by indicator id."""
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
