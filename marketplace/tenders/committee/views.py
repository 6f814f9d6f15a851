"""Evaluation and award pages of the procuring agency: the dashboard with its verbs, and the evaluation
report. The members' own pages are in :mod:`.seat_views`, the public award notice in :mod:`.notice_views`.

Each handler loads (404), checks the policy (403), then runs one service verb as the request's
transaction. What a viewer may see (bids, other members' scores, committee names) is decided by the
services, not by the templates.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.core.permissions import require
from marketplace.core.transaction import run_verb
from marketplace.core.web import get_or_404
from marketplace.extensions import db
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.bids.opening import opened_bids
from marketplace.tenders.committee import (
    awards,
    challenges,
    experts_views,  # noqa: F401 - its routes are on bp
    members,
    notice_views,  # noqa: F401 - its routes are on bp
    ranking,
    review,
    seat_views,  # noqa: F401 - its routes are on bp
    succession,
)
from marketplace.tenders.committee.blueprint import bp
from marketplace.tenders.committee.dashboard import (
    Failed,
    award_form,
    committee_form,
    render_dashboard,
    replace_form,
)
from marketplace.tenders.committee.forms import (
    ActionForm,
    AnswerChallengeForm,
    PassOverForm,
    PriceReviewForm,
    QualifyForm,
)
from marketplace.tenders.committee.models import Challenge, CommitteeMember
from marketplace.tenders.committee.scores import mean_scores
from marketplace.tenders.models import FAILED, Tender


def _stage_tender(tender_id: int) -> Tender:
    tender = get_or_404(Tender, tender_id)
    require(current_user, "committee.manage", tender)
    if not tender.bids_opened:
        abort(404)
    return tender


def _opened_bid(tender: Tender, bid_ref: str) -> Bid:
    """An opened bid of ``tender`` by its public id (the sequential id is never in a URL: issue 17)."""
    bid = next((b for b in opened_bids(tender) if b.public_id == bid_ref), None)
    if bid is None:
        abort(404)
    return bid


# --- officer: the dashboard and its verbs ---------------------------------------------------------


@bp.route("/committee/<int:tender_id>")
@login_required
def dashboard(tender_id: int):
    tender = _stage_tender(tender_id)
    return render_dashboard(tender)


@bp.route("/committee/<int:tender_id>/members", methods=["POST"])
@login_required
def form_committee(tender_id: int):
    tender = _stage_tender(tender_id)
    form = committee_form(tender)
    if form.validate_on_submit():
        ids = list(form.members.data) + ([int(form.buyer_rep.data)] if form.buyer_rep.data else [])
        users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
        chair = int(form.chair.data)
        appointments = [members.Appointment(users[i], "expert", i == chair) for i in form.members.data]
        if form.buyer_rep.data:
            rep = int(form.buyer_rep.data)
            appointments.append(members.Appointment(users[rep], "buyer_rep", rep == chair))
        if run_verb(
            form, lambda: members.form_committee(tender, appointments, current_user), default_field="members"
        ):
            flash(
                _("The committee is appointed. Its members are asked to declare conflicts of interest."),
                "success",
            )
            return redirect(url_for("committee.dashboard", tender_id=tender.id))
    return render_dashboard(tender, Failed("committee", form))


@bp.route("/committee/<int:tender_id>/members/<int:member_id>/replace", methods=["POST"])
@login_required
def replace_member(tender_id: int, member_id: int):
    tender = _stage_tender(tender_id)
    member = get_or_404(CommitteeMember, member_id)
    if member.tender_id != tender.id:
        abort(404)
    form = replace_form(tender)
    if form.validate_on_submit():
        new_user = db.session.get(User, int(form.user.data))
        if run_verb(
            form, lambda: members.replace_member(member, new_user, current_user), default_field="user"
        ):
            flash(_("The replacement is appointed."), "success")
            return redirect(url_for("committee.dashboard", tender_id=tender.id))
    return render_dashboard(tender, Failed("replace", form, member.id))


@bp.route("/committee/<int:tender_id>/bids/<public_id:bid_ref>/qualify", methods=["POST"])
@login_required
def qualify(tender_id: int, bid_ref: str):
    tender = _stage_tender(tender_id)
    bid = _opened_bid(tender, bid_ref)
    form = QualifyForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: review.qualify(tender, bid, form.result.data == "pass", form.reason.data, current_user),
    ):
        flash(_("The qualification of %(name)s is recorded.", name=bid.organization.name), "success")
        return redirect(url_for("committee.dashboard", tender_id=tender.id, _anchor="qualification"))
    return render_dashboard(tender, Failed("qualify", form, bid.id))


@bp.route("/committee/<int:tender_id>/bids/<public_id:bid_ref>/price-review", methods=["POST"])
@login_required
def review_price(tender_id: int, bid_ref: str):
    tender = _stage_tender(tender_id)
    bid = _opened_bid(tender, bid_ref)
    form = PriceReviewForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: review.review_price(
            tender, bid, form.decision.data == "accept", form.justification.data, current_user
        ),
    ):
        flash(_("The price review of %(name)s is recorded.", name=bid.organization.name), "success")
        return redirect(url_for("committee.dashboard", tender_id=tender.id, _anchor="prices"))
    return render_dashboard(tender, Failed("price", form, bid.id))


@bp.route("/committee/<int:tender_id>/conclude", methods=["POST"])
@login_required
def conclude(tender_id: int):
    tender = _stage_tender(tender_id)
    form = ActionForm()
    if form.validate_on_submit() and run_verb(form, lambda: ranking.conclude(tender, current_user)):
        if tender.status == FAILED:
            flash(_("The tender failed: %(reason)s", reason=tender.failure_reason), "warning")
        else:
            flash(_("The ranking is computed. The members now sign the evaluation report."), "success")
        return redirect(url_for("committee.dashboard", tender_id=tender.id, _anchor="results"))
    return render_dashboard(tender, Failed("conclude", form))


@bp.route("/committee/<int:tender_id>/award", methods=["POST"])
@login_required
def confirm_award(tender_id: int):
    tender = _stage_tender(tender_id)
    form = award_form(tender)
    if form.validate_on_submit():
        bid = db.session.get(Bid, int(form.bid.data))
        if run_verb(form, lambda: awards.confirm_award(tender, bid, form.reason.data, current_user)):
            flash(_("The award notice is published."), "success")
            return redirect(url_for("committee.dashboard", tender_id=tender.id, _anchor="award"))
    return render_dashboard(tender, Failed("award", form))


@bp.route("/committee/<int:tender_id>/pass-over", methods=["POST"])
@login_required
def pass_over(tender_id: int):
    tender = _stage_tender(tender_id)
    form = PassOverForm()
    candidate = succession.next_candidate(tender)
    if form.validate_on_submit() and candidate is not None:
        raw = {"ground": form.ground.data, "reason": form.reason.data}
        if run_verb(form, lambda: awards.pass_over(tender, candidate.bid, raw, current_user)):
            flash(_("The candidate is passed over; the award goes to the next in rank order."), "info")
            return redirect(url_for("committee.dashboard", tender_id=tender.id, _anchor="award"))
    return render_dashboard(tender, Failed("pass_over", form))


@bp.route("/committee/<int:tender_id>/challenges/<int:challenge_id>/answer", methods=["POST"])
@login_required
def answer_challenge(tender_id: int, challenge_id: int):
    tender = _stage_tender(tender_id)
    challenge = get_or_404(Challenge, challenge_id)
    if challenge.tender_id != tender.id:
        abort(404)
    form = AnswerChallengeForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: challenges.answer_challenge(
            challenge,
            form.decision.data == "uphold",
            form.answer.data,
            form.outcome.data or None,
            current_user,
        ),
    ):
        flash(_("The answer is sent to the challenger."), "success")
        return redirect(url_for("committee.dashboard", tender_id=tender.id, _anchor="challenges"))
    return render_dashboard(tender, Failed("answer", form, challenge.id))


@bp.route("/committee/<int:tender_id>/retender", methods=["POST"])
@login_required
def retender(tender_id: int):
    tender = _stage_tender(tender_id)
    form = ActionForm()
    drafts: list[Tender] = []
    if form.validate_on_submit() and run_verb(
        form, lambda: drafts.append(ranking.retender(tender, current_user))
    ):
        flash(_("A new draft copies the failed tender. Check it, then publish it."), "success")
        return redirect(url_for("tenders.edit", tender_id=drafts[0].id))
    return render_dashboard(tender, Failed("retender", form))


# --- the evaluation report ------------------------------------------------------------------------


@bp.route("/committee/<int:tender_id>/report")
@login_required
def report(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "committee.report", tender)
    results = ranking.results(tender)
    if not results:
        abort(404)
    scores = ranking.report_scores(tender, members.membership(tender, current_user))
    seats = members.committee(tender, active_only=False)
    opened = opened_bids(tender)
    qualified = review.qualified_bids(tender)
    criteria = tender.technical_criteria
    return render_template(
        "committee/report.html",
        tender=tender,
        members=seats,
        scored_members=[m for m in seats if m.id in scores],
        scores=scores,
        concluded=ranking.concluded(tender),
        opened=opened,
        qualified=qualified,
        qualifications={b.id: review.qualification_of(b) for b in opened},
        price_reviews={b.id: review.price_review_of(b) for b in opened},
        criteria=criteria,
        means=mean_scores(scores, qualified, criteria),
        results=results,
        benchmark=ranking.benchmark_price(results),
        price_weight=tender.price_criterion.weight if tender.price_criterion else 0,
        deductions={r.bid_id: ranking.price_deduction_percent(r) for r in results},
        award=awards.latest_award(tender),
        earlier_rounds=ranking.earlier_rounds(tender),
    )
