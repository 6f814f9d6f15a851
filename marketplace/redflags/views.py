"""The red-flags pages: flagged processes with their flags, the chart, a flag with its evidence, the
auditor's review, and the exports. Officers see their own agency's flags only; auditors and admins
every agency's; nobody else any."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.audit import log as audit
from marketplace.clock import now
from marketplace.core.messages import N_
from marketplace.core.permissions import can, require
from marketplace.core.transaction import run_verb
from marketplace.core.web import get_or_404, paginate
from marketplace.redflags import filters, indicators, labels, reads, services
from marketplace.redflags.models import RedFlag

bp = Blueprint("redflags", __name__, url_prefix="/red-flags", template_folder="templates")
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _filter():
    f, errors = filters.parse(request.args)
    return f, filters.conditions(f), errors


@bp.route("")
@login_required
def index():
    require(current_user, "redflags.view")
    f, conditions, errors = _filter()
    for message in errors:
        flash(message, "danger")
    pagination = paginate(reads.processes_query(current_user, conditions))
    flags = reads.flags_of(current_user, [t.id for t in pagination.items], conditions)
    see_all = can(current_user, "redflags.see_all")
    return render_template(
        "redflags/index.html",
        pagination=pagination,
        flags=flags,
        f=f,
        args=f.query_args(),
        choices=filters.choices(see_all, current_user.agency_id),
        chart=reads.per_agency_year(current_user, conditions),
        indicators=indicators.INDICATORS,
        see_all=see_all,
    ), (400 if errors else 200)


def _load(flag_id: int) -> RedFlag:
    flag = get_or_404(RedFlag, flag_id)
    if not can(current_user, "redflags.view_flag", flag):
        abort(404)  # another agency's flag: not even its existence
    return flag


@bp.route("/<int:flag_id>")
@login_required
def detail(flag_id: int):
    require(current_user, "redflags.view")
    flag = _load(flag_id)
    return render_template(
        "redflags/detail.html",
        flag=flag,
        indicator=indicators.INDICATORS.get(flag.indicator),
        links=reads.evidence_links(flag, current_user),
        note_max=services.NOTE_MAX,
    )


@bp.route("/<int:flag_id>/review", methods=["POST"])
@login_required
def review(flag_id: int):
    require(current_user, "redflags.review")
    flag = _load(flag_id)
    if run_verb(None, lambda: services.review_flag(flag, request.form.get("note", ""), current_user)):
        flash(_("The flag is marked reviewed. It stays on the process."), "success")
        return redirect(url_for("redflags.detail", flag_id=flag.id), code=303)
    return render_template(
        "redflags/detail.html",
        flag=flag,
        indicator=indicators.INDICATORS.get(flag.indicator),
        links=reads.evidence_links(flag, current_user),
        note_max=services.NOTE_MAX,
        note=request.form.get("note", "")[: services.NOTE_MAX * 2],
    ), 400


def _cell(value):
    """Spreadsheet programs run a cell starting with = + - @ as a formula: such text is quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _csv(rows) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(reads.EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _xlsx(rows) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("red_flags")
    ws.append(list(reads.EXPORT_COLUMNS))
    for row in rows:
        ws.append([_cell(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@bp.route("/export.<fmt>", methods=["POST"])
@login_required
def export(fmt: str):
    require(current_user, "redflags.view")
    if fmt not in FORMATS:
        abort(404)
    f, conditions, errors = _filter()
    if errors:
        abort(400, description=" ".join(errors))
    audit.record(
        current_user,
        "redflags.exported",
        "red_flags",
        "export",
        N_("Red flags exported (%(format)s)"),
        {"filter": f.query_args(), "format": fmt},
        params={"format": fmt},
    )
    name = f"red-flags-{now():%Y%m%d-%H%M}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    rows = reads.export_rows(current_user, conditions)
    if fmt == "xlsx":
        return Response(_xlsx(rows), mimetype=FORMATS[fmt], headers=headers)
    return Response(stream_with_context(_csv(rows)), mimetype=FORMATS[fmt], headers=headers)


@bp.app_template_filter("redflag_figures")
def _figure_items(figures: dict):
    return labels.figure_items(figures or {})
