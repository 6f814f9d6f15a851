"""Clarification questions from organization members and the agency's published answers."""

from __future__ import annotations

from flask_babel import gettext as _

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.tenders.models import OPEN, Clarification, Tender
from marketplace.tenders.schemas import AnswerInputSchema, QuestionInputSchema


def ask_clarification(t: Tender, question: str, actor) -> Clarification:
    if not t.accepting_bids:
        raise RuleViolation(_("Questions can be asked only while the tender is open for bids."))
    question = load(QuestionInputSchema(), {"question": question})["question"]
    c = Clarification(question=question, asked_by_id=actor.id, asked_at=clock.now())
    t.clarifications.append(c)
    db.session.flush()
    audit.record(
        actor, "clarification.ask", "tender", t.id, N_("Asked clarification %(id)s"), params={"id": c.id}
    )
    return c


def answer_clarification(c: Clarification, answer: str, actor) -> Clarification:
    t = c.tender
    if t.status != OPEN:
        raise RuleViolation(_("Clarifications can be answered only while the tender is open."))
    if c.answer:
        raise RuleViolation(_("This question was already answered."))
    c.answer = load(AnswerInputSchema(), {"answer": answer})["answer"]
    c.answered_at = clock.now()
    c.answered_by_id = actor.id
    audit.record(
        actor,
        "clarification.answer",
        "tender",
        t.id,
        N_("Answered clarification %(id)s"),
        params={"id": c.id},
    )
    return c
