"""Demo performance evaluation: survey answers on both demo contracts; on the first an in-progress
(事中) round being scored, on the second a finished ex-post (事后) round. (The demo contracts are still
running: the ex-post round is there so its report can be seen.)"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from marketplace import clock
from marketplace.auth.models import User
from marketplace.contracts.models import Contract
from marketplace.extensions import db
from marketplace.performance import assessment, indicator_templates, indicators, rounds, surveys
from marketplace.performance.prefill import prefill

SURVEY_COMMENTS = [
    "阿姨每次都准时上门，很细心。 The carer always comes on time and is very attentive.",
    "",
    "希望周末也能送餐。 We would like meals at weekends too.",
    "",
    "服务很好，谢谢社工！ Great service, thank you!",
    "详情请看 www.example.com 优惠 See www.example.com for offers",  # held by the screening
]


def _answer_surveys(contracts: list[Contract], real_now: datetime) -> None:
    """Ten answers on the first contract's survey, seven on the second's, over the last twelve days."""
    for c_index, contract in enumerate(contracts):
        survey = surveys.survey_for(contract)
        for n in range(10 - 3 * c_index):
            clock.set_now(real_now - timedelta(days=12 - n, hours=n))
            score = 5 if n % 3 else 4
            surveys.answer(
                survey,
                {"q1": score, "q2": 5, "q3": 4 if n % 4 else 3, "q4": score},
                SURVEY_COMMENTS[n % len(SURVEY_COMMENTS)],
                surveys.new_device_token(),
                f"198.51.100.{10 + n}",
            )


def _scores(evaluation, leaves, complete: bool) -> dict:
    """Prefilled values where there are any, else 80-90 % of each leaf's maximum; half the leaves
    when the round is still in progress."""
    pre = prefill(evaluation)
    scores = {}
    for i, leaf in enumerate(leaves):
        if not complete and i % 2:
            continue
        if leaf.id in pre:
            entry = {"points": pre[leaf.id].points, "ratio": pre[leaf.id].ratio}
        else:
            share = Decimal("0.9") if i % 3 else Decimal("0.8")
            entry = {"points": (leaf.weight * share).quantize(Decimal("0.01"))}
        entry["evidence"] = "台账、回访记录与现场查看。 Registers, follow-up calls, site visit."
        scores[leaf.id] = entry
    return scores


def _evaluate(contract, stage, expert, submit, template, officer, real_now) -> None:
    """Assigned three days ago, declared the same day, scored yesterday (and submitted, or not)."""
    clock.set_now(real_now - timedelta(days=3))
    evaluation = rounds.assign(contract, stage, expert, template, officer)
    clock.set_now(real_now - timedelta(days=2, hours=20))
    rounds.declare(evaluation, True, "本人与采购人、服务机构均无利害关系。 No ties to either party.", expert)
    clock.set_now(real_now - timedelta(days=1))
    assessment.save_scores(
        evaluation,
        _scores(evaluation, indicators.leaves(template), complete=submit),
        expert,
        submit=submit,
        summary="服务记录完整，进度符合计划。 Complete records; on schedule." if submit else "",
    )


def load_evaluations(experts: list[User], officer: User, real_now: datetime) -> int:
    """Survey answers and two evaluation rounds; returns how many rounds."""
    contracts = list(db.session.scalars(select(Contract).order_by(Contract.id)))
    _answer_surveys(contracts, real_now)
    template = indicator_templates.default_template()
    plan = (
        (contracts[0], "in_progress", experts[0], False),
        (contracts[-1], "ex_post", experts[1], True),
    )
    for contract, stage, expert, submit in plan:
        _evaluate(contract, stage, expert, submit, template, officer, real_now)
    return len(plan)
