from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.core.formfields import DecimalField


class BidForm(FlaskForm):
    price = DecimalField(
        _l("Price (yuan)"),
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0.01, max=1_000_000_000, message=_l("Enter a price above zero.")),
        ],
    )
    attachments = MultipleFileField(_l("Attachments"))
    save = SubmitField(_l("Save draft"))
    submit_bid = SubmitField(_l("Save and submit"))

    def fill(self, bid, tender, declarations: dict) -> None:
        """Show the saved bid."""
        self.price.data = bid.price
        for c in tender.technical_criteria:
            self[f"response_{c.id}"].data = (bid.responses or {}).get(str(c.id), "")
        for key in declarations:
            self[f"decl_{key}"].data = key in (bid.declarations or [])

    def input(self, tender, declarations: dict) -> dict:
        """The form's data as the bid's input (``BidInputSchema``)."""
        return {
            "price": self.price.data,
            "responses": {c.id: self[f"response_{c.id}"].data or "" for c in tender.technical_criteria},
            "declarations": [k for k in declarations if self[f"decl_{k}"].data],
        }


def bid_form_class(tender, declarations: dict):
    """A form with one response field per scored criterion and one box per declaration."""

    class TenderBidForm(BidForm):
        pass

    for c in tender.technical_criteria:
        setattr(
            TenderBidForm,
            f"response_{c.id}",
            TextAreaField(
                f"{c.name} ({c.weight})", description=c.description, validators=[Optional(), Length(max=5000)]
            ),
        )
    for key, label in declarations.items():
        setattr(TenderBidForm, f"decl_{key}", BooleanField(label))
    return TenderBidForm


class ConfirmForm(FlaskForm):
    confirm = BooleanField(
        _l("I confirm."), validators=[DataRequired(message=_l("Tick the box to confirm."))]
    )
    submit = SubmitField(_l("Confirm"))


class PlainForm(FlaskForm):
    submit = SubmitField(_l("Submit"))
