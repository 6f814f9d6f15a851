"""Cancelling a tender (终止) before its deadline. Bidders are told by the bids layer, on
:data:`tender_cancelled`."""

from __future__ import annotations

from flask_babel import gettext as _

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.records import require_open_record
from marketplace.core.schemas import load
from marketplace.tenders.models import CANCELLED, OPEN, Tender
from marketplace.tenders.schemas import CancellationInputSchema
from marketplace.tenders.signals import tender_cancelled


def cancel(t: Tender, reason: str, actor) -> Tender:
    require_open_record(t)
    if not t.cancellable:
        if t.status == OPEN:
            raise RuleViolation(_("The bid deadline has passed; the tender can no longer be cancelled here."))
        raise RuleViolation(_("This tender can no longer be cancelled."))
    reason = load(CancellationInputSchema(), {"reason": reason})["reason"]
    previous = t.status
    t.status = CANCELLED
    t.cancelled_at = clock.now()
    t.cancel_reason = reason
    audit.record(
        actor,
        "tender.cancel",
        "tender",
        t.id,
        N_("Cancelled (was %(status)s): %(reason)s"),
        {"status": [previous, CANCELLED]},
        params={"status": previous, "reason": reason[:200]},
    )
    tender_cancelled.send(t)
    return t
