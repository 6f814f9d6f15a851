"""The load schema of a bid's input: the one validation of what the bid form (or the API) sends.
What depends on the tender (the budget ceiling, its criteria and declarations) is the verb's check."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields

from marketplace.core.schemas import Text
from marketplace.tenders.fields import Input, Yuan

RESPONSE_MAX = 5000


class BidPrice(Yuan):
    default_error_messages = {
        "invalid": _l("Enter the price in yuan, for example 350000.00."),
        "not_positive": _l("The price must be more than zero."),
    }


def _responses(value: dict) -> None:
    if any(len(text) > RESPONSE_MAX for text in value.values()):
        raise ValidationError(_("Each response has at most %(n)d characters.", n=RESPONSE_MAX))


class BidInputSchema(Input):
    """A bid's content: the price (may wait until submission), one response per criterion id, and the
    keys of the declarations made."""

    price = BidPrice(load_default=None, allow_none=True)
    responses = fields.Dict(
        keys=fields.Integer(error_messages={"invalid": _l("Unknown criterion.")}),
        values=Text(multiline=True, load_default=""),
        load_default=dict,
        validate=_responses,
    )
    declarations = fields.List(fields.String(), load_default=list)
