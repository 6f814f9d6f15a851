"""Signing in and out, and changing one's password."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from marketplace.auth import services
from marketplace.auth.forms import ChangePasswordForm, LoginForm, LogoutForm
from marketplace.core.transaction import run_verb
from marketplace.extensions import limiter

bp = Blueprint("auth", __name__, url_prefix="/auth", template_folder="templates")


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after login (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("Wrong email or password, or the account is deactivated."))
        else:
            login_user(user, remember=form.remember.data)
            services.record_login(user)
            flash(_("Signed in as %(email)s.", email=user.email), "success")
            return redirect(safe_next(request.args.get("next"), url_for("main.home")))
    return render_template("auth/login.html", form=form), (400 if form.errors else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        services.record_logout(current_user)
        logout_user()
        flash(_("Signed out."), "info")
    return redirect(url_for("main.home"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: services.change_password(current_user, form.current_password.data, form.new_password.data),
        default_field="new_password",
    ):
        flash(_("Your password was changed."), "success")
        return redirect(url_for("main.home"))
    return render_template("auth/change_password.html", form=form), (400 if form.errors else 200)
