"""Auditor pages: contract histories and exports (read-only everywhere).

Every handler here only reads. An export writes one row, its own audit event, and commits it before
the file streams, so the log says who exported what even if the download is abandoned.
"""

from __future__ import annotations

import tempfile

from flask import Blueprint, Response, abort, flash, render_template, request, send_file, stream_with_context
from flask_login import current_user, login_required

from marketplace.audit import exports, filters
from marketplace.audit import history as timeline
from marketplace.audit.export_columns import EXPORT_KINDS
from marketplace.contracts.models import Contract
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import can, require
from marketplace.core.web import get_or_404, paginate

bp = Blueprint("auditor", __name__, url_prefix="/auditor", template_folder="templates")


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
    ), (400 if error else 200)


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
    exports.record_export(f, fmt, kind, current_user, "web")
    name = exports.filename(fmt, kind)
    if fmt == "xlsx":
        # openpyxl's write-only mode streams the sheets to disk; the finished file is sent from there.
        handle = tempfile.TemporaryFile()
        exports.write_xlsx(f, handle)
        handle.seek(0)
        return send_file(handle, mimetype=exports.MIMETYPES["xlsx"], as_attachment=True, download_name=name)
    # Rows are read and written as the client downloads; the request's context stays open meanwhile.
    chunks = exports.csv_chunks(f, kind) if fmt == "csv" else exports.json_chunks(f)
    return Response(
        stream_with_context(chunks),
        mimetype=exports.MIMETYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
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
