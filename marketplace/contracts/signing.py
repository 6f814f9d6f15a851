"""Signatures: one per side, within 30 days of the award notice (GPL 46).

The first signature freezes the terms; the second makes the contract active. A contract still
unsigned after the deadline is flagged by the contract-deadlines job (``contracts.schedule``); a
signature after the deadline needs a reason, kept on the contract and in the audit event.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.models import ACTIVE, Contract
from marketplace.contracts.parties import BUYER, contract_link, side_of, the_other_side
from marketplace.contracts.policy import is_buyer, is_supplier
from marketplace.contracts.schemas import SignatureSchema
from marketplace.core import labels
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.schemas import load
from marketplace.core.timeutil import local_date, start_of_local_day

SIGNING_DAYS = 30  # GPL 46: signed within 30 days of the award notice


def signing_days() -> int:
    """Days after the award notice within which the contract is signed (GPL 46: 30)."""
    return int(current_app.config.get("UNSIGNED_CONTRACT_DAYS", SIGNING_DAYS))


def deadline_after(published_at: datetime, calendar: WorkingCalendar | None = None) -> date:
    """The last day to sign after an award notice published at ``published_at``: 30 days after its
    local day (GPL 46), moved to the next working day when it falls on a weekend or holiday."""
    calendar = calendar or WorkingCalendar.load()
    return calendar.add_calendar_days(local_date(published_at), signing_days())


def signing_deadline(contract: Contract) -> date:
    """The last day to sign: 30 days after the award notice (GPL 46)."""
    return deadline_after(contract.award.published_at)


def unsigned_cutoff(today: date) -> datetime:
    """Awards published before this moment may have passed their signing deadline on local day
    ``today`` (a first cut for the scheduled job, which then applies :func:`deadline_after`: the
    deadline only ever moves later, to a working day)."""
    return start_of_local_day(today - timedelta(days=signing_days()))


def signature_late(contract: Contract) -> bool:
    """Signing now would be past the signing deadline: the signature needs a reason."""
    return local_date(clock.now()) > signing_deadline(contract)


def unsigned_overdue(contract: Contract) -> bool:
    """Not active 30 days after the award notice was published (GPL 46)."""
    return contract.is_draft and local_date(clock.now()) > signing_deadline(contract)


def may_sign(contract: Contract, user) -> bool:
    """A draft that ``user``'s side (the agency or the organization) has not signed yet."""
    if not contract.is_draft:
        return False
    if is_buyer(user, contract):
        return contract.officer_signed_at is None
    if is_supplier(user, contract):
        return contract.org_signed_at is None
    return False


# Audit summaries and notification subjects: (side, both signed) → message id.
_SIGNED_SUMMARY = {
    (True, False): N_("Signed for the agency"),
    (True, True): N_("Signed for the agency; the contract is active"),
    (False, False): N_("Signed for the organization"),
    (False, True): N_("Signed for the organization; the contract is active"),
}
_LATE_SUMMARY = {
    (True, False): N_("Signed for the agency after the deadline: %(reason)s"),
    (True, True): N_("Signed for the agency after the deadline; the contract is active: %(reason)s"),
    (False, False): N_("Signed for the organization after the deadline: %(reason)s"),
    (False, True): N_("Signed for the organization after the deadline; the contract is active: %(reason)s"),
}
_SIGNED_SUBJECT = {
    (True, False): N_("The agency signed the contract: your signature — %(title)s"),
    (False, False): N_("The organization signed the contract: your signature — %(title)s"),
}
_ACTIVE_SUBJECT = N_("The contract is signed by both parties and active — %(title)s")


def _late_reason(contract: Contract, raw: str) -> str:
    """The reason given for a late signature ("" when in time); refused when late without one."""
    reason = load(SignatureSchema(), {"late_reason": raw or ""})["late_reason"]
    if not signature_late(contract):
        return ""
    if not reason:
        raise RuleViolation(
            _(
                "The signing deadline (%(date)s, 30 days after the award notice, Government "
                "Procurement Law, art. 46) has passed: "
                "give the reason for the late signature.",
                date=format_date(signing_deadline(contract), "medium"),
            ),
            field="late_reason",
        )
    return reason


def sign(contract: Contract, actor, late_reason: str = "") -> Contract:
    """One signature per side (an officer for the agency, a member for the organization). The first
    signature freezes the terms; the second makes the contract active. Past the signing deadline a
    signature needs ``late_reason``, kept on the contract and in the audit event."""
    if not contract.is_draft:
        raise RuleViolation(
            _(
                "Only a draft contract is signed; this one is already %(status)s.",
                status=labels.label("contract", contract.status),
            )
        )
    side = side_of(contract, actor)
    reason = _late_reason(contract, late_reason)
    now = clock.now()
    if side == BUYER:
        if contract.officer_signed_at is not None:
            raise RuleViolation(_("The agency has already signed this contract."))
        contract.officer_signed_at, contract.officer_signed_by_id = now, actor.id
    else:
        if contract.org_signed_at is not None:
            raise RuleViolation(_("Your organization has already signed this contract."))
        contract.org_signed_at, contract.org_signed_by_id = now, actor.id
    both = contract.officer_signed_at is not None and contract.org_signed_at is not None
    if both:
        contract.status = ACTIVE
        contract.activated_at = now
    if reason:
        contract.late_signature_reason = "\n".join(filter(None, (contract.late_signature_reason, reason)))
    key = (side == BUYER, both)
    audit.record(
        actor,
        "contract.sign",
        "contract",
        contract.id,
        _LATE_SUMMARY[key] if reason else _SIGNED_SUMMARY[key],
        {"late_reason": reason} if reason else None,
        tender_id=contract.tender_id,
        params={"reason": reason[:300]} if reason else None,
    )
    notify(
        the_other_side(contract, side),
        "contract.signed",
        _ACTIVE_SUBJECT if both else _SIGNED_SUBJECT[key],
        "",
        contract_link(contract),
        params={"title": contract.title},
    )
    return contract
