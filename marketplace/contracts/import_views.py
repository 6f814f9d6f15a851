"""Service-record import and correction pages (issue 19, issue 20).

Import: upload a CSV or XLSX file → a preview of every row with its errors (nothing stored) → when the
whole file is valid it is staged on the server and the user confirms → every record is stored in
one transaction. The confirmation names the staged import by id only; its rows are read from the
server and checked again, never taken from the client. Templates download in both languages.

Correction: a record's page shows its versions; the organization corrects it with a reason.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.contracts import delivery_forms
from marketplace.contracts.blueprint import bp
from marketplace.contracts.delivery import corrections, import_files, imports
from marketplace.contracts.delivery.checks import today
from marketplace.contracts.delivery.models import ServiceImport
from marketplace.contracts.delivery.records import communities_for
from marketplace.contracts.delivery_forms import ActionForm, ImportForm
from marketplace.contracts.delivery_views import _contract, contract_url
from marketplace.contracts.models import Contract, ServiceRecord
from marketplace.core import documents as document_store
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import can, require
from marketplace.core.transaction import abandon, doom
from marketplace.core.web import apply_violation, get_or_404
from marketplace.extensions import db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _importer(contract_id: int) -> Contract:
    """The contract (404 unless the user may view it) for a member of its organization (403)."""
    contract = _contract(contract_id)
    require(current_user, "contract.deliver", contract)
    return contract


def _import_page(contract: Contract, status: int = 200, **context):
    context.setdefault("form", ImportForm(formdata=None))
    return (
        render_template(
            "contracts/delivery/import.html",
            contract=contract,
            back_url=contract_url(contract),
            columns=import_files.COLUMNS,
            headers={
                n: (import_files.header_label(n, "en"), import_files.header_label(n, "zh"))
                for n in import_files.COLUMNS
            },
            max_rows=import_files.MAX_ROWS,
            **context,
        ),
        status,
    )


@bp.route("/contracts/<int:contract_id>/records/import", methods=["GET", "POST"])
@login_required
def import_records(contract_id: int):
    contract = _importer(contract_id)
    if request.method == "GET":
        return _import_page(contract)
    form = ImportForm()
    upload = form.file.data
    if not form.validate() or not getattr(upload, "filename", ""):
        if not getattr(upload, "filename", ""):
            form.file.errors = [*form.file.errors, _("Choose a .csv or .xlsx file to upload.")]
        return _import_page(contract, 400, form=form)
    data = upload.read(import_files.MAX_BYTES + 1)
    filename = document_store.clean_filename(upload.filename)
    try:
        preview = imports.preview_file(contract, filename, data, current_user)
    except RuleViolation as exc:
        abandon()
        form.file.errors = [*form.file.errors, exc.message]
        return _import_page(contract, 400, form=form)
    if preview.previous is not None:
        doom()  # the page says when it was imported; nothing is staged again
        return _import_page(contract, 409, form=form, preview=preview)
    if not preview.valid:
        doom()  # nothing is staged while a row is invalid
        return _import_page(contract, 400, form=form, preview=preview)
    batch = imports.staged(contract, _staged_id(contract, preview.digest))
    return _import_page(contract, 200, preview=preview, batch=batch, confirm_form=ActionForm(formdata=None))


def _staged_id(contract: Contract, digest: str) -> int | None:
    return db.session.scalar(
        select(ServiceImport.id).where(
            ServiceImport.contract_id == contract.id, ServiceImport.digest == digest
        )
    )


@bp.route("/contracts/<int:contract_id>/records/import/<int:import_id>/confirm", methods=["POST"])
@login_required
def confirm_import(contract_id: int, import_id: int):
    contract = _importer(contract_id)
    batch = imports.staged(contract, import_id)
    if batch is None:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Upload the file again."), "danger")
        return redirect(url_for("contracts.import_records", contract_id=contract.id))
    try:
        records = imports.confirm_import(contract, batch, current_user)
    except imports.AlreadyImported as exc:
        abandon()
        flash(exc.message, "warning")
        return redirect(url_for("contracts.records", contract_id=contract.id))
    except imports.InvalidImport as exc:
        abandon()
        flash(exc.message, "danger")
        return _import_page(contract, 400, preview=exc.preview)
    except RuleViolation as exc:
        abandon()
        flash(exc.message, "danger")
        return redirect(url_for("contracts.import_records", contract_id=contract.id))
    flash(_("%(n)d service records were imported.", n=len(records)), "success")
    return redirect(url_for("contracts.records", contract_id=contract.id))


@bp.route("/contracts/<int:contract_id>/records/import/template.<fmt>")
@login_required
def import_template(contract_id: int, fmt: str):
    """The template in the language asked for (``?lang=zh`` or ``en``; the reader's by default)."""
    contract = _contract(contract_id)
    if fmt not in import_files.FORMATS:
        abort(404)
    language = request.args.get("lang", "")
    if language not in ("zh", "en"):
        language = "zh" if str(get_locale() or "en").startswith("zh") else "en"
    targets = [t.name for t in contract.targets]
    communities = [c.name for c in communities_for(contract)]
    example_day = max(contract.term_start, min(today(), contract.term_end))
    if fmt == "csv":
        data, mime = (
            import_files.template_csv(language, example_day, targets, communities),
            "text/csv; charset=utf-8",
        )
    else:
        data, mime = import_files.template_xlsx(language, example_day, targets, communities), XLSX
    name = f"{'服务记录模板' if language == 'zh' else 'service-records-template'}-{contract.reference}.{fmt}"
    return document_store.send_bytes(data, mime, name)


# --- one record: its history and its correction ------------------------------------------------------


def _record(contract: Contract, record_id: int) -> ServiceRecord:
    record = get_or_404(ServiceRecord, record_id)
    if record.contract_id != contract.id:
        abort(404)
    return record


def _record_page(contract, record, form=None, status=200):
    versions = corrections.history(record)
    ids = {v.entered_by_id for v in versions} | {v.replaced_by_id for v in versions if v.replaced_by_id}
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    return (
        render_template(
            "contracts/delivery/record.html",
            contract=contract,
            record=record,
            versions=versions,
            people=people,
            form=form,
            back_url=contract_url(contract),
        ),
        status,
    )


@bp.route("/contracts/<int:contract_id>/records/<int:record_id>", methods=["GET", "POST"])
@login_required
def record(contract_id: int, record_id: int):
    contract = _contract(contract_id)
    record = _record(contract, record_id)
    may_correct = can(current_user, "contract.deliver", contract) and contract.is_active
    if request.method == "GET":
        form = delivery_forms.correction_form(contract, record, formdata=False) if may_correct else None
        return _record_page(contract, record, form)
    require(current_user, "contract.deliver", contract)
    form = delivery_forms.correction_form(contract, record)
    if form.validate():
        try:
            corrections.correct_service_record(
                record, delivery_forms.record_data(form), form.reason.data or "", current_user
            )
        except RuleViolation as exc:
            abandon()
            apply_violation(form, exc, "reason")
        else:
            flash(_("The correction is saved; the earlier version stays in the record's history."), "success")
            return redirect(url_for("contracts.record", contract_id=contract.id, record_id=record.id))
    return _record_page(contract, record, form, 400)
