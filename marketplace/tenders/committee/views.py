"""Evaluation and award pages: the officer's dashboard, the evaluation report, the committee members'
declarations and scores, and the public award notice with its challenge form.

Each handler loads (404), checks the policy (403), then runs one service verb as the request's
transaction. What a viewer may see (bids, other members' scores, committee names) is decided by
``award.services``, not by the templates.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.core import documents as document_store
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import EVALUATOR, OFFICER, can, require
from marketplace.core.transaction import abandon, run_verb
from marketplace.core.web import abort_with, apply_violation, form_status, get_or_404, paginate
from marketplace.extensions import db
from marketplace.tenders import procedures
from marketplace.tenders.bids import services as bid_services
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.committee import services
from marketplace.tenders.committee.forms import (
    ActionForm,
    AnswerChallengeForm,
    AwardForm,
    ChallengeForm,
    CommitteeForm,
    PriceReviewForm,
    QualifyForm,
    ReplaceForm,
    declare_form_class,
    score_form_class,
)
from marketplace.tenders.committee.models import Award, Challenge, CommitteeMember
from marketplace.tenders.models import AWARDED, EVALUATION, FAILED, OPENED, Tender

bp = Blueprint("committee", __name__, template_folder="templates")

STAGE_STATUSES = (OPENED, EVALUATION, AWARDED, FAILED)


# --- labels and the tender page's link ------------------------------------------------------------


@bp.app_template_global("award_status")
def award_status(tender, award) -> str | None:
    """The award's status as of now (final once the challenge window closed), for the pages."""
    return services.award_status(tender, award)


@bp.app_template_filter()
def award_status_label(status: str) -> str:
    return {
        "notice": _("Notice period"),
        "final": _("Final"),
        "annulled": _("Annulled"),
    }.get(status, status)


@bp.app_template_filter()
def challenge_status_label(status: str) -> str:
    return {"open": _("Awaiting an answer"), "upheld": _("Upheld"), "dismissed": _("Dismissed")}.get(
        status, status
    )


@bp.app_template_filter()
def challenge_outcome_label(outcome: str | None) -> str:
    return {
        "reevaluate": _("The committee evaluates again"),
        "fail": _("The tender fails"),
    }.get(outcome or "", "")


@bp.app_template_filter()
def committee_role_label(role: str) -> str:
    return {"expert": _("Independent expert"), "buyer_rep": _("Buyer's representative")}.get(role, role)


@bp.app_template_filter()
def stage_status_label(status: str) -> str:
    return {
        OPENED: _("Bids opened"),
        EVALUATION: _("Under evaluation"),
        AWARDED: _("Awarded"),
        FAILED: _("Failed"),
    }.get(status, status)


@bp.app_template_global()
def latest_award(tender: Tender) -> Award | None:
    """The tender's most recent award (annulled ones included): the notice page exists once there is one."""
    return db.session.scalar(select(Award).where(Award.tender_id == tender.id).order_by(Award.id.desc()))


# --- helpers ----------------------------------------------------------------------------------------


def _stage_tender(tender_id: int) -> Tender:
    tender = get_or_404(Tender, tender_id)
    require(current_user, "committee.manage", tender)
    if tender.status not in STAGE_STATUSES:
        abort(404)
    return tender


def _opened_bid(tender: Tender, bid_id: int) -> Bid:
    bid = next((b for b in services.opened_bids(tender) if b.id == bid_id), None)
    if bid is None:
        abort(404)
    return bid


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


def _committee_form(tender: Tender, formdata=True) -> CommitteeForm:
    form = CommitteeForm() if formdata else CommitteeForm(formdata=None)
    experts, officers = _evaluators(), _agency_officers(tender)
    form.members.choices = [(u.id, _user_label(u)) for u in experts]
    form.buyer_rep.choices = [("", _("— none —"))] + [(str(u.id), _user_label(u)) for u in officers]
    form.chair.choices = [("", _("— choose —"))] + [(str(u.id), _user_label(u)) for u in experts + officers]
    return form


def _replace_form(tender: Tender, formdata=True) -> ReplaceForm:
    form = ReplaceForm() if formdata else ReplaceForm(formdata=None)
    seated = {m.user_id for m in services.committee(tender, active_only=False)}
    form.user.choices = [("", _("— choose —"))] + [
        (str(u.id), _user_label(u)) for u in _evaluators() if u.id not in seated
    ]
    return form


def _award_form(tender: Tender, formdata=True) -> AwardForm:
    form = AwardForm() if formdata else AwardForm(formdata=None)
    ranked = [r for r in services.results(tender) if r.rank]
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


def _dashboard(
    tender: Tender,
    status: int = 200,
    *,
    committee_form=None,
    replace=None,
    qualify=None,
    price=None,
    conclude_form=None,
    award_form=None,
    answer=None,
    retender_form=None,
):
    """The officer's page. ``replace``, ``qualify``, ``price`` and ``answer`` are ``(id, form)`` of a
    per-row form that failed, shown with its errors; every other form starts empty."""
    failed_form = next(
        (
            f[1] if isinstance(f, tuple) else f
            for f in (
                committee_form,
                replace,
                qualify,
                price,
                conclude_form,
                award_form,
                answer,
                retender_form,
            )
            if f is not None
        ),
        None,
    )
    in_evaluation = tender.status == EVALUATION
    members = services.committee(tender, active_only=False)
    active = [m for m in members if m.active]
    size = procedures.profile(tender.method).committee_size_for(tender.budget_ceiling)
    opened = services.opened_bids(tender)
    qualifications = {b.id: services.qualification_of(b) for b in opened}

    def row_form(cls, failed, key, fill=None):
        if failed and failed[0] == key:
            return failed[1]
        form = cls(formdata=None)
        if fill:
            fill(form)
        return form

    qualify_forms = {}
    for b in opened:
        q = qualifications[b.id]

        def fill(form, q=q):
            if q is not None:
                form.result.data, form.reason.data = ("pass" if q.passed else "fail"), q.reason

        qualify_forms[b.id] = row_form(QualifyForm, qualify, b.id, fill)
    low_ids = services.abnormally_low_bids(tender) if opened else set()
    low_bids = [b for b in opened if b.id in low_ids]
    price_reviews = {b.id: services.price_review_of(b) for b in low_bids}
    price_forms = {b.id: row_form(PriceReviewForm, price, b.id) for b in low_bids}

    needs_replacement = (
        bool(members) and in_evaluation and bool(services.composition_problems(tender, active))
    )
    replace_forms = {}
    if needs_replacement:
        for m in members:
            if not m.active:
                replace_forms[m.id] = (
                    replace[1] if replace and replace[0] == m.id else _replace_form(tender, False)
                )

    results = services.results(tender)
    concluded = services.concluded(tender)
    award = latest_award(tender)
    challenges = (
        list(
            db.session.scalars(
                select(Challenge).where(Challenge.tender_id == tender.id).order_by(Challenge.id)
            )
        )
        if award
        else []
    )
    answer_forms = {
        ch.id: row_form(AnswerChallengeForm, answer, ch.id) for ch in challenges if ch.status == "open"
    }
    reruns = (
        list(db.session.scalars(select(Tender).where(Tender.retender_of_id == tender.id).order_by(Tender.id)))
        if tender.status == FAILED
        else []
    )
    return render_template(
        "committee/dashboard.html",
        tender=tender,
        error_summary=_error_summary(failed_form) if status >= 400 and failed_form is not None else [],
        members=members,
        active=active,
        size=size,
        committee_form=committee_form or (_committee_form(tender, False) if not members else None),
        replace_forms=replace_forms,
        opened=opened,
        qualifications=qualifications,
        qualify_forms=qualify_forms,
        scores_submitted=any(m.scores_submitted_at for m in active),
        low_bids=low_bids,
        price_reviews=price_reviews,
        price_forms=price_forms,
        problems=services.evaluation_problems(tender) if in_evaluation and members else [],
        conclude_form=conclude_form or ActionForm(formdata=None),
        results=results,
        concluded=concluded,
        unsigned=[m for m in active if m.signed_off_at is None],
        award_form=award_form or (_award_form(tender, False) if in_evaluation and concluded else None),
        award=award,
        challenges=challenges,
        answer_forms=answer_forms,
        retender_form=retender_form or ActionForm(formdata=None),
        reruns=reruns,
    ), status


# --- officer: the dashboard and its verbs ---------------------------------------------------------


@bp.route("/committee/<int:tender_id>")
@login_required
def dashboard(tender_id: int):
    tender = _stage_tender(tender_id)
    return _dashboard(tender)


@bp.route("/committee/<int:tender_id>/members", methods=["POST"])
@login_required
def form_committee(tender_id: int):
    tender = _stage_tender(tender_id)
    form = _committee_form(tender)
    if form.validate_on_submit():
        ids = list(form.members.data) + ([int(form.buyer_rep.data)] if form.buyer_rep.data else [])
        users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
        chair = int(form.chair.data)
        appointments = [services.Appointment(users[i], "expert", i == chair) for i in form.members.data]
        if form.buyer_rep.data:
            rep = int(form.buyer_rep.data)
            appointments.append(services.Appointment(users[rep], "buyer_rep", rep == chair))
        if run_verb(
            form, lambda: services.form_committee(tender, appointments, current_user), default_field="members"
        ):
            flash(
                _("The committee is appointed. Its members are asked to declare conflicts of interest."),
                "success",
            )
            return redirect(url_for("committee.dashboard", tender_id=tender.id))
    return _dashboard(tender, 400, committee_form=form)


@bp.route("/committee/<int:tender_id>/members/<int:member_id>/replace", methods=["POST"])
@login_required
def replace_member(tender_id: int, member_id: int):
    tender = _stage_tender(tender_id)
    member = get_or_404(CommitteeMember, member_id)
    if member.tender_id != tender.id:
        abort(404)
    form = _replace_form(tender)
    if form.validate_on_submit():
        new_user = db.session.get(User, int(form.user.data))
        if run_verb(
            form, lambda: services.replace_member(member, new_user, current_user), default_field="user"
        ):
            flash(_("The replacement is appointed."), "success")
            return redirect(url_for("committee.dashboard", tender_id=tender.id))
    return _dashboard(tender, 400, replace=(member.id, form))


@bp.route("/committee/<int:tender_id>/bids/<int:bid_id>/qualify", methods=["POST"])
@login_required
def qualify(tender_id: int, bid_id: int):
    tender = _stage_tender(tender_id)
    bid = _opened_bid(tender, bid_id)
    form = QualifyForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: services.qualify(tender, bid, form.result.data == "pass", form.reason.data, current_user),
    ):
        flash(_("The qualification of %(name)s is recorded.", name=bid.organization.name), "success")
        return redirect(url_for("committee.dashboard", tender_id=tender.id, _anchor="qualification"))
    return _dashboard(tender, 400, qualify=(bid.id, form))


@bp.route("/committee/<int:tender_id>/bids/<int:bid_id>/price-review", methods=["POST"])
@login_required
def review_price(tender_id: int, bid_id: int):
    tender = _stage_tender(tender_id)
    bid = _opened_bid(tender, bid_id)
    form = PriceReviewForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: services.review_price(
            tender, bid, form.decision.data == "accept", form.justification.data, current_user
        ),
    ):
        flash(_("The price review of %(name)s is recorded.", name=bid.organization.name), "success")
        return redirect(url_for("committee.dashboard", tender_id=tender.id, _anchor="prices"))
    return _dashboard(tender, 400, price=(bid.id, form))


@bp.route("/committee/<int:tender_id>/conclude", methods=["POST"])
@login_required
def conclude(tender_id: int):
    tender = _stage_tender(tender_id)
    form = ActionForm()
    if form.validate_on_submit() and run_verb(form, lambda: services.conclude(tender, current_user)):
        if tender.status == FAILED:
            flash(_("The tender failed: %(reason)s", reason=tender.failure_reason), "warning")
        else:
            flash(_("The ranking is computed. The members now sign the evaluation report."), "success")
        return redirect(url_for("committee.dashboard", tender_id=tender.id, _anchor="results"))
    return _dashboard(tender, 400, conclude_form=form)


@bp.route("/committee/<int:tender_id>/award", methods=["POST"])
@login_required
def confirm_award(tender_id: int):
    tender = _stage_tender(tender_id)
    form = _award_form(tender)
    if form.validate_on_submit():
        bid = db.session.get(Bid, int(form.bid.data))
        if run_verb(form, lambda: services.confirm_award(tender, bid, form.reason.data, current_user)):
            flash(_("The award notice is published."), "success")
            return redirect(url_for("committee.dashboard", tender_id=tender.id, _anchor="award"))
    return _dashboard(tender, 400, award_form=form)


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
        lambda: services.answer_challenge(
            challenge,
            form.decision.data == "uphold",
            form.answer.data,
            form.outcome.data or None,
            current_user,
        ),
    ):
        flash(_("The answer is sent to the challenger."), "success")
        return redirect(url_for("committee.dashboard", tender_id=tender.id, _anchor="challenges"))
    return _dashboard(tender, 400, answer=(challenge.id, form))


@bp.route("/committee/<int:tender_id>/retender", methods=["POST"])
@login_required
def retender(tender_id: int):
    tender = _stage_tender(tender_id)
    form = ActionForm()
    drafts: list[Tender] = []
    if form.validate_on_submit() and run_verb(
        form, lambda: drafts.append(services.retender(tender, current_user))
    ):
        flash(_("A new draft copies the failed tender. Check it, then publish it."), "success")
        return redirect(url_for("tenders.edit", tender_id=drafts[0].id))
    return _dashboard(tender, 400, retender_form=form)


# --- the evaluation report ------------------------------------------------------------------------


@bp.route("/committee/<int:tender_id>/report")
@login_required
def report(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "committee.report", tender)
    results = services.results(tender)
    if not results:
        abort(404)
    concluded = services.concluded(tender)
    viewer = services.membership(tender, current_user)
    if concluded:
        scores = services.visible_scores(tender, None, officer_view=True)
    else:  # a new round is being scored: its scores stay under the usual rule until it is concluded
        scores = services.visible_scores(tender, viewer) if viewer is not None else {}
    members = services.committee(tender, active_only=False)
    scored_members = [m for m in members if m.id in scores]
    opened = services.opened_bids(tender)
    qualified = services.qualified_bids(tender)
    criteria = tender.technical_criteria
    ranked = [r for r in results if r.rank]
    return render_template(
        "committee/report.html",
        tender=tender,
        members=members,
        scored_members=scored_members,
        scores=scores,
        concluded=concluded,
        opened=opened,
        qualified=qualified,
        qualifications={b.id: services.qualification_of(b) for b in opened},
        price_reviews={b.id: services.price_review_of(b) for b in opened},
        criteria=criteria,
        means=services.mean_scores(scores, qualified, criteria),
        results=results,
        benchmark=min((r.evaluated_price for r in ranked), default=None),
        price_weight=tender.price_criterion.weight if tender.price_criterion else 0,
        deductions={r.bid_id: services.price_deduction_percent(r) for r in results},
        award=latest_award(tender),
    )


# --- committee members ------------------------------------------------------------------------------


def _seat(member_id: int) -> CommitteeMember:
    """The current user's own committee seat; another person's seat is a 404 (not disclosed)."""
    member = get_or_404(CommitteeMember, member_id)
    require(current_user, "committee.mine")
    if not can(current_user, "committee.seat", member):
        abort(404)
    return member


def _next_step(member: CommitteeMember) -> str:
    tender = member.tender
    if not member.active:
        return "removed"
    if tender.status not in (EVALUATION, AWARDED):
        return "closed"
    if member.declared_at is None:
        return "declare"
    if member.scores_submitted_at is None:
        return "score"
    if not services.concluded(tender):
        return "wait"
    if member.signed_off_at is None:
        return "sign"
    return "done"


@bp.route("/committee/seats")
@login_required
def evaluations():
    require(current_user, "committee.mine")
    pagination = paginate(
        select(CommitteeMember)
        .where(CommitteeMember.user_id == current_user.id)
        .order_by(CommitteeMember.appointed_at.desc(), CommitteeMember.id.desc())
    )
    return render_template(
        "committee/evaluations.html",
        pagination=pagination,
        steps={m.id: _next_step(m) for m in pagination.items},
    )


@bp.route("/committee/seats/<int:member_id>/declare", methods=["GET", "POST"])
@login_required
def declare(member_id: int):
    member = _seat(member_id)
    tender = member.tender
    bids = services.opened_bids(tender)
    form = declare_form_class(bids)()
    if form.validate_on_submit():
        conflicts = {
            b.id: (bool(getattr(form, f"conflict_{b.id}").data), getattr(form, f"note_{b.id}").data or "")
            for b in bids
        }
        outcome: list[bool] = []
        if run_verb(form, lambda: outcome.append(services.declare(member, conflicts, current_user))):
            if outcome[0]:
                flash(_("Your declaration is recorded. You can now read and score the bids."), "success")
                return redirect(url_for("committee.score", member_id=member.id))
            flash(
                _("You declared a conflict of interest and are removed from this committee. Thank you."),
                "warning",
            )
            return redirect(url_for("committee.declare", member_id=member.id))
    return render_template(
        "committee/declare.html", member=member, tender=tender, bids=bids, form=form
    ), form_status(form)


@bp.route("/committee/seats/<int:member_id>/score", methods=["GET", "POST"])
@login_required
def score(member_id: int):
    member = _seat(member_id)
    tender = member.tender
    if not services.member_may_see_bids(member):
        if not member.active:
            abort_with(403, _("You were removed from this committee."))
        if member.declared_at is None:
            abort_with(
                403,
                _("Declare that you have no conflict of interest with any bidder before you see the bids."),
            )
        abort_with(403, _("The bids can be read only while the evaluation is in progress."))
    bids = services.qualified_bids(tender)
    criteria = tender.technical_criteria
    form = score_form_class(bids, criteria)()
    own = services.scores_of(member)
    if not form.is_submitted():
        for (bid_id, criterion_id), s in own.items():
            if hasattr(form, f"points_{bid_id}_{criterion_id}"):
                getattr(form, f"points_{bid_id}_{criterion_id}").data = s.points
                getattr(form, f"comment_{bid_id}_{criterion_id}").data = s.comment
    elif form.validate_on_submit():
        entries = {
            (b.id, c.id): (
                getattr(form, f"points_{b.id}_{c.id}").data,
                getattr(form, f"comment_{b.id}_{c.id}").data or "",
            )
            for b in bids
            for c in criteria
        }
        submitting = bool(form.submit_scores.data)
        if run_verb(form, lambda: services.save_scores(member, entries, current_user, submit=submitting)):
            if submitting:
                flash(_("Your scores are submitted. You can now see the other members' scores."), "success")
            else:
                flash(_("Your scores are saved. Submit them when you have scored every bid."), "info")
            return redirect(url_for("committee.score", member_id=member.id))
    visible = services.visible_scores(tender, member)
    others = [m for m in services.committee(tender) if m.id in visible and m.id != member.id]
    concluded = services.concluded(tender)
    return render_template(
        "committee/score.html",
        member=member,
        tender=tender,
        bids=bids,
        criteria=criteria,
        form=form,
        own=own,
        others=others,
        visible=visible,
        concluded=concluded,
        sign_form=ActionForm(formdata=None)
        if concluded and member.scores_submitted_at and not member.signed_off_at
        else None,
    ), form_status(form)


@bp.route("/committee/seats/<int:member_id>/sign-off", methods=["POST"])
@login_required
def sign_off(member_id: int):
    member = _seat(member_id)
    form = ActionForm()
    if form.validate_on_submit() and run_verb(form, lambda: services.sign_off(member, current_user)):
        flash(_("You signed the evaluation report."), "success")
        return redirect(url_for("committee.score", member_id=member.id))
    abort_with(400, "; ".join(form.form_errors) or _("The report could not be signed."))


# --- the public award notice and challenges ----------------------------------------------------------


def _notice(tender: Tender, award: Award, form: ChallengeForm | None = None, status: int = 200):
    results = services.results(tender)
    winner = next((r for r in results if r.bid_id == award.bid_id), None)
    answered = list(
        db.session.scalars(
            select(Challenge)
            .where(Challenge.tender_id == tender.id, Challenge.status != "open")
            .order_by(Challenge.answered_at, Challenge.id)
        )
    )
    own_bid = own_result = own_qualification = None
    own_challenges = []
    if current_user.is_authenticated and current_user.organization_id is not None:
        own_bid = next(
            (
                b
                for b in services.opened_bids(tender)
                if bid_services.is_member(current_user, b.organization_id)
            ),
            None,
        )
        if own_bid is not None:
            own_result = services.result_for_bid(own_bid)
            own_qualification = services.qualification_of(own_bid)
            own_challenges = list(
                db.session.scalars(
                    select(Challenge)
                    .where(
                        Challenge.tender_id == tender.id, Challenge.organization_id == own_bid.organization_id
                    )
                    .order_by(Challenge.id)
                )
            )
    may_challenge = services.award_status(tender, award) == "notice" and can(
        current_user, "committee.challenge", tender
    )
    return render_template(
        "committee/notice.html",
        tender=tender,
        award=award,
        winner=winner,
        valid_count=sum(1 for r in results if r.rank),
        committee=services.committee(tender) if services.committee_names_public(tender) else [],
        answered=answered,
        own_bid=own_bid,
        own_result=own_result,
        own_qualification=own_qualification,
        own_challenges=own_challenges,
        form=(form or ChallengeForm(formdata=None)) if may_challenge else None,
    ), status


@bp.route("/tenders/<int:tender_id>/notice")
def notice(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.view", tender)
    award = latest_award(tender)
    if award is None:
        abort(404)
    return _notice(tender, award)


@bp.route("/tenders/<int:tender_id>/challenges", methods=["POST"])
@login_required
def file_challenge(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    award = services.current_award(tender)
    if award is None:
        abort(404)
    require(current_user, "committee.challenge", tender)
    form = ChallengeForm()
    if form.validate_on_submit():
        uploads = [f for f in (form.documents.data or []) if getattr(f, "filename", "")]
        try:
            stored = [document_store.store(f) for f in uploads]
            services.file_challenge(award, form.grounds.data, stored, current_user)
        except RuleViolation as exc:
            abandon()
            apply_violation(form, exc, default_field="grounds")
        else:
            flash(_("Your challenge is filed. The agency answers it within 7 working days."), "success")
            return redirect(url_for("committee.notice", tender_id=tender.id))
    return _notice(tender, award, form=form, status=400)
