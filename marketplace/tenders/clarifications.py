"""Clarification questions from organization members and the agency's published answers."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth.models import User
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.records import require_open_record
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.tenders.amendments import amend
from marketplace.tenders.models import OPEN, Clarification, Tender
from marketplace.tenders.records import record_text
from marketplace.tenders.schemas import AnswerInputSchema, QuestionInputSchema


def ask_clarification(t: Tender, question: str, actor) -> Clarification:
    require_open_record(t)
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


def answer_clarification(c: Clarification, raw: Mapping | str, actor) -> Clarification:
    """Publish the answer (``raw``: an ``AnswerInputSchema``, or the answer's text). The officer
    classifies it: an answer that changes the tender documents is published as a (substantive)
    amendment, so the 15-day rule applies and bidders re-confirm (IR 31; O87 27)."""
    t = c.tender
    if t.status != OPEN:
        raise RuleViolation(_("Clarifications can be answered only while the tender is open."))
    if c.answer:
        raise RuleViolation(_("This question was already answered."))
    data = load(AnswerInputSchema(), {"answer": raw} if isinstance(raw, str) else raw)
    amendment = None
    if data["changes_documents"]:  # first: a refused amendment leaves the question unanswered
        amendment = amend(
            t,
            {
                "reason": record_text(
                    N_("The answer to clarification %(id)s changes the tender documents: %(answer)s"),
                    id=c.id,
                    answer=data["answer"][:500],
                ),
                "bid_deadline": data["bid_deadline"],
                "substantive": True,
            },
            actor,
            clarification=c,
        )
    c.answer = data["answer"]
    c.answered_at = clock.now()
    c.answered_by_id = actor.id
    c.changes_documents = data["changes_documents"]
    c.amendment_id = amendment.id if amendment is not None else None
    audit.record(
        actor,
        "clarification.answer",
        "tender",
        t.id,
        N_("Answered clarification %(id)s (changes the tender documents)")
        if c.changes_documents
        else N_("Answered clarification %(id)s"),
        {"changes_documents": c.changes_documents},
        params={"id": c.id},
    )
    _tell_the_asker(c)
    return c


def _tell_the_asker(c: Clarification) -> None:
    """The member who asked learns of the answer (in the inbox, and by mail in their language)."""
    asker = db.session.get(User, c.asked_by_id)
    if asker is None or not asker.active:
        return
    notify(
        [asker],
        "clarification.answered",
        N_("Your question was answered — %(title)s"),
        N_("Question: %(question)s\nAnswer: %(answer)s"),
        f"/tenders/{c.tender_id}#clarification-{c.id}",
        params={"title": c.tender.title, "question": c.question[:300], "answer": c.answer[:1000]},
    )
