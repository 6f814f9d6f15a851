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
from marketplace.contracts import policy as _policy  # noqa: F401 - registers the contract.* rules
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
from marketplace.core.web import apply_violation, commit_verb, get_or_404, page_args
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


def _milestone(contract: Contract, milestone_id: int) -> Milestone:
    milestone = get_or_404(Milestone, milestone_id)
    if milestone.contract_id != contract.id:
        abort(404)
    return milestone


def _uploads(form) -> list:
    files = [f for f in (form.documents.data or []) if getattr(f, "filename", "")]
    return [document_store.store(f) for f in files]


def _run_with_files(form, verb) -> bool:
    """Store the uploads and run the verb as one transaction (nothing saved on a violation)."""
    try:
        verb(_uploads(form))
    except RuleViolation as exc:
        db.session.rollback()
        apply_violation(form, exc)
        return False
    db.session.commit()
    return True


def _render(template: str, contract: Contract, status: int = 200, **context):
    return render_template(template, contract=contract, back_url=contract_url(contract), **context), status


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
    if request.method == "POST":
        require(current_user, "contract.deliver", contract)
    form = _record_form(contract) if can(current_user, "contract.deliver", contract) else None
    status = 200
    if request.method == "POST":
        if form.validate():
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
            if _run_with_files(
                form, lambda files: delivery.log_service_record(contract, data, files, current_user)
            ):
                flash(_("The service is logged."), "success")
                return redirect(url_for("contracts.records", contract_id=contract.id))
        status = 400
    filter_form, flt = _record_filter(contract)
    page, per_page = page_args()
    pagination = db.paginate(
        delivery.records_query(contract, flt), page=page, per_page=per_page, error_out=False
    )
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
    contract = _contract(contract_id)
    record = get_or_404(ServiceRecord, record_id)
    document = get_or_404(ServiceRecordDocument, doc_id)
    if record.contract_id != contract.id or document.record_id != record.id:
        abort(404)
    return document_store.send(document)


# --- progress reports ------------------------------------------------------------------------------------


@bp.route("/contracts/<int:contract_id>/reports", methods=["GET", "POST"])
@login_required
def reports(contract_id: int):
    contract = _contract(contract_id)
    if request.method == "POST":
        require(current_user, "contract.deliver", contract)
    form = ProgressReportForm() if can(current_user, "contract.deliver", contract) else None
    status = 200
    if request.method == "POST":
        if form.validate() and commit_verb(
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
        ):
            flash(_("The progress report is filed."), "success")
            return redirect(url_for("contracts.reports", contract_id=contract.id))
        status = 400
    page, per_page = page_args()
    pagination = db.paginate(delivery.reports_query(contract), page=page, per_page=per_page, error_out=False)
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


@bp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>")
@login_required
def milestone(contract_id: int, milestone_id: int):
    contract = _contract(contract_id)
    return _milestone_page(contract, _milestone(contract, milestone_id))


@bp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/submit", methods=["GET", "POST"])
@login_required
def submit_milestone(contract_id: int, milestone_id: int):
    contract = _contract(contract_id)
    milestone = _milestone(contract, milestone_id)
    require(current_user, "contract.deliver", contract)
    form = SubmitMilestoneForm()
    if not form.is_submitted():
        return _milestone_page(contract, milestone)
    if form.validate() and _run_with_files(
        form, lambda files: delivery.submit_milestone(milestone, form.report.data, files, current_user)
    ):
        flash(_("The milestone is submitted. The agency is asked to accept it."), "success")
        return redirect(url_for("contracts.milestone", contract_id=contract.id, milestone_id=milestone.id))
    return _milestone_page(contract, milestone, 400, submit_form=form)


@bp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/accept", methods=["POST"])
@login_required
def accept_milestone(contract_id: int, milestone_id: int):
    contract = _contract(contract_id)
    milestone = _milestone(contract, milestone_id)
    require(current_user, "contract.manage", contract)
    form = ActionForm()
    if form.validate_on_submit() and commit_verb(
        form, lambda: delivery.accept_milestone(milestone, current_user)
    ):
        flash(
            _(
                "The milestone is accepted; its payment share of %(amount)s is due.",
                amount=f"¥{milestone.amount:,.2f}",
            ),
            "success",
        )
        return redirect(url_for("contracts.milestone", contract_id=contract.id, milestone_id=milestone.id))
    if not form.form_errors:
        form.form_errors.append(_("The form expired. Reload the page and try again."))
    return _milestone_page(contract, milestone, 400, accept_form=form)


@bp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/reject", methods=["POST"])
@login_required
def reject_milestone(contract_id: int, milestone_id: int):
    contract = _contract(contract_id)
    milestone = _milestone(contract, milestone_id)
    require(current_user, "contract.manage", contract)
    form = RejectMilestoneForm()
    if form.validate_on_submit() and commit_verb(
        form,
        lambda: delivery.reject_milestone(milestone, form.reason.data, current_user),
        default_field="reason",
    ):
        flash(_("The milestone is rejected. The organization is asked to resubmit it."), "info")
        return redirect(url_for("contracts.milestone", contract_id=contract.id, milestone_id=milestone.id))
    return _milestone_page(contract, milestone, 400, reject_form=form)


@bp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/documents/<int:doc_id>")
@login_required
def milestone_document(contract_id: int, milestone_id: int, doc_id: int):
    contract = _contract(contract_id)
    milestone = _milestone(contract, milestone_id)
    document = get_or_404(MilestoneDocument, doc_id)
    submission = db.session.get(MilestoneSubmission, document.submission_id)
    if submission is None or submission.milestone_id != milestone.id:
        abort(404)
    return document_store.send(document)


# --- final acceptance -------------------------------------------------------------------------------------


@bp.route("/contracts/<int:contract_id>/acceptance/new", methods=["GET", "POST"])
@login_required
def new_acceptance(contract_id: int):
    contract = _contract(contract_id)
    require(current_user, "contract.manage", contract)
    form = AcceptanceForm()
    status = 200
    if form.is_submitted():
        if form.validate():
            people = [
                delivery.Representative(
                    e.form.name.data or "", e.form.community.data or "", e.form.role.data or ""
                )
                for e in form.representatives
            ]
            if commit_verb(
                form,
                lambda: delivery.final_acceptance(
                    contract, form.result.data, form.summary.data, people, current_user
                ),
                default_field="summary",
            ):
                flash(_("The acceptance is recorded and its result published."), "success")
                return redirect(url_for("contracts.acceptance", contract_id=contract.id))
        status = 400
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
        (str(m.id), f"{m.deliverable} (¥{m.amount:,.2f})")
        for m in contract.milestones
        if m.status == "accepted"
    ]
    return form


@bp.route("/contracts/<int:contract_id>/payments", methods=["GET", "POST"])
@login_required
def payments(contract_id: int):
    contract = _contract(contract_id)
    if request.method == "POST":
        require(current_user, "contract.manage", contract)
    form = _payment_form(contract) if can(current_user, "contract.manage", contract) else None
    status = 200
    if request.method == "POST":
        if form.validate():
            milestone = None
            if form.milestone.data:
                milestone = db.session.get(Milestone, int(form.milestone.data))
            if commit_verb(
                form,
                lambda: delivery.record_payment(
                    contract,
                    form.paid_on.data,
                    form.amount.data,
                    form.reference.data,
                    milestone,
                    current_user,
                ),
                default_field="amount",
            ):
                flash(_("The payment is recorded."), "success")
                return redirect(url_for("contracts.payments", contract_id=contract.id))
        status = 400
    page, per_page = page_args()
    pagination = db.paginate(delivery.payments_query(contract), page=page, per_page=per_page, error_out=False)
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
