"""The committee members' own pages: their seats, the conflict declaration, scoring and signing the
report. Another person's seat is a 404 (not disclosed)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.core.permissions import can, require
from marketplace.core.transaction import run_verb
from marketplace.core.web import abort_with, form_status, get_or_404, paginate
from marketplace.tenders.bids.opening import opened_bids
from marketplace.tenders.committee import members, ranking, scores
from marketplace.tenders.committee.blueprint import bp
from marketplace.tenders.committee.forms import ActionForm, declare_form_class, score_form_class
from marketplace.tenders.committee.models import CommitteeMember
from marketplace.tenders.committee.review import qualified_bids


def _seat(member_id: int) -> CommitteeMember:
    """The current user's own committee seat; another person's seat is a 404 (not disclosed)."""
    member = get_or_404(CommitteeMember, member_id)
    require(current_user, "committee.mine")
    if not can(current_user, "committee.seat", member):
        abort(404)
    return member


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
        steps={m.id: ranking.next_step(m) for m in pagination.items},
    )


@bp.route("/committee/seats/<int:member_id>/declare", methods=["GET", "POST"])
@login_required
def declare(member_id: int):
    member = _seat(member_id)
    tender = member.tender
    bids = opened_bids(tender)
    form = declare_form_class(bids)()
    if form.validate_on_submit():
        conflicts = {
            b.id: (bool(getattr(form, f"conflict_{b.id}").data), getattr(form, f"note_{b.id}").data or "")
            for b in bids
        }
        outcome: list[bool] = []
        if run_verb(form, lambda: outcome.append(members.declare(member, conflicts, current_user))):
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


def _fill_scores(form, own: dict) -> None:
    for (bid_id, criterion_id), s in own.items():
        if hasattr(form, f"points_{bid_id}_{criterion_id}"):
            getattr(form, f"points_{bid_id}_{criterion_id}").data = s.points
            getattr(form, f"comment_{bid_id}_{criterion_id}").data = s.comment


def _entries(form, bids, criteria) -> dict:
    return {
        (b.id, c.id): (
            getattr(form, f"points_{b.id}_{c.id}").data,
            getattr(form, f"comment_{b.id}_{c.id}").data or "",
        )
        for b in bids
        for c in criteria
    }


@bp.route("/committee/seats/<int:member_id>/score", methods=["GET", "POST"])
@login_required
def score(member_id: int):
    member = _seat(member_id)
    tender = member.tender
    hidden = members.bids_hidden_reason(member)
    if hidden:
        abort_with(403, hidden)
    bids = qualified_bids(tender)
    criteria = tender.technical_criteria
    form = score_form_class(bids, criteria)()
    own = scores.scores_of(member)
    if not form.is_submitted():
        _fill_scores(form, own)
    elif form.validate_on_submit():
        entries = _entries(form, bids, criteria)
        submitting = bool(form.submit_scores.data)
        if run_verb(form, lambda: scores.save_scores(member, entries, current_user, submit=submitting)):
            if submitting:
                flash(_("Your scores are submitted. You can now see the other members' scores."), "success")
            else:
                flash(_("Your scores are saved. Submit them when you have scored every bid."), "info")
            return redirect(url_for("committee.score", member_id=member.id))
    visible = scores.visible_scores(tender, member)
    return render_template(
        "committee/score.html",
        member=member,
        tender=tender,
        bids=bids,
        criteria=criteria,
        form=form,
        own=own,
        others=[m for m in members.committee(tender) if m.id in visible and m.id != member.id],
        visible=visible,
        sign_form=ActionForm(formdata=None) if ranking.next_step(member) == "sign" else None,
    ), form_status(form)


@bp.route("/committee/seats/<int:member_id>/sign-off", methods=["POST"])
@login_required
def sign_off(member_id: int):
    member = _seat(member_id)
    form = ActionForm()
    if form.validate_on_submit() and run_verb(form, lambda: ranking.sign_off(member, current_user)):
        flash(_("You signed the evaluation report."), "success")
        return redirect(url_for("committee.score", member_id=member.id))
    abort_with(400, "; ".join(form.form_errors) or _("The report could not be signed."))
