"""The admins' run log of the scheduled jobs, and "run now"."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from marketplace.core import jobruns
from marketplace.core.permissions import require
from marketplace.core.web import page_args
from marketplace.extensions import db, login_manager
from marketplace.jobs.registry import JOBS
from marketplace.jobs.runner import run_job

bp = Blueprint("jobs", __name__)


def _require_admin():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    require(current_user, "jobs.admin")
    return None


@bp.route("/admin/jobs")
def runs():
    refused = _require_admin()
    if refused is not None:
        return refused
    job = request.args.get("job", "").strip()
    status = request.args.get("status", "").strip()
    job = job if job in JOBS else ""
    status = status if status in ("ok", "error", "skipped", "running") else ""
    page, per_page = page_args()
    pagination = db.paginate(jobruns.runs_query(job, status), page=page, per_page=per_page, error_out=False)
    args = {k: v for k, v in {"job": job, "status": status}.items() if v}
    return render_template(
        "jobs/runs.html",
        pagination=pagination,
        args=args,
        jobs=JOBS,
        last=jobruns.last_runs(),
        form=FlaskForm(),
    )


@bp.route("/admin/jobs/<name>/run", methods=["POST"])
def run_now(name: str):
    refused = _require_admin()
    if refused is not None:
        return refused
    if name not in JOBS:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    run = run_job(name)
    if run.status == "ok":
        flash(_("Job %(name)s ran: %(n)d changed.", name=name, n=run.changed), "success")
    elif run.status == "skipped":
        flash(_("Job %(name)s is running in another process; try again shortly.", name=name), "warning")
    else:
        flash(_("Job %(name)s failed; see the run log.", name=name), "danger")
    return redirect(url_for("jobs.runs", job=name))
