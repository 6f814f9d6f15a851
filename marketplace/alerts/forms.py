"""The saved-search form (its choices are set by the view, in the reader's language)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.core.formfields import DecimalField


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SavedSearchForm(FlaskForm):
    name = StringField(
        _l("Name of the search"),
        validators=[DataRequired(message=_l("Give the search a name.")), Length(max=100)],
    )
    keywords = StringField(_l("Keywords"), validators=[Optional(), Length(max=200)])
    categories = MultiCheckboxField(_l("Categories"), validators=[Optional()])
    district_codes = SelectMultipleField(_l("Service areas (districts and streets)"), validators=[Optional()])
    budget_min = DecimalField(
        _l("Budget from (yuan)"), places=2, validators=[Optional(), NumberRange(min=0, max=1_000_000_000)]
    )
    budget_max = DecimalField(
        _l("Budget to (yuan)"), places=2, validators=[Optional(), NumberRange(min=0, max=1_000_000_000)]
    )
    email_digest = BooleanField(_l("Also send me a daily email digest"), default=True)

    def data_for_service(self) -> dict:
        return {
            "name": self.name.data,
            "keywords": self.keywords.data,
            "categories": self.categories.data or [],
            "district_codes": self.district_codes.data or [],
            "budget_min": self.budget_min.data,
            "budget_max": self.budget_max.data,
            "email_digest": self.email_digest.data,
        }


class ConfirmForm(FlaskForm):
    """A button's form: pause, resume, delete (CSRF only)."""
