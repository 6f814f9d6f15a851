"""Delivery pages: service records, progress, reports, milestones, final acceptance, payments.

Each handler loads the contract (404 when it does not exist or the user may not view it, so its
existence is not revealed), checks the policy (403), then runs one verb of ``contracts.delivery`` as
the request's transaction. The public acceptance page shows the published result only.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from marketplace.contracts import delivery
from marketplace.contracts.blueprint import bp
from marketplace.contracts.delivery_forms import (
    AcceptanceForm,
    ActionForm,
    PaymentForm,
    ProgressReportForm,
    RecordFilterForm,
    RejectMilestoneForm,
    ServiceRecordForm,
    SubmitMilestoneForm,
)
from marketplace.contracts.models import (
    ACTIVE,
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

# --- labels and the contract page's partial --------------------------------------------------------


@bp.app_template_filter()
def activity_label(code: str) -> str:
    return str(delivery.ACTIVITY_TYPES.get(code, code))


@bp.app_template_filter()
def delivery_status_label(status: str) -> str:
    return {
        "pending": _("Pending"),
        "submitted": _("Submitted, awaiting acceptance"),
        "rejected": _("Rejected: to be resubmitted"),
        "accepted": _("Accepted"),
    }.get(status, status)


@bp.app_template_filter()
def delivery_status_badge(status: str) -> str:
    return {"pending": "secondary", "submitted": "info", "rejected": "warning", "accepted": "success"}.get(
        status, "light"
    )


@bp.app_template_filter()
def acceptance_result_label(result: str) -> str:
    return str(delivery.ACCEPTANCE_RESULTS.get(result, result))


@bp.app_template_filter()
def masked_name(name: str) -> str:
    return delivery.masked_name(name)


@bp.app_template_global()
def delivery_summary(contract: Contract) -> dict:
    """What ``contracts/_delivery.html`` shows on the contract page."""
    return {
        "progress": delivery.progress(contract),
        "ledger": delivery.ledger(contract),
        "milestones": [(m, delivery.overdue_days(m)) for m in contract.milestones],
        "acceptance": delivery.acceptance_of(contract),
        "acceptance_problems": delivery.acceptance_problems(contract),
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


def _record_form(contract: Contract, formdata=True) -> ServiceRecordForm:
    form = ServiceRecordForm() if formdata else ServiceRecordForm(formdata=None)
    form.target_id.choices = [("", _("— none —"))] + [
        (str(t.id), f"{t.name} ({t.unit})") for t in contract.targets
    ]
    form.community_code.choices = [("", _("— none —"))] + [
        (c.code, f"{c.parent.name if c.parent else ''} {c.name}".strip())
        for c in delivery.communities_for(contract)
    ]
    return form


def _record_filter(contract: Contract) -> tuple[RecordFilterForm, delivery.RecordFilter]:
    form = RecordFilterForm(formdata=request.args)
    form.target.choices = [("", _("All"))] + [(str(t.id), t.name) for t in contract.targets]
    form.validate()
    target = form.target.data if not form.target.errors else ""
    return form, delivery.RecordFilter(
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
        activity_type=form.activity.data if not form.activity.errors else None,
        target_id=int(target) if target and str(target).isdigit() else None,
    )


@bp.route("/contracts/<int:contract_id>/records", methods=["GET", "POST"])
@login_required
def records(contract_id: int):
    contract = _contract(contract_id)
    form = _form_if_allowed(contract, "contract.deliver", lambda: _record_form(contract))

    def log():
        data = delivery.RecordInput(
            service_date=form.service_date.data,
            activity_type=form.activity_type.data,
            target_id=int(form.target_id.data) if form.target_id.data else None,
            quantity=form.quantity.data,
            beneficiaries=form.beneficiaries.data,
            hours=form.hours.data,
            community_code=form.community_code.data or None,
            notes=form.notes.data or "",
        )
        return _run_with_files(
            form, lambda files: delivery.log_service_record(contract, data, files, current_user)
        )

    done, status = _post(contract, form, log, _("The service is logged."), "contracts.records")
    if done:
        return done
    filter_form, flt = _record_filter(contract)
    pagination = paginate(delivery.records_query(contract, flt))
    args = {
        k: v
        for k, v in {
            "date_from": flt.date_from.isoformat() if flt.date_from else None,
            "date_to": flt.date_to.isoformat() if flt.date_to else None,
            "activity": flt.activity_type or None,
            "target": flt.target_id,
        }.items()
        if v
    }
    return _render(
        "contracts/delivery/records.html",
        contract,
        status,
        form=form,
        filter_form=filter_form,
        pagination=pagination,
        filter_args=args,
        progress=delivery.progress(contract),
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
            lambda: delivery.file_progress_report(
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
    pagination = paginate(delivery.reports_query(contract))
    return _render("contracts/delivery/reports.html", contract, status, form=form, pagination=pagination)


# --- milestones -----------------------------------------------------------------------------------------


def _milestone_page(contract, milestone, status=200, *, submit_form=None, accept_form=None, reject_form=None):
    may_deliver = can(current_user, "contract.deliver", contract) and contract.status == ACTIVE
    may_manage = can(current_user, "contract.manage", contract) and contract.status == ACTIVE
    if submit_form is None and may_deliver and milestone.status in ("pending", "rejected"):
        submit_form = SubmitMilestoneForm(formdata=None)
    if may_manage and milestone.status == "submitted" and not milestone.is_final:
        accept_form = accept_form or ActionForm(formdata=None)
    if may_manage and milestone.status == "submitted":
        reject_form = reject_form or RejectMilestoneForm(formdata=None)
    errors = []
    for f in (accept_form,):
        if f is not None and status >= 400:
            errors += list(f.form_errors)
    return _render(
        "contracts/delivery/milestone.html",
        contract,
        status,
        milestone=milestone,
        overdue=delivery.overdue_days(milestone),
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
        form, lambda files: delivery.submit_milestone(milestone, form.report.data, files, current_user)
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
        form, lambda: delivery.accept_milestone(milestone, current_user)
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
        lambda: delivery.reject_milestone(milestone, form.reason.data, current_user),
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

    def accept():
        people = [
            delivery.Representative(
                e.form.name.data or "", e.form.community.data or "", e.form.role.data or ""
            )
            for e in form.representatives
        ]
        return run_verb(
            form,
            lambda: delivery.final_acceptance(
                contract, form.result.data, form.summary.data, people, current_user
            ),
            default_field="summary",
        )

    done, status = _post(
        contract,
        form,
        accept,
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
        problems=delivery.acceptance_problems(contract),
        previous=delivery.acceptance_of(contract),
    )


@bp.route("/contracts/<int:contract_id>/acceptance")
def acceptance(contract_id: int):
    """The published acceptance result (IR 45): public, without the representatives' full names."""
    contract = get_or_404(Contract, contract_id)
    result = delivery.acceptance_of(contract)
    if result is None or result.published_at is None:
        abort(404)
    communities = sorted({p.get("community") for p in result.recipient_representatives if p.get("community")})
    return render_template(
        "contracts/delivery/acceptance.html",
        contract=contract,
        acceptance=result,
        communities=communities,
        may_view=can(current_user, "contract.view", contract),
        back_url=contract_url(contract) if can(current_user, "contract.view", contract) else None,
    )


# --- payments -----------------------------------------------------------------------------------------------


def _payment_form(contract: Contract, formdata=True) -> PaymentForm:
    form = PaymentForm() if formdata else PaymentForm(formdata=None)
    form.milestone.choices = [("", _("— not tied to a milestone —"))] + [
        (str(m.id), f"{m.deliverable} ({money(m.amount)})")
        for m in contract.milestones
        if m.status == "accepted"
    ]
    return form


@bp.route("/contracts/<int:contract_id>/payments", methods=["GET", "POST"])
@login_required
def payments(contract_id: int):
    contract = _contract(contract_id)
    form = _form_if_allowed(contract, "contract.manage", lambda: _payment_form(contract))

    def pay():
        milestone = db.session.get(Milestone, int(form.milestone.data)) if form.milestone.data else None
        return run_verb(
            form,
            lambda: delivery.record_payment(
                contract, form.paid_on.data, form.amount.data, form.reference.data, milestone, current_user
            ),
            default_field="amount",
        )

    done, status = _post(contract, form, pay, _("The payment is recorded."), "contracts.payments")
    if done:
        return done
    pagination = paginate(delivery.payments_query(contract))
    unpaid = {m.id: delivery.unpaid_share(m) for m in contract.milestones if m.status == "accepted"}
    return _render(
        "contracts/delivery/payments.html",
        contract,
        status,
        form=form,
        pagination=pagination,
        ledger=delivery.ledger(contract),
        unpaid=unpaid,
    )
