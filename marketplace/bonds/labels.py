"""The labels of the bond forms (see :mod:`marketplace.core.labels`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.bonds.models import BANK_GUARANTEE, CHEQUE, INSURANCE_GUARANTEE, TRANSFER
from marketplace.core.labels import Label

LABELS = {
    "bond_form": {
        TRANSFER: Label(_l("Bank transfer")),
        BANK_GUARANTEE: Label(_l("Bank guarantee (保函)")),
        INSURANCE_GUARANTEE: Label(_l("Guarantee insurance")),
        CHEQUE: Label(_l("Cheque")),
    },
}
