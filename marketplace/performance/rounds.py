"""Evaluation rounds of a contract: assignment to an independent assessor and the assessor's
independence declaration.

Each contract has up to three rounds (ex-ante, in-progress, ex-post), one per stage. Each verb checks
its rule, changes rows, writes an audit event (with the contract's ``tender_id``, so the round shows
in the contract's history) and queues notifications; the caller commits.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth.models import User
from marketplace.contracts.models import ACTIVE, COMPLETED, Contract
from marketplace.contracts.parties import buyer_officers
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.permissions import EVALUATOR, can
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.performance import indicator_templates
from marketplace.performance.models import STAGES, Evaluation, IndicatorTemplate
from marketplace.performance.schemas import DeclarationInputSchema


def evaluation_link(evaluation: Evaluation) -> str:
    """The assessor's page of the round (notifications link to it)."""
    return f"/performance/{evaluation.id}"


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


def takes_rounds(contract: Contract) -> bool:
    """Rounds are assigned once the contract is in force (or completed)."""
    return contract.status in (ACTIVE, COMPLETED)


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


def active_evaluators() -> list[User]:
    """Every active evaluator account, by email (the assignment form's choices)."""
    return list(
        db.session.scalars(
            select(User).where(User.role == EVALUATOR, User.active.is_(True)).order_by(User.email)
        )
    )


def eligible_assessors(contract: Contract) -> list[User]:
    return [u for u in active_evaluators() if independence_problem(contract, u) is None]


# --- assignment -----------------------------------------------------------------------------------


def _check_assignment(contract: Contract, stage: str, assessor: User | None, actor) -> None:
    if not can(actor, "contract.manage", contract):
        raise RuleViolation(_("Only an officer of the buying agency can assign an assessor."))
    if not takes_rounds(contract):
        raise RuleViolation(_("Evaluation rounds are assigned once the contract is in force or completed."))
    if stage not in STAGES:
        raise RuleViolation(_("Choose the stage of the evaluation."), field="stage")
    if assessor is None:
        raise RuleViolation(_("Choose the assessor."), field="assessor")
    problem = independence_problem(contract, assessor)
    if problem:
        raise RuleViolation(problem, field="assessor")


def _reassign(
    evaluation: Evaluation, assessor: User, template: IndicatorTemplate, actor, now: datetime
) -> int:
    """Give a round whose assessor has not declared independence to someone else; returns the
    previous assessor's id."""
    if evaluation.status != "assigned":
        raise RuleViolation(_("This stage already has an assessor who declared independence."), field="stage")
    if evaluation.has_conflict and evaluation.assessor_id == assessor.id:
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
    return previous


def assign(
    contract: Contract, stage: str, assessor: User | None, template: IndicatorTemplate | None, actor
) -> Evaluation:
    """Give a round of ``contract`` to an independent assessor (an officer of the buying agency).

    One round per stage; a round whose assessor declared a conflict, or who has not declared yet, can
    be given to someone else."""
    _check_assignment(contract, stage, assessor, actor)
    template = (
        template if template is not None else indicator_templates.for_category(contract.tender.category)
    )
    if template.archived:
        raise RuleViolation(_("This template was replaced by a newer version."), field="template")
    now = clock.now()
    evaluation = round_of(contract, stage)
    previous = None
    if evaluation is not None:
        previous = _reassign(evaluation, assessor, template, actor, now)
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
        N_("%(stage)s evaluation assigned to assessor %(assessor)s (replacing %(previous)s)")
        if previous
        else N_("%(stage)s evaluation assigned to assessor %(assessor)s"),
        {
            "evaluation_id": evaluation.id,
            "stage": stage,
            "assessor": [previous, assessor.id],
            "template": template.id,
        },
        tender_id=contract.tender_id,
        params={"stage": stage, "assessor": assessor.id, "previous": previous},
    )
    notify(
        [assessor],
        "evaluation_round.assigned",
        N_("Performance evaluation assigned — %(title)s"),
        N_("Declare your independence (no conflict of interest), then score the indicators."),
        evaluation_link(evaluation),
        params={"title": contract.title},
    )
    return evaluation


# --- the declaration ------------------------------------------------------------------------------


def _record_conflict(evaluation: Evaluation, statement: str, actor) -> None:
    contract = evaluation.contract
    audit.record(
        actor,
        "evaluation_round.conflict",
        "contract",
        contract.id,
        N_("Assessor %(assessor)s declared a conflict of interest for the %(stage)s evaluation"),
        {"evaluation_id": evaluation.id, "statement": statement},
        tender_id=contract.tender_id,
        params={"assessor": actor.id, "stage": evaluation.stage},
    )
    notify(
        buyer_officers(contract),
        "evaluation_round.conflict",
        N_("The assessor declared a conflict: assign another — %(title)s"),
        N_("The assessor's statement: %(statement)s"),
        f"/contracts/{contract.id}",
        params={"title": contract.title, "statement": statement},
    )


def declare(evaluation: Evaluation, no_conflict: bool, statement: str, actor) -> bool:
    """The assessor declares independence. A conflict blocks the round until another assessor is
    assigned. Returns True when no conflict was declared."""
    if actor is None or evaluation.assessor_id != actor.id:
        raise RuleViolation(_("Only the assigned assessor can make this declaration."))
    if not evaluation.awaits_declaration:
        raise RuleViolation(_("This declaration has already been made."))
    data = load(DeclarationInputSchema(), {"no_conflict": no_conflict, "statement": statement})
    no_conflict, statement = data["no_conflict"], data["statement"]
    evaluation.declared_at = clock.now()
    evaluation.declaration = statement
    if not no_conflict:
        _record_conflict(evaluation, statement, actor)
        return False
    evaluation.status = "declared"
    audit.record(
        actor,
        "evaluation_round.declare",
        "contract",
        evaluation.contract.id,
        N_("Assessor %(assessor)s declared no conflict for the %(stage)s evaluation"),
        {"evaluation_id": evaluation.id, "status": ["assigned", "declared"]},
        tender_id=evaluation.contract.tender_id,
        params={"assessor": actor.id, "stage": evaluation.stage},
    )
    return True
