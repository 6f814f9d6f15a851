"""The bond forms: rendering and CSRF only (``bonds.schemas`` validates)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Optional

from marketplace.bonds.labels import LABELS
from marketplace.core.formfields import DateField


def form_choices() -> list[tuple[str, str]]:
    return [(code, str(label.text)) for code, label in LABELS["bond_form"].items()]


class _BondForm(FlaskForm):
    amount = StringField(_l("Amount (yuan)"))
    form = SelectField(_l("Form"), validators=[Optional()], validate_choice=False)
    received_on = DateField(_l("Received on"), validators=[Optional()])

    def input(self) -> dict:
        return {
            name: field.data for name, field in self._fields.items() if name not in ("csrf_token", "submit")
        }


class BidBondForm(_BondForm):
    bid_id = SelectField(_l("Bidder"), validators=[Optional()], validate_choice=False)
    submit = SubmitField(_l("Record the bid bond"))


class DeclarationForm(_BondForm):
    submit = SubmitField(_l("Declare the bid bond"))


class PerformanceBondForm(_BondForm):
    submit = SubmitField(_l("Record the performance bond"))


class ReturnForm(FlaskForm):
    returned_on = DateField(_l("Returned on"), validators=[Optional()])
    submit = SubmitField(_l("Record the return"))
