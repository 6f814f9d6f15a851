"""The training clock's admin page: how far the clock was moved, and a form to move it forward."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SubmitField
from wtforms.validators import InputRequired, NumberRange

from marketplace import clock
from marketplace.core.permissions import require
from marketplace.core.transaction import run_verb
from marketplace.extensions import login_manager
from marketplace.training import services

bp = Blueprint("training", __name__, template_folder="templates")

UNITS = {"hours": timedelta(hours=1), "days": timedelta(days=1)}


class MoveClockForm(FlaskForm):
    amount = IntegerField(
        _l("Move forward by"),
        validators=[
            InputRequired(message=_l("Enter how far to move the clock.")),
            NumberRange(min=1, max=9600, message=_l("Enter a whole number from 1 to 9600.")),
        ],
    )
    unit = SelectField(
        _l("Unit"),
        choices=[("hours", _l("hours")), ("days", _l("days"))],
        default="days",
        validators=[InputRequired()],
    )
    submit = SubmitField(_l("Move the clock forward"))


def _guard():
    """Refused outright in production (every method, every user); then admins only."""
    if not services.allowed():
        return (
            render_template(
                "errors/error.html",
                code=403,
                title=_("Not available"),
                message=_(
                    "The training clock is off on this platform: time can be moved only in development "
                    "or in a training deployment (TRAINING_MODE)."
                ),
            ),
            403,
        )
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    require(current_user, "training.clock")
    return None


def _page(form: MoveClockForm, status: int = 200):
    return (
        render_template(
            "training/clock.html", form=form, offset=services.current_offset(), simulated_now=clock.now()
        ),
        status,
    )


@bp.route("/admin/training-clock")
def show():
    refused = _guard()
    if refused is not None:
        return refused
    return _page(MoveClockForm(formdata=None))


@bp.route("/admin/training-clock", methods=["POST"])
def move():
    refused = _guard()
    if refused is not None:
        return refused
    form = MoveClockForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: services.move_forward(UNITS[form.unit.data] * form.amount.data, current_user),
        default_field="amount",
    ):
        flash(
            _(
                "The clock now reads %(now)s. The scheduled jobs act on the new time at their next run; "
                "Job runs can run them now.",
                now=clock.now().strftime("%Y-%m-%d %H:%M UTC"),
            ),
            "success",
        )
        return redirect(url_for("training.show"))
    return _page(form, 400)
