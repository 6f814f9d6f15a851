"""The officer's evaluation-and-award page: the forms on it and what each section shows.

A page with many forms: after a POST that failed, the form that failed is shown again with its
errors (:class:`Failed`), every other form starts empty. Whether a form is offered at all is the
services' decision (``formation_open``, ``qualification_open``, ``evaluation_open``, ``awardable``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.core.permissions import EVALUATOR, OFFICER
from marketplace.extensions import db
from marketplace.tenders.bids.opening import opened_bids
from marketplace.tenders.committee import awards, challenges, members, ranking, review, succession
from marketplace.tenders.committee.expert_forms import draw_section
from marketplace.tenders.committee.forms import (
    ActionForm,
    AnswerChallengeForm,
    AwardForm,
    CommitteeForm,
    PassOverForm,
    PriceReviewForm,
    QualifyForm,
    ReplaceForm,
)
from marketplace.tenders.models import EVALUATION, Tender


@dataclass
class Failed:
    """The form of a POST that failed: its section (``kind``), the row it acted on (a member, bid or
    challenge id) for per-row forms, and the form with its errors."""

    # committee | draw | reserve | reserve_draw | replace | qualify | price | conclude | award | answer
    # | retender | pass_over
    kind: str
    form: FlaskForm | None
    key: int | None = None

    def form_for(self, kind: str, key: int | None = None) -> FlaskForm | None:
        return self.form if self.kind == kind and self.key == key else None


NO_FAILURE = Failed("", None)  # a GET: every form starts empty


# --- forms whose choices come from the database ------------------------------------------------


def _user_label(user: User) -> str:
    return f"{user.name} <{user.email}>" if user.name else user.email


def _evaluators() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.role == EVALUATOR, User.active.is_(True)).order_by(User.name, User.email)
        )
    )


def _agency_officers(tender: Tender) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == OFFICER, User.agency_id == tender.agency_id, User.active.is_(True))
            .order_by(User.name, User.email)
        )
    )


def committee_form(tender: Tender, formdata=True) -> CommitteeForm:
    form = CommitteeForm() if formdata else CommitteeForm(formdata=None)
    form.committee_size = members.committee_size(tender)
    experts, officers = _evaluators(), _agency_officers(tender)
    form.members.choices = [(u.id, _user_label(u)) for u in experts]
    form.buyer_rep.choices = [("", _("— none —"))] + [(str(u.id), _user_label(u)) for u in officers]
    form.chair.choices = [("", _("— choose —"))] + [(str(u.id), _user_label(u)) for u in experts + officers]
    return form


def replace_form(tender: Tender, formdata=True) -> ReplaceForm:
    form = ReplaceForm() if formdata else ReplaceForm(formdata=None)
    seated = {m.user_id for m in members.committee(tender, active_only=False)}
    form.user.choices = [("", _("— choose —"))] + [
        (str(u.id), _user_label(u)) for u in _evaluators() if u.id not in seated
    ]
    return form


def award_form(tender: Tender, formdata=True) -> AwardForm:
    form = AwardForm() if formdata else AwardForm(formdata=None)
    # The award follows the ranking: only the next candidate not passed over can be chosen (O87 68).
    candidate = succession.next_candidate(tender)
    ranked = [candidate] if candidate is not None else []
    form.bid.choices = [
        (
            str(r.bid_id),
            f"{r.rank}. {r.bid.organization.name}" + (f" — {r.total}" if r.total is not None else ""),
        )
        for r in ranked
    ]
    if not formdata and ranked:
        form.bid.data = str(ranked[0].bid_id)
    return form


def _error_summary(form) -> list[str]:
    """Every message of a form that failed, for the summary at the top of a page with many forms (the
    form itself may not be on the page any more, e.g. after the state it acted on changed)."""
    messages = list(form.form_errors)
    for field in form:
        messages += [f"{field.label.text}: {e}" for e in field.errors]
    return messages


# --- the sections --------------------------------------------------------------------------------


def _committee_section(tender: Tender, failed: Failed) -> dict:
    seats = members.committee(tender, active_only=False)
    replace_forms = {}
    if members.needs_replacement(tender):
        for m in seats:
            if not m.active:
                replace_forms[m.id] = failed.form_for("replace", m.id) or replace_form(tender, False)
    form = None
    if members.formation_open(tender):
        form = failed.form_for("committee") or committee_form(tender, False)
    return {
        "members": seats,
        "active": [m for m in seats if m.active],
        "size": members.committee_size(tender),
        "committee_form": form,
        "replace_forms": replace_forms,
        **draw_section(tender, failed),
    }


def _review_section(tender: Tender, failed: Failed) -> dict:
    opened = opened_bids(tender)
    qualifications = {b.id: review.qualification_of(b) for b in opened}
    qualify_forms = {}
    for b in opened:
        q = qualifications[b.id]
        if review.qualification_open(tender, q):
            qualify_forms[b.id] = failed.form_for("qualify", b.id) or _filled_qualify_form(q)
    low_ids = review.abnormally_low_bids(tender) if opened else set()
    low_bids = [b for b in opened if b.id in low_ids]
    price_forms = {}
    if ranking.evaluation_open(tender):
        price_forms = {
            b.id: failed.form_for("price", b.id) or PriceReviewForm(formdata=None) for b in low_bids
        }
    return {
        "opened": opened,
        "qualifications": qualifications,
        "qualify_forms": qualify_forms,
        "low_bids": low_bids,
        "price_reviews": {b.id: review.price_review_of(b) for b in low_bids},
        "price_forms": price_forms,
    }


def _filled_qualify_form(q) -> QualifyForm:
    form = QualifyForm(formdata=None)
    if q is not None:
        form.result.data, form.reason.data = ("pass" if q.passed else "fail"), q.reason
    return form


def _ranking_section(tender: Tender, failed: Failed, seats: list) -> dict:
    concluded = ranking.concluded(tender)
    ranking_open = ranking.evaluation_open(tender)
    form = failed.form_for("award")
    if form is None and awards.awardable(tender):
        form = award_form(tender, False)
    return {
        "results": ranking.results(tender),
        "concluded": concluded,
        "ranking_open": ranking_open,
        "problems": ranking.evaluation_problems(tender) if ranking_open and seats else [],
        "conclude_form": failed.form_for("conclude") or ActionForm(formdata=None),
        "unsigned": [m for m in seats if m.active and m.signed_off_at is None]
        if concluded and tender.status == EVALUATION
        else [],
        "award_form": form,
        "pass_over_form": failed.form_for("pass_over")
        or (PassOverForm(formdata=None) if awards.pass_over_possible(tender) else None),
        "pass_overs": succession.pass_overs(tender),
        "next_candidate": succession.next_candidate(tender),
    }


def _award_section(tender: Tender, failed: Failed) -> dict:
    award = awards.latest_award(tender)
    rows = challenges.challenges_of(tender) if award else []
    return {
        "award": award,
        "challenges": rows,
        "answer_forms": {
            ch.id: failed.form_for("answer", ch.id) or AnswerChallengeForm(formdata=None)
            for ch in rows
            if ch.status == "open"
        },
        "retender_form": failed.form_for("retender") or ActionForm(formdata=None),
        "reruns": ranking.reruns_of(tender),
    }


def render_dashboard(tender: Tender, failed: Failed | None = None):
    """The page, with status 400 and an error summary when ``failed`` is given."""
    shown = failed or NO_FAILURE
    committee_part = _committee_section(tender, shown)
    return render_template(
        "committee/dashboard.html",
        tender=tender,
        error_summary=_error_summary(failed.form) if failed else [],
        **committee_part,
        **_review_section(tender, shown),
        **_ranking_section(tender, shown, committee_part["members"]),
        **_award_section(tender, shown),
        succession_grounds=succession.GROUNDS,
    ), (400 if failed else 200)
