"""Auditor pages: contract histories and exports (read-only everywhere).

Every handler here only reads, except exports: a small CSV export writes its audit event and commits
it before the file streams, so the log says who exported what even if the download is abandoned. An
XLSX or JSON export, or a CSV of more than ``EXPORT_STREAM_MAX_CONTRACTS`` contracts, becomes a
background task (:mod:`marketplace.audit.export_tasks`): its page shows the progress (reloading itself
with a ``Refresh`` header while it runs) and then a download button for the auditor who asked, only
(every download is an audit event, so it is a POST).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required

from marketplace.audit import export_tasks, exports, filters
from marketplace.audit import history as timeline
from marketplace.audit.export_columns import EXPORT_KINDS
from marketplace.audit.export_tasks import ExportTask
from marketplace.contracts.models import Contract
from marketplace.core import replica, tasks
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import can, require
from marketplace.core.web import get_or_404, paginate

bp = Blueprint("auditor", __name__, url_prefix="/auditor", template_folder="templates")
# Background exports run on the task queue (or in this process after the request's commit).
bp.record_once(lambda state: tasks.init_app(state.app))
STATUS_REFRESH_SECONDS = 2


def _filter() -> tuple[filters.ContractFilter, str | None]:
    """The filter in the query string, or an empty filter and the message of what was wrong."""
    try:
        return filters.parse_filter(request.args), None
    except RuleViolation as exc:
        return filters.ContractFilter(), exc.message


@bp.route("/contracts")
@login_required
def index():
    require(current_user, "audit.view")
    f, error = _filter()
    if error:
        flash(error, "danger")
    pagination = paginate(filters.contracts_query(f))
    return render_template(
        "audit/index.html",
        pagination=pagination,
        f=f,
        args=f.query_args(),
        choices=filters.filter_choices(),
        total=pagination.total,
        kinds=EXPORT_KINDS,
    ), (400 if error else 200)


@bp.route("/exports")
@login_required
def exports_page():
    require(current_user, "audit.view")
    f, error = _filter()
    if error:
        flash(error, "danger")
    return render_template(
        "audit/exports.html",
        f=f,
        args=f.query_args(),
        choices=filters.filter_choices(),
        total=filters.count(f),
        kinds=EXPORT_KINDS,
        recent=export_tasks.recent_exports(current_user),
    ), (400 if error else 200)


def _in_background(fmt: str, f: filters.ContractFilter) -> bool:
    if fmt != "csv":
        return True
    return filters.count(f) > int(current_app.config["EXPORT_STREAM_MAX_CONTRACTS"])


@bp.route("/contracts/export.<fmt>", methods=["POST"])
@login_required
def export(fmt: str):
    require(current_user, "audit.view")
    if fmt not in exports.FORMATS:
        abort(404)
    kind = request.values.get("kind", "contracts")
    if kind not in EXPORT_KINDS:
        abort(400)
    try:
        f = filters.parse_filter(request.args)
    except RuleViolation as exc:
        abort(400, description=exc.message)
    if _in_background(fmt, f):
        task = export_tasks.request_export(f, fmt, kind, current_user)
        tasks.enqueue(
            "marketplace.audit.export_worker:run_export",
            task.id,
            queue=current_app.config["EXPORT_QUEUE"],
            timeout=int(current_app.config["EXPORT_TASK_TIMEOUT"]),
        )
        return redirect(url_for("auditor.export_status", export_id=task.id), code=303)
    exports.record_export(f, fmt, kind, current_user, "web")
    name = exports.filename(fmt, kind)
    # Rows are read and written as the client downloads; the request's context stays open meanwhile.
    return Response(
        stream_with_context(replica.routed(exports.csv_chunks(f, kind))),
        mimetype=exports.MIMETYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _own_export(export_id: int) -> ExportTask:
    """Load, check: auditors and admins only (403), and only the one who asked (404 for the others)."""
    require(current_user, "audit.view")
    task = get_or_404(ExportTask, export_id)
    if not task.owned_by(current_user):
        abort(404)
    return task


@bp.route("/exports/<int:export_id>")
@login_required
def export_status(export_id: int):
    task = _own_export(export_id)
    state = task.state()
    response = current_app.make_response(
        render_template("audit/export_status.html", task=task, state=state, filters=task.filters)
    )
    if state in (export_tasks.QUEUED, export_tasks.RUNNING):
        response.headers["Refresh"] = str(STATUS_REFRESH_SECONDS)
    return response


@bp.route("/exports/<int:export_id>/download", methods=["POST"])
@login_required
def export_download(export_id: int):
    task = _own_export(export_id)
    path = export_tasks.file_of(task)
    if not task.downloadable() or path is None or not path.is_file():
        abort(404)
    export_tasks.record_download(task, current_user)
    return send_file(
        path,
        mimetype=exports.MIMETYPES[task.format],
        as_attachment=True,
        download_name=task.download_name,
        max_age=0,
    )


@bp.route("/contracts/<int:contract_id>/history")
@login_required
def history(contract_id: int):
    contract = get_or_404(Contract, contract_id)
    # Both parties, auditors and admins; anyone else is told nothing (404, never reveal it exists).
    if not can(current_user, "contract.view", contract):
        abort(404)
    supplier_view = timeline.is_supplier_view(current_user, contract)
    entries = timeline.history(contract, supplier_view=supplier_view)
    return render_template(
        "audit/history.html",
        contract=contract,
        entries=entries,
        show_accounts=not supplier_view,
        auditor=can(current_user, "audit.view"),
    )
