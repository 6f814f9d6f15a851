"""The load schemas of the bond verbs: amount, form and dates (the caps need the database: the verbs)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow.validate import Length, OneOf

from marketplace.bonds.models import BOND_FORMS
from marketplace.core.public_ids import PUBLIC_ID_LENGTH
from marketplace.core.schemas import InputSchema, LocalDate, Money


def _required(message) -> dict:
    return {"required": message, "null": message}


class BondInputSchema(InputSchema):
    amount = Money(required=True, error_messages=_required(_l("Enter the amount of the bond.")))
    form = fields.String(
        required=True,
        validate=OneOf(BOND_FORMS, error=_l("Choose the form of the bond from the list.")),
        error_messages=_required(_l("Choose the form of the bond from the list.")),
    )
    received_on = LocalDate(
        required=True, error_messages=_required(_l("Enter the day the bond was received."))
    )


class BidBondInputSchema(BondInputSchema):
    # The bid's public id (the form lists the opened bids by it).
    bid_id = fields.String(
        required=True,
        validate=Length(equal=PUBLIC_ID_LENGTH, error=_l("Choose the bidder.")),
        error_messages={**_required(_l("Choose the bidder.")), "invalid": _l("Choose the bidder.")},
    )


class BondReturnSchema(InputSchema):
    returned_on = LocalDate(
        required=True, error_messages=_required(_l("Enter the day the bond was returned."))
    )
