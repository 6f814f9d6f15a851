"""Delivery pages: service records, progress, reports, milestones, final acceptance, payments.

Each handler loads the contract (404 when it does not exist or the user may not view it, so its
existence is not revealed), checks the policy (403), then runs one verb of a ``contracts.delivery`` module as
the request's transaction. The public acceptance page shows the published result only.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from marketplace.contracts import delivery_forms
from marketplace.contracts.blueprint import bp
from marketplace.contracts.delivery import acceptance as acceptance_verbs
from marketplace.contracts.delivery import corrections
from marketplace.contracts.delivery import milestones as milestone_verbs
from marketplace.contracts.delivery import payments as payment_verbs
from marketplace.contracts.delivery import records as record_verbs
from marketplace.contracts.delivery import reports as report_verbs
from marketplace.contracts.delivery_forms import (
    AcceptanceForm,
    ActionForm,
    ProgressReportForm,
    RejectMilestoneForm,
    SubmitMilestoneForm,
)
from marketplace.contracts.models import (
    Contract,
    Milestone,
    MilestoneDocument,
    MilestoneSubmission,
    ServiceRecord,
    ServiceRecordDocument,
)
from marketplace.core import documents as document_store
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import can, require
from marketplace.core.templating import money
from marketplace.core.transaction import abandon, run_verb
from marketplace.core.web import apply_violation, get_or_404, paginate
from marketplace.extensions import db

# --- the published names and the contract page's partial ---------------------------------------


@bp.app_template_filter()
def masked_name(name: str) -> str:
    return acceptance_verbs.masked_name(name)


@bp.app_template_global()
def delivery_summary(contract: Contract) -> dict:
    """What ``contracts/_delivery.html`` shows on the contract page."""
    return {
        "progress": record_verbs.progress(contract),
        "ledger": payment_verbs.ledger(contract),
        "milestones": [(m, milestone_verbs.overdue_days(m)) for m in contract.milestones],
        "acceptance": acceptance_verbs.acceptance_of(contract),
        "acceptance_problems": acceptance_verbs.acceptance_problems(contract),
    }


def contract_url(contract: Contract) -> str:
    """The contract page (written by the contracts views); the records page until it exists."""
    try:
        return url_for("contracts.detail", contract_id=contract.id)
    except BuildError:
        return url_for("contracts.records", contract_id=contract.id)


# --- helpers -----------------------------------------------------------------------------------------


def _contract(contract_id: int) -> Contract:
    contract = get_or_404(Contract, contract_id)
    if not can(current_user, "contract.view", contract):
        abort(404)
    return contract


def _child(model, ident, **parent):
    """Load ``model`` by id; 404 unless it belongs to the given parent (``contract_id=...``)."""
    obj = get_or_404(model, ident)
    if any(getattr(obj, name) != value for name, value in parent.items()):
        abort(404)
    return obj


def _milestone(contract: Contract, milestone_id: int) -> Milestone:
    return _child(Milestone, milestone_id, contract_id=contract.id)


def _uploads(form) -> list:
    files = [f for f in (form.documents.data or []) if getattr(f, "filename", "")]
    return [document_store.store(f) for f in files]


def _run_with_files(form, verb) -> bool:
    """Store the uploads and run the verb as one transaction (nothing saved on a violation)."""
    try:
        verb(_uploads(form))
    except RuleViolation as exc:
        abandon()
        apply_violation(form, exc)
        return False
    return True


def _render(template: str, contract: Contract, status: int = 200, **context):
    return render_template(template, contract=contract, back_url=contract_url(contract), **context), status


def _form_if_allowed(contract: Contract, permission: str, make_form):
    """The page's form for those allowed ``permission`` (None for the others); a POST needs it (403)."""
    if request.method == "POST":
        require(current_user, permission, contract)
    return make_form() if can(current_user, permission, contract) else None


def _post(contract: Contract, form, run, message: str, endpoint: str):
    """Handle the form's POST: validate it, then ``run()`` the verb (True when it went through).

    Returns ``(redirect, 200)`` after a success (``message`` flashed, back to ``endpoint``), ``(None,
    400)`` when the form is to be shown again with its errors, ``(None, 200)`` when nothing was posted.
    """
    if form is None or not form.is_submitted():
        return None, 200
    if form.validate() and run():
        flash(message, "success")
        return redirect(url_for(endpoint, contract_id=contract.id)), 200
    return None, 400


# --- service records -----------------------------------------------------------------------------------


@bp.route("/contracts/<int:contract_id>/records", methods=["GET", "POST"])
@login_required
def records(contract_id: int):
    contract = _contract(contract_id)
    form = _form_if_allowed(contract, "contract.deliver", lambda: delivery_forms.record_form(contract))
    done, status = _post(
        contract,
        form,
        lambda: _run_with_files(
            form,
            lambda files: record_verbs.log_service_record(
                contract, delivery_forms.record_data(form), files, current_user
            ),
        ),
        _("The service is logged."),
        "contracts.records",
    )
    if done:
        return done
    filter_form, flt = delivery_forms.record_filter(contract, request.args)
    pagination = paginate(record_verbs.records_query(contract, flt))
    return _render(
        "contracts/delivery/records.html",
        contract,
        status,
        form=form,
        filter_form=filter_form,
        pagination=pagination,
        filter_args=delivery_forms.filter_args(flt),
        progress=record_verbs.progress(contract),
        versions=corrections.current_versions([r.id for r in pagination.items]),
    )


@bp.route("/contracts/<int:contract_id>/records/<int:record_id>/documents/<int:doc_id>")
@login_required
def record_document(contract_id: int, record_id: int, doc_id: int):
    record = _child(ServiceRecord, record_id, contract_id=_contract(contract_id).id)
    return document_store.send(_child(ServiceRecordDocument, doc_id, record_id=record.id))


# --- progress reports ------------------------------------------------------------------------------------


@bp.route("/contracts/<int:contract_id>/reports", methods=["GET", "POST"])
@login_required
def reports(contract_id: int):
    contract = _contract(contract_id)
    form = _form_if_allowed(contract, "contract.deliver", ProgressReportForm)
    done, status = _post(
        contract,
        form,
        lambda: run_verb(
            form,
            lambda: report_verbs.file_progress_report(
                contract,
                form.period_start.data,
                form.period_end.data,
                form.summary.data,
                form.issues.data or "",
                current_user,
            ),
            default_field="summary",
        ),
        _("The progress report is filed."),
        "contracts.reports",
    )
    if done:
        return done
    pagination = paginate(report_verbs.reports_query(contract))
    return _render("contracts/delivery/reports.html", contract, status, form=form, pagination=pagination)


# --- milestones -----------------------------------------------------------------------------------------


def _milestone_page(contract, milestone, status=200, *, submit_form=None, accept_form=None, reject_form=None):
    if submit_form is None and milestone_verbs.may_submit(milestone, current_user):
        submit_form = SubmitMilestoneForm(formdata=None)
    if milestone_verbs.may_accept(milestone, current_user):
        accept_form = accept_form or ActionForm(formdata=None)
    if milestone_verbs.may_reject(milestone, current_user):
        reject_form = reject_form or RejectMilestoneForm(formdata=None)
    errors = list(accept_form.form_errors) if accept_form is not None and status >= 400 else []
    return _render(
        "contracts/delivery/milestone.html",
        contract,
        status,
        milestone=milestone,
        overdue=milestone_verbs.overdue_days(milestone),
        submit_form=submit_form,
        accept_form=accept_form,
        reject_form=reject_form,
        errors=errors,
    )


def _milestone_for(contract_id: int, milestone_id: int, permission: str) -> tuple[Contract, Milestone]:
    """The contract and its milestone for an action the user must be allowed (403 otherwise)."""
    contract = _contract(contract_id)
    milestone = _milestone(contract, milestone_id)
    require(current_user, permission, contract)
    return contract, milestone


def _back_to_milestone(milestone: Milestone, message: str, category: str = "success"):
    flash(message, category)
    return redirect(
        url_for("contracts.milestone", contract_id=milestone.contract_id, milestone_id=milestone.id)
    )


@bp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>")
@login_required
def milestone(contract_id: int, milestone_id: int):
    contract = _contract(contract_id)
    return _milestone_page(contract, _milestone(contract, milestone_id))


@bp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/submit", methods=["GET", "POST"])
@login_required
def submit_milestone(contract_id: int, milestone_id: int):
    contract, milestone = _milestone_for(contract_id, milestone_id, "contract.deliver")
    form = SubmitMilestoneForm()
    if not form.is_submitted():
        return _milestone_page(contract, milestone)
    if form.validate() and _run_with_files(
        form, lambda files: milestone_verbs.submit_milestone(milestone, form.report.data, files, current_user)
    ):
        return _back_to_milestone(
            milestone, _("The milestone is submitted. The agency is asked to accept it.")
        )
    return _milestone_page(contract, milestone, 400, submit_form=form)


@bp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/accept", methods=["POST"])
@login_required
def accept_milestone(contract_id: int, milestone_id: int):
    contract, milestone = _milestone_for(contract_id, milestone_id, "contract.manage")
    form = ActionForm()
    if form.validate_on_submit() and run_verb(
        form, lambda: milestone_verbs.accept_milestone(milestone, current_user)
    ):
        return _back_to_milestone(
            milestone,
            _(
                "The milestone is accepted; its payment share of %(amount)s is due.",
                amount=money(milestone.amount),
            ),
        )
    if not form.form_errors:
        form.form_errors.append(_("The form expired. Reload the page and try again."))
    return _milestone_page(contract, milestone, 400, accept_form=form)


@bp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/reject", methods=["POST"])
@login_required
def reject_milestone(contract_id: int, milestone_id: int):
    contract, milestone = _milestone_for(contract_id, milestone_id, "contract.manage")
    form = RejectMilestoneForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: milestone_verbs.reject_milestone(milestone, form.reason.data, current_user),
        default_field="reason",
    ):
        return _back_to_milestone(
            milestone, _("The milestone is rejected. The organization is asked to resubmit it."), "info"
        )
    return _milestone_page(contract, milestone, 400, reject_form=form)


@bp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/documents/<int:doc_id>")
@login_required
def milestone_document(contract_id: int, milestone_id: int, doc_id: int):
    milestone = _milestone(_contract(contract_id), milestone_id)
    document = get_or_404(MilestoneDocument, doc_id)
    _child(MilestoneSubmission, document.submission_id, milestone_id=milestone.id)
    return document_store.send(document)


# --- final acceptance -------------------------------------------------------------------------------------


@bp.route("/contracts/<int:contract_id>/acceptance/new", methods=["GET", "POST"])
@login_required
def new_acceptance(contract_id: int):
    contract = _contract(contract_id)
    require(current_user, "contract.manage", contract)
    form = AcceptanceForm()
    done, status = _post(
        contract,
        form,
        lambda: run_verb(
            form,
            lambda: acceptance_verbs.final_acceptance(
                contract, delivery_forms.acceptance_data(form), current_user
            ),
            default_field="summary",
        ),
        _("The acceptance is recorded and its result published."),
        "contracts.acceptance",
    )
    if done:
        return done
    return _render(
        "contracts/delivery/acceptance_form.html",
        contract,
        status,
        form=form,
        problems=acceptance_verbs.acceptance_problems(contract),
        previous=acceptance_verbs.acceptance_of(contract),
    )


@bp.route("/contracts/<int:contract_id>/acceptance")
def acceptance(contract_id: int):
    """The published acceptance result (IR 45): public, without the representatives' full names."""
    contract = get_or_404(Contract, contract_id)
    result = acceptance_verbs.published_acceptance(contract)
    if result is None:
        abort(404)
    may_view = can(current_user, "contract.view", contract)
    return render_template(
        "contracts/delivery/acceptance.html",
        contract=contract,
        acceptance=result,
        communities=result.communities,
        may_view=may_view,
        back_url=contract_url(contract) if may_view else None,
    )


# --- payments -----------------------------------------------------------------------------------------------


@bp.route("/contracts/<int:contract_id>/payments", methods=["GET", "POST"])
@login_required
def payments(contract_id: int):
    contract = _contract(contract_id)
    form = _form_if_allowed(contract, "contract.manage", lambda: delivery_forms.payment_form(contract))

    def pay():
        milestone = db.session.get(Milestone, int(form.milestone.data)) if form.milestone.data else None
        return run_verb(
            form,
            lambda: payment_verbs.record_payment(
                contract, form.paid_on.data, form.amount.data, form.reference.data, milestone, current_user
            ),
            default_field="amount",
        )

    done, status = _post(contract, form, pay, _("The payment is recorded."), "contracts.payments")
    if done:
        return done
    return _render(
        "contracts/delivery/payments.html",
        contract,
        status,
        form=form,
        pagination=paginate(payment_verbs.payments_query(contract)),
        ledger=payment_verbs.ledger(contract),
        unpaid=payment_verbs.unpaid_shares(contract),
    )
