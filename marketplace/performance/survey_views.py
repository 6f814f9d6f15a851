"""The public satisfaction survey and its results.

- ``/s/<key>``: the public survey page (no login; CSRF on; rate limited per address on POST). A
  long-lived random cookie identifies the device, so each device answers once.
- ``/s/<key>/qr.png`` / ``.svg``: the QR code of the survey link, to print and put up.
- ``/contracts/<id>/survey``: results, link and QR code for the contract's parties (comments that
  passed screening for the buyer, auditors and admins; held comments only counted).
- ``/performance/review-list``: organizations whose latest ex-post grade is poor, for officers.
"""

from __future__ import annotations

import io

import segno
from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from marketplace.contracts.models import Contract
from marketplace.core.permissions import can, require
from marketplace.core.transaction import run_verb
from marketplace.core.web import form_status, get_or_404
from marketplace.extensions import limiter
from marketplace.performance import surveys
from marketplace.performance import track_record as records
from marketplace.performance.blueprint import bp
from marketplace.performance.forms import survey_form_class
from marketplace.performance.schemas import QUESTIONS

DEVICE_COOKIE = "survey_device"
DEVICE_COOKIE_AGE = 2 * 365 * 24 * 3600  # long-lived: one answer per device per survey


def _survey_limit():
    return current_app.config["SURVEY_RATE_LIMIT"]


def survey_link(survey) -> str:
    """The absolute link printed and encoded in the QR code (PUBLIC_BASE_URL when configured)."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if base:
        return base + url_for("performance.survey", key=survey.key)
    return url_for("performance.survey", key=survey.key, _external=True)


def _survey_or_404(key: str):
    survey = surveys.by_key(key)
    if survey is None:
        abort(404)
    return survey


def _device_token() -> tuple[str, bool]:
    """The device cookie's token, or a new one (True: the response must set it)."""
    token = request.cookies.get(DEVICE_COOKIE)
    if surveys.is_device_token(token):
        return token, False
    return surveys.new_device_token(), True


def _with_device_cookie(response, token: str, fresh: bool):
    if fresh:
        response.set_cookie(
            DEVICE_COOKIE,
            token,
            max_age=DEVICE_COOKIE_AGE,
            path="/s/",
            httponly=True,
            samesite="Lax",
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        )
    return response


@bp.route("/s/<key>", methods=["GET", "POST"])
@limiter.limit(_survey_limit, methods=["POST"])
def survey(key: str):
    survey = _survey_or_404(key)
    token, fresh = _device_token()
    contract = survey.contract
    if not surveys.is_open(survey):
        page = render_template("performance/survey_closed.html", contract=contract)
        return _with_device_cookie(
            make_response(page, 409 if request.method == "POST" else 200), token, fresh
        )
    if not fresh and surveys.answered(survey, token):
        page = render_template("performance/survey_thanks.html", contract=contract, already=True)
        return _with_device_cookie(make_response(page), token, fresh)
    form = survey_form_class()()
    if form.validate_on_submit():
        answers = {key: getattr(form, key).data for key, _label in QUESTIONS}
        # A new cookie on a POST means the browser sent none: refused (one answer per device).
        device = None if fresh else token
        if run_verb(
            form,
            lambda: surveys.answer(survey, answers, form.comment.data, device, request.remote_addr or ""),
            "comment",
        ):
            return redirect(url_for("performance.survey_thanks", key=survey.key))
    page = render_template("performance/survey.html", contract=contract, form=form, questions=QUESTIONS)
    return _with_device_cookie(make_response(page, form_status(form)), token, fresh)


@bp.route("/s/<key>/thanks")
def survey_thanks(key: str):
    survey = _survey_or_404(key)
    return render_template("performance/survey_thanks.html", contract=survey.contract, already=False)


def _qr(survey):
    return segno.make(survey_link(survey), error="m")


@bp.route("/s/<key>/qr.png")
def survey_qr_png(key: str):
    buffer = io.BytesIO()
    _qr(_survey_or_404(key)).save(buffer, kind="png", scale=8, border=4)
    return Response(
        buffer.getvalue(), mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"}
    )


@bp.route("/s/<key>/qr.svg")
def survey_qr_svg(key: str):
    buffer = io.BytesIO()
    _qr(_survey_or_404(key)).save(buffer, kind="svg", scale=8, border=4, xmldecl=False)
    return Response(buffer.getvalue(), mimetype="image/svg+xml")


# --- results for the parties ------------------------------------------------------------------------


@bp.route("/contracts/<int:contract_id>/survey")
@login_required
def survey_results(contract_id: int):
    contract = get_or_404(Contract, contract_id)
    if not can(current_user, "contract.view", contract):
        abort(404)
    survey = surveys.find_survey(contract)
    return render_template(
        "performance/survey_results.html",
        contract=contract,
        survey=survey,
        link=survey_link(survey) if survey else None,
        results=surveys.results(survey),
        questions=QUESTIONS,
        show_comments=can(current_user, "performance.survey_comments", contract),
        make_form=FlaskForm() if survey is None and surveys.may_make_survey(contract, current_user) else None,
    )


@bp.route("/contracts/<int:contract_id>/survey", methods=["POST"])
@login_required
def make_survey(contract_id: int):
    contract = get_or_404(Contract, contract_id)
    if not can(current_user, "contract.view", contract):
        abort(404)
    if not surveys.may_make_survey(contract, current_user):
        abort(403)
    if FlaskForm().validate_on_submit() and run_verb(
        None, lambda: surveys.make_survey(contract, current_user)
    ):
        flash(_("The survey link is ready: print the QR code or share the link."), "success")
    return redirect(url_for("performance.survey_results", contract_id=contract.id))


@bp.app_template_global()
def survey_summary_of(contract: Contract):
    """(survey or None, results) for the contract page's survey panel."""
    survey = surveys.find_survey(contract)
    return survey, surveys.results(survey)


@bp.app_template_global()
def track_record_of(org_or_id):
    org_id = getattr(org_or_id, "id", org_or_id)
    return records.track_record(org_id) if org_id is not None else None


# --- the officers' review list ----------------------------------------------------------------------


@bp.route("/performance/review-list")
@login_required
def review_list():
    require(current_user, "org.sanction")
    return render_template("performance/review_list.html", entries=records.review_list())
