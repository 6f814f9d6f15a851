"""The labels of the evaluation and award stage's state machines (see :mod:`marketplace.core.labels`):
pages use ``{{ award.status|state_label("award") }}`` and ``|state_badge("award")``. The tender's own
stages (bids opened, under evaluation, awarded, failed) are the "tender" machine's."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.core.labels import Label

LABELS = {
    "award": {
        "notice": Label(_l("Notice period"), "info"),
        "final": Label(_l("Final"), "success"),
        "annulled": Label(_l("Annulled"), "danger"),
    },
    "challenge": {
        "open": Label(_l("Awaiting an answer"), "warning text-dark"),
        "upheld": Label(_l("Upheld"), "secondary"),
        "dismissed": Label(_l("Dismissed"), "secondary"),
    },
    # What follows an upheld challenge.
    "challenge_outcome": {
        "reevaluate": Label(_l("The committee evaluates again")),
        "fail": Label(_l("The tender fails")),
    },
    "committee_role": {
        "expert": Label(_l("Independent expert")),
        "buyer_rep": Label(_l("Buyer's representative")),
    },
    "expert_availability": {
        "available": Label(_l("Available"), "success"),
        "unavailable": Label(_l("Unavailable"), "secondary"),
    },
    # Why an expert of the category was left out of a draw.
    "draw_exclusion": {
        "conflict": Label(_l("Declared a conflict of interest for this tender"), "danger"),
        "bidder": Label(_l("Employed by a bidder"), "danger"),
        "buyer": Label(_l("Employed by the buyer"), "warning text-dark"),
        "unavailable": Label(_l("Unavailable"), "secondary"),
        "inactive": Label(_l("Account disabled"), "secondary"),
        "seated": Label(_l("Already on this committee"), "secondary"),
    },
    "draw_kind": {
        "committee": Label(_l("Committee draw")),
        "reserve": Label(_l("Reserve draw")),
    },
}

# Audit parameters stored as codes, shown by their labels (core.messages).
MESSAGE_PARAMS = {"Challenge %(id)s %(status)s": {"status": "challenge"}}
