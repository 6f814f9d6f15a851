"""The home page, the language switch, the health check and the notification inbox."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import text

from marketplace.auth.views import safe_next
from marketplace.core import notifications
from marketplace.core.web import page_args
from marketplace.extensions import db
from marketplace.main import readiness
from marketplace.tenders import search

bp = Blueprint("main", __name__)


@bp.route("/")
def home():
    return render_template("home.html", tenders=search.open_tenders(limit=12))


@bp.route("/lang/<code>", methods=["GET", "POST"])
def set_language(code: str):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("main.home")))


@bp.route("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.route("/readyz")
def readyz():
    """Ready to serve: database, Redis, migrations at head, scheduler alive (``main.readiness``)."""
    body, ready = readiness.readiness()
    return body, 200 if ready else 503


@bp.route("/inbox", methods=["GET", "POST"])
@login_required
def inbox():
    form = FlaskForm()
    if request.method == "POST":
        if form.validate_on_submit():
            n = notifications.mark_read(current_user)
            flash(_("%(n)d notifications marked as read.", n=n), "info")
        return redirect(url_for("main.inbox"))
    page, per_page = page_args()
    pagination = db.paginate(
        notifications.inbox_query(current_user), page=page, per_page=per_page, error_out=False
    )
    return render_template("inbox.html", pagination=pagination, form=form)
