"""Signing in and out, changing one's password, confirming one's email, resetting a forgotten
password, and the administrators' user pages."""

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from marketplace import clock
from marketplace.auth import accounts, api_tokens, services, tokens
from marketplace.auth.forms import (
    ApiTokenForm,
    ChangePasswordForm,
    ConfirmEmailForm,
    EmailForm,
    EndSessionsForm,
    LoginForm,
    LogoutForm,
    ResetPasswordForm,
    RevokeTokenForm,
)
from marketplace.auth.models import ApiToken, User
from marketplace.core.permissions import require
from marketplace.core.transaction import run_verb
from marketplace.core.web import form_status, get_or_404, paginate
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


def _account_mail_limit():
    return current_app.config.get("ACCOUNT_MAIL_RATE_LIMIT", "10 per hour")


def _remembered() -> bool:
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    status, unverified = 200, False
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.LoginRefused as refused:
            form.password.errors.append(refused.message)
            unverified = refused.unverified
            # A counted failure is this request's committed work (the account's throttle must outlive the
            # answer, and the edge rolls back every 4xx), so it answers 200 with the message; the other
            # refusals write nothing.
            status = 200 if refused.counted else 429 if refused.locked else 400
        else:
            login_user(user, remember=form.remember.data)
            services.record_login(user)
            flash(_("Signed in as %(email)s.", email=user.email), "success")
            return redirect(safe_next(request.args.get("next"), url_for("main.home")))
    else:
        status = form_status(form)
    resend = EmailForm(formdata=None, email=form.email.data) if unverified else None
    return render_template("auth/login.html", form=form, resend_form=resend), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        services.record_logout(current_user)
        logout_user()
        flash(_("Signed out everywhere: every session of your account has ended."), "info")
    return redirect(url_for("main.home"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: services.change_password(user, form.current_password.data, form.new_password.data),
        default_field="new_password",
    ):
        # Every other session ended with the new session version; this one carries on under it.
        login_user(user, remember=_remembered())
        flash(_("Your password was changed. Every other session of your account has ended."), "success")
        return redirect(url_for("main.home"))
    return render_template("auth/change_password.html", form=form), form_status(form)


# --- personal API tokens (docs/api.md) -----------------------------------------------------------------

SCOPE_LABELS = {
    "read": _l("read: everything your account may read"),
    "delivery:write": _l("delivery:write: service records, progress reports, milestone submissions"),
    "audit:read": _l("audit:read: contract histories and the audit log"),
}


def _token_page(form, created=None, raw=None, status=200):
    user = current_user._get_current_object()
    return render_template(
        "auth/api_tokens.html",
        form=form,
        tokens=api_tokens.tokens_of(user),
        created=created,
        raw_token=raw,
        revoke_form=RevokeTokenForm(formdata=None),
        now=clock.now(),
    ), status


def _token_form(user) -> ApiTokenForm:
    form = ApiTokenForm()
    form.scopes.choices = [(s, SCOPE_LABELS[s]) for s in api_tokens.allowed_scopes(user)]
    return form


@bp.route("/api-tokens", methods=["GET", "POST"])
@login_required
def api_tokens_page():
    user = current_user._get_current_object()
    require(user, "api.tokens")
    form = _token_form(user)
    if request.method == "POST" and form.validate_on_submit():
        created = {}

        def create():
            data = {
                "name": form.name.data,
                "scopes": form.scopes.data,
                "expires_in_days": form.expires_in_days.data,
            }
            created["token"], created["raw"] = api_tokens.create_token(user, data)

        if run_verb(form, create, default_field="name"):
            # Shown on this answer only (never stored in clear, never shown again); no redirect.
            fresh = _token_form(user)
            fresh.process(formdata=None)
            return _token_page(fresh, created["token"], created["raw"])
        return _token_page(form, status=400)
    return _token_page(form, status=form_status(form))


@bp.route("/api-tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_api_token(token_id: int):
    user = current_user._get_current_object()
    token = get_or_404(ApiToken, token_id)
    if token.user_id != user.id:
        abort(404)
    form = RevokeTokenForm()
    if form.validate_on_submit() and run_verb(None, lambda: api_tokens.revoke_token(token, user)):
        flash(_("The token %(name)s is revoked: it no longer works.", name=token.name), "success")
    return redirect(url_for("auth.api_tokens_page"))


# --- email confirmation and password reset ------------------------------------------------------------


@bp.route("/check-email")
def check_email():
    """The one answer to a registration, a new link or a reset request, whoever the email belongs to."""
    return render_template("auth/check_email.html")


def _invalid_link():
    return render_template("auth/invalid_link.html"), 400


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify_email(token: str):
    user = tokens.read(token, tokens.VERIFY)
    if user is None:
        return _invalid_link()
    form = ConfirmEmailForm()
    if form.validate_on_submit() and run_verb(form, lambda: accounts.verify_email(user)):
        flash(_("Your email address is confirmed. You can sign in."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/verify_email.html", form=form, user=user), form_status(form)


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(_account_mail_limit, methods=["POST"])
def resend_verification():
    form = EmailForm()
    if form.validate_on_submit():
        accounts.resend_verification(form.email.data)
        return redirect(url_for("auth.check_email"))
    return render_template("auth/email_form.html", form=form, purpose="verify"), form_status(form)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_account_mail_limit, methods=["POST"])
def request_reset():
    form = EmailForm()
    if form.validate_on_submit():
        accounts.request_reset(form.email.data)
        return redirect(url_for("auth.check_email"))
    return render_template("auth/email_form.html", form=form, purpose="reset"), form_status(form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    user = tokens.read(token, tokens.RESET)
    if user is None or not user.is_active:
        return _invalid_link()
    form = ResetPasswordForm()
    if form.validate_on_submit() and run_verb(
        form, lambda: accounts.reset_password(user, form.new_password.data), default_field="new_password"
    ):
        if current_user.is_authenticated:
            logout_user()
        flash(_("Your password was changed and every session of your account has ended. Sign in."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form), form_status(form)


# --- the administrators' user pages -------------------------------------------------------------------


@bp.route("/users")
@login_required
def users():
    require(current_user, "user.manage")
    query = select(User).order_by(User.email)
    q = "".join(ch for ch in (request.args.get("q") or "").strip()[:254] if ch.isprintable())
    if q:
        query = query.where(User.email.contains(q.lower(), autoescape=True))
    return render_template("auth/users.html", pagination=paginate(query), q=q)


@bp.route("/users/<int:user_id>")
@login_required
def user_detail(user_id: int):
    user = get_or_404(User, user_id)
    require(current_user, "user.manage", user)
    return render_template(
        "auth/user.html", user=user, form=EndSessionsForm(), confirm_form=ConfirmEmailForm()
    )


@bp.route("/users/<int:user_id>/confirm-email", methods=["POST"])
@login_required
def confirm_email(user_id: int):
    user = get_or_404(User, user_id)
    require(current_user, "user.manage", user)
    form = ConfirmEmailForm()
    admin = current_user._get_current_object()
    if form.validate_on_submit() and run_verb(None, lambda: services.confirm_email(user, admin)):
        flash(_("The email address of %(email)s is confirmed.", email=user.email), "success")
    return redirect(url_for("auth.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/end-sessions", methods=["POST"])
@login_required
def end_sessions(user_id: int):
    user = get_or_404(User, user_id)
    require(current_user, "user.manage", user)
    form = EndSessionsForm()
    admin = current_user._get_current_object()
    if form.validate_on_submit() and run_verb(None, lambda: services.end_sessions(user, admin)):
        if user.id == admin.id:
            login_user(admin)  # an administrator ending their own sessions keeps this one
        flash(_("Every session of %(email)s has ended.", email=user.email), "success")
    return redirect(url_for("auth.user_detail", user_id=user.id))
