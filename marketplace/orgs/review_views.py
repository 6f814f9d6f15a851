"""The officers' review and sanction desk: the queue, an organization's review page, and one POST per
decision (verify, reject, ask for information, suspend, debar, reinstate)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core.permissions import require
from marketplace.core.transaction import run_verb
from marketplace.core.web import get_or_404, page_args
from marketplace.extensions import db
from marketplace.orgs import review, sanctions
from marketplace.orgs.blueprint import bp
from marketplace.orgs.forms import ReasonForm, SanctionForm, VerifyForm
from marketplace.orgs.models import STATUSES, Organization


@bp.route("/review")
@login_required
def review_index():
    require(current_user, "org.review")
    status = request.args.get("status", "")
    if status not in STATUSES:
        status = ""
    page, per_page = page_args()
    pagination = db.paginate(review.review_queue_query(status), page=page, per_page=per_page, error_out=False)
    args = {"status": status} if status else {}
    return render_template(
        "orgs/review_index.html",
        pagination=pagination,
        status=status,
        statuses=STATUSES,
        args=args,
        waiting=review.waiting_count(),
    )


def _render_review(org: Organization, **forms):
    defaults = {
        "verify_form": VerifyForm(prefix="verify"),
        "reject_form": ReasonForm(prefix="reject"),
        "info_form": ReasonForm(prefix="info"),
        "suspend_form": SanctionForm(prefix="suspend"),
        "debar_form": SanctionForm(prefix="debar"),
        "reinstate_form": ReasonForm(prefix="reinstate"),
    }
    defaults.update(forms)
    return render_template("orgs/review.html", org=org, private=True, **defaults)


@bp.route("/<int:org_id>/review", endpoint="review")
@login_required
def review_page(org_id: int):
    org = get_or_404(Organization, org_id)
    require(current_user, "org.review", org)
    return _render_review(org)


def _decide(org_id: int, permission: str, form_name: str, make_form, verb, message: str):
    """Load, check permission, run the decision verb as this request's transaction."""
    org = get_or_404(Organization, org_id)
    require(current_user, permission, org)
    form = make_form()
    if form.validate_on_submit() and run_verb(form, lambda: verb(org, form)):
        flash(message, "success")
        return redirect(url_for("orgs.review", org_id=org.id))
    # A rule about the organization's state (not a field) goes on top: its form may not be shown.
    for problem in form.form_errors:
        flash(problem, "danger")
    form.form_errors = []
    return _render_review(org, **{form_name: form}), 400


@bp.route("/<int:org_id>/verify", methods=["POST"])
@login_required
def verify(org_id: int):
    return _decide(
        org_id,
        "org.review",
        "verify_form",
        lambda: VerifyForm(prefix="verify"),
        lambda org, form: review.verify(org, current_user),
        _("The organization is verified and may now bid."),
    )


@bp.route("/<int:org_id>/reject", methods=["POST"])
@login_required
def reject(org_id: int):
    return _decide(
        org_id,
        "org.review",
        "reject_form",
        lambda: ReasonForm(prefix="reject"),
        lambda org, form: review.reject(org, form.reason.data, current_user),
        _("The registration is rejected; the organization sees your reason."),
    )


@bp.route("/<int:org_id>/request-info", methods=["POST"])
@login_required
def request_info(org_id: int):
    return _decide(
        org_id,
        "org.review",
        "info_form",
        lambda: ReasonForm(prefix="info"),
        lambda org, form: review.request_info(org, form.reason.data, current_user),
        _("The organization is asked for more information."),
    )


@bp.route("/<int:org_id>/suspend", methods=["POST"])
@login_required
def suspend(org_id: int):
    return _decide(
        org_id,
        "org.sanction",
        "suspend_form",
        lambda: SanctionForm(prefix="suspend"),
        lambda org, form: sanctions.suspend(org, form.until.data, form.reason.data, current_user),
        _("The organization is suspended."),
    )


@bp.route("/<int:org_id>/debar", methods=["POST"])
@login_required
def debar(org_id: int):
    return _decide(
        org_id,
        "org.sanction",
        "debar_form",
        lambda: SanctionForm(prefix="debar"),
        lambda org, form: sanctions.debar(org, form.until.data, form.reason.data, current_user),
        _("The organization is debarred."),
    )


@bp.route("/<int:org_id>/reinstate", methods=["POST"])
@login_required
def reinstate(org_id: int):
    return _decide(
        org_id,
        "org.sanction",
        "reinstate_form",
        lambda: ReasonForm(prefix="reinstate"),
        lambda org, form: sanctions.reinstate(org, form.reason.data, current_user),
        _("The organization is reinstated."),
    )
