"""Invitation pages of an invited tender (邀请招标): the officer draws or recommends the organizations
to invite on the draft; the buyer's officers and auditors see who was invited and the recorded draws."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core.permissions import can, require
from marketplace.core.transaction import run_verb
from marketplace.core.web import get_or_404
from marketplace.tenders import invitations
from marketplace.tenders.forms import DrawForm, RecommendForm, RemoveInvitationForm
from marketplace.tenders.models import Tender, TenderInvitation
from marketplace.tenders.views import bp


def _page(tender: Tender, draw_form: DrawForm, recommend_form: RecommendForm, status: int = 200):
    may_invite = can(current_user, "tender.invite", tender)
    pool = invitations.uninvited_pool(tender) if may_invite else []
    recommend_form.organization_id.choices = [("", _("Choose…"))] + [(str(o.id), o.name) for o in pool]
    names = {i.organization_id: i.organization.name for i in tender.invitations}
    return render_template(
        "tenders/invitations.html",
        tender=tender,
        may_invite=may_invite,
        pool=pool,
        needed=invitations.min_invitations(tender),
        draws=invitations.draws_repeat(tender),
        names=names,
        draw_form=draw_form,
        recommend_form=recommend_form,
        remove_form=RemoveInvitationForm(),
    ), status


@bp.route("/<int:tender_id>/invitations")
@login_required
def invitation_list(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.view_invitations", tender)
    if not invitations.by_invitation(tender) and not tender.invitations:
        abort(404)
    return _page(tender, DrawForm(), RecommendForm())


@bp.route("/<int:tender_id>/invitations/draw", methods=["POST"])
@login_required
def invitation_draw(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.invite", tender)
    form = DrawForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: invitations.draw_invitations(tender, {"count": form.count.data}, current_user),
        default_field="count",
    ):
        flash(_("The draw is recorded and the organizations drawn are invited."), "success")
        return redirect(url_for("tenders.invitation_list", tender_id=tender.id))
    return _page(tender, form, RecommendForm(), 400)


@bp.route("/<int:tender_id>/invitations/recommend", methods=["POST"])
@login_required
def invitation_recommend(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.invite", tender)
    form = RecommendForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: invitations.recommend(
            tender,
            {
                "organization_id": form.organization_id.data or None,
                "recommended_by": form.recommended_by.data,
                "reason": form.reason.data,
            },
            current_user,
        ),
        default_field="organization_id",
    ):
        flash(_("The organization is invited on the written recommendation."), "success")
        return redirect(url_for("tenders.invitation_list", tender_id=tender.id))
    return _page(tender, DrawForm(), form, 400)


@bp.route("/<int:tender_id>/invitations/<int:invitation_id>/remove", methods=["POST"])
@login_required
def invitation_remove(tender_id: int, invitation_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.invite", tender)
    invitation = get_or_404(TenderInvitation, invitation_id)
    if invitation.tender_id != tender.id:
        abort(404)
    if RemoveInvitationForm().validate_on_submit() and run_verb(
        None, lambda: invitations.remove_invitation(invitation, current_user)
    ):
        flash(_("The invitation is removed."), "info")
    return redirect(url_for("tenders.invitation_list", tender_id=tender.id))
