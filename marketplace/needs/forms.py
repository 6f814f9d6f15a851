"""The needs' forms: rendering and CSRF only. Their input is validated once, by needs.schemas, in the
verbs (a rule broken is shown next to its field)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.needs.models import URGENCIES

URGENCY_LABELS = {
    "low": _l("Low"),
    "normal": _l("Normal"),
    "high": _l("High"),
    "urgent": _l("Urgent"),
}


class NeedForm(FlaskForm):
    grid_id = SelectField(_l("Grid"), coerce=str, validate_choice=False)
    category = SelectField(
        _l("Service category"), choices=[("", "—")] + list(SERVICE_CATEGORIES.items()), validate_choice=False
    )
    description = TextAreaField(
        _l("What is needed"),
        description=_l("What residents need, and where in the grid. No names, identity or phone numbers."),
        render_kw={"rows": 4, "maxlength": 500},
    )
    households = StringField(_l("Households affected"), default="0", render_kw={"inputmode": "numeric"})
    people = StringField(_l("People affected"), default="1", render_kw={"inputmode": "numeric"})
    urgency = SelectField(
        _l("Urgency"),
        choices=[(u, URGENCY_LABELS[u]) for u in URGENCIES],
        default="normal",
        validate_choice=False,
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), render_kw={"rows": 3, "maxlength": 1000})


class TenderFromNeedsForm(FlaskForm):
    title = StringField(_l("Tender title"), render_kw={"maxlength": 200})
    budget_ceiling = StringField(_l("Budget ceiling (yuan)"), render_kw={"inputmode": "decimal"})
    contract_term_months = StringField(_l("Contract term (months)"), default="12")


class RouteForm(FlaskForm):
    contract_id = SelectField(_l("Contract"), coerce=str, validate_choice=False)


class StatusForm(FlaskForm):
    class Meta:
        csrf = False  # a GET lookup

    code = StringField(_l("Receipt code"), render_kw={"maxlength": 16, "autocomplete": "off"})
