"""The expert pool pages (admins) and the expert draws of the committee page (the agency's officers),
with the draws' record (officers, auditors, admins: the names drawn stay confidential to everyone else).

Each handler loads (404), checks the policy (403), then runs one verb as the request's transaction.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core.permissions import require
from marketplace.core.transaction import run_verb
from marketplace.core.web import form_status, get_or_404, paginate
from marketplace.tenders.committee import expert_draws, experts
from marketplace.tenders.committee.blueprint import bp
from marketplace.tenders.committee.dashboard import Failed, render_dashboard
from marketplace.tenders.committee.expert_forms import (
    AppointReserveForm,
    draw_form,
    expert_form,
    pool_filter_form,
    reserve_draw_form,
)
from marketplace.tenders.committee.models import CommitteeMember, Expert
from marketplace.tenders.models import Tender

# --- the pool (admins) ---------------------------------------------------------------------------------


@bp.route("/committee/experts")
@login_required
def experts_index():
    require(current_user, "experts.manage")
    filters = pool_filter_form(request.args)
    f = experts.PoolFilter(
        q=(filters.q.data or "").strip()[:100],
        category=filters.category.data or "",
        availability=filters.availability.data or "",
    )
    pagination = paginate(experts.pool_query(f))
    args = {k: v for k, v in (("q", f.q), ("category", f.category), ("availability", f.availability)) if v}
    return render_template(
        "committee/experts.html",
        pagination=pagination,
        filters=filters,
        args=args,
        is_available=experts.is_available,
    )


@bp.route("/committee/experts/new", methods=["GET", "POST"])
@login_required
def add_expert():
    require(current_user, "experts.manage")
    form = expert_form()
    if form.validate_on_submit() and run_verb(
        form, lambda: experts.add_expert(form.input_data(), current_user), default_field="user_id"
    ):
        flash(_("The expert is added to the pool."), "success")
        return redirect(url_for("committee.experts_index"))
    return render_template("committee/expert_form.html", form=form, expert=None), form_status(form)


@bp.route("/committee/experts/<int:expert_id>/edit", methods=["GET", "POST"])
@login_required
def edit_expert(expert_id: int):
    expert = get_or_404(Expert, expert_id)
    require(current_user, "experts.manage")
    form = expert_form(expert, formdata=request.method == "POST")
    if form.validate_on_submit() and run_verb(
        form, lambda: experts.edit_expert(expert, form.input_data(), current_user)
    ):
        flash(_("The expert's entry is saved."), "success")
        return redirect(url_for("committee.experts_index"))
    return render_template("committee/expert_form.html", form=form, expert=expert), form_status(form)


# --- the draws (the agency's officers) -----------------------------------------------------------------


def _stage_tender(tender_id: int) -> Tender:
    tender = get_or_404(Tender, tender_id)
    require(current_user, "committee.manage", tender)
    if not tender.bids_opened:
        abort(404)
    return tender


@bp.route("/committee/<int:tender_id>/draws", methods=["POST"])
@login_required
def draw_committee(tender_id: int):
    tender = _stage_tender(tender_id)
    form = draw_form(tender)
    if form.validate_on_submit():
        raw = {
            "category": form.category.data,
            "experts": form.experts.data,
            "reserves": form.reserves.data,
            "buyer_rep_id": form.buyer_rep.data,
        }
        if run_verb(
            form, lambda: expert_draws.draw_committee(tender, raw, current_user), default_field="experts"
        ):
            flash(
                _("The experts are drawn and appointed. They are asked to declare conflicts of interest."),
                "success",
            )
            return redirect(url_for("committee.dashboard", tender_id=tender.id, _anchor="committee"))
    return render_dashboard(tender, Failed("draw", form))


@bp.route("/committee/<int:tender_id>/draws/reserves", methods=["POST"])
@login_required
def draw_reserves(tender_id: int):
    tender = _stage_tender(tender_id)
    form = reserve_draw_form(tender)
    if form.validate_on_submit():
        raw = {"category": form.category.data, "reserves": form.reserves.data}
        if run_verb(
            form, lambda: expert_draws.draw_reserves(tender, raw, current_user), default_field="reserves"
        ):
            flash(_("The reserves are drawn."), "success")
            return redirect(url_for("committee.dashboard", tender_id=tender.id, _anchor="committee"))
    return render_dashboard(tender, Failed("reserve_draw", form))


@bp.route("/committee/<int:tender_id>/members/<int:member_id>/reserve", methods=["POST"])
@login_required
def appoint_reserve(tender_id: int, member_id: int):
    tender = _stage_tender(tender_id)
    member = get_or_404(CommitteeMember, member_id)
    if member.tender_id != tender.id:
        abort(404)
    form = AppointReserveForm()
    if form.validate_on_submit() and run_verb(
        form, lambda: expert_draws.appoint_reserve(member, current_user)
    ):
        flash(_("The next reserve is appointed."), "success")
        return redirect(url_for("committee.dashboard", tender_id=tender.id, _anchor="committee"))
    return render_dashboard(tender, Failed("reserve", form, member.id))


@bp.route("/committee/<int:tender_id>/draws")
@login_required
def draws(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "committee.draws", tender)
    records = expert_draws.draws_of(tender)
    return render_template(
        "committee/draws.html",
        tender=tender,
        records=records,
        experts={r.id: expert_draws.drawn_experts(r) for r in records},
        verified={r.id: expert_draws.verify(r) for r in records},
    )
