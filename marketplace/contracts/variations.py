"""Variations: the only way to change signed terms (value, end of the term, unmet milestones).

Either party asks; the other party decides, so a change always has both parties' consent and nobody
approves their own request. Value increases add up to at most 10 % of the original value (GPL 49);
an approval keeps the terms before the change in ``Variation.previous``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

from flask_babel import format_date
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth.models import User
from marketplace.contracts.delivery.payments import ledger
from marketplace.contracts.locking import lock_contract
from marketplace.contracts.models import Contract, Milestone, Variation
from marketplace.contracts.parties import (
    BUYER,
    OWN_WORDS,
    SUPPLIER,
    contract_link,
    side_of,
    the_other_side,
)
from marketplace.contracts.policy import is_buyer, is_supplier
from marketplace.contracts.schemas import (
    Amount,
    Day,
    DecisionSchema,
    VariationRequestSchema,
    VariationTermsSchema,
    blank,
    check_milestone,
    field_value,
    violation,
)
from marketplace.contracts.terms import CENT, amount_text, check_plan, check_term, terms_of
from marketplace.core import rules
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.permissions import OFFICER
from marketplace.core.schemas import load
from marketplace.core.templating import money
from marketplace.extensions import db

# --- reads ---------------------------------------------------------------------------------------


def variations(contract: Contract) -> list[Variation]:
    return list(
        db.session.scalars(
            select(Variation).where(Variation.contract_id == contract.id).order_by(Variation.id.desc())
        )
    )


def pending_variation(contract: Contract) -> Variation | None:
    return db.session.scalar(
        select(Variation).where(Variation.contract_id == contract.id, Variation.status == "requested")
    )


def variation_blocker(contract: Contract) -> str | None:
    """Why no variation can be requested on ``contract`` now, or ``None``."""
    if not contract.is_active:
        return _("Only an active contract can be varied.")
    if pending_variation(contract) is not None:
        return _("Another variation is waiting for a decision: decide on it first.")
    return None


def changeable_milestones(contract: Contract) -> list[Milestone]:
    """The milestones a variation may still change: accepted ones are settled."""
    return [m for m in contract.milestones if not m.is_accepted]


def requested_by_buyer(variation: Variation) -> bool:
    requester = db.session.get(User, variation.requested_by_id)
    return requester is not None and requester.role == OFFICER


def may_decide(variation: Variation, user) -> bool:
    """The other party decides (see :func:`decide_variation`)."""
    contract = variation.contract
    if not variation.is_pending or not contract.is_active:
        return False
    return is_supplier(user, contract) if requested_by_buyer(variation) else is_buyer(user, contract)


def approved_increases(contract: Contract) -> Decimal:
    """The value added by approved variations so far (decreases do not give room back)."""
    total = Decimal("0")
    for v in variations(contract):
        if v.is_approved and "value" in v.changes and "value" in v.previous:
            total += max(Decimal("0"), Decimal(v.changes["value"]) - Decimal(v.previous["value"]))
    return total


def increase_cap(contract: Contract) -> Decimal:
    return (contract.original_value * rules.share("VARIATION_CAP_SHARE")).quantize(CENT, rounding=ROUND_DOWN)


# --- the terms a variation would produce ---------------------------------------------------------


@dataclass
class Projection:
    """The terms after a variation, and the JSON record of what it changes. ``milestones`` are
    dicts: the ``milestone`` (``None`` for a new one), ``deliverable``, ``kind``, ``due_date``,
    ``amount``, ``is_final``."""

    value: Decimal
    term_end: date
    justification: str
    milestones: list[dict]
    record: dict


def _new_value(contract: Contract, data: dict, record: dict) -> Decimal:
    new_value = data["value"]
    if new_value is None:
        return contract.value
    if new_value != contract.value:
        record["value"] = amount_text(new_value)
        # Never below what was paid plus what is due and unpaid (accepted milestones' shares).
        owed = ledger(contract)
        floor = owed.paid + owed.outstanding
        if new_value < floor:
            raise RuleViolation(
                _(
                    "The new value cannot be less than what was paid plus what is due: %(floor)s "
                    "(paid %(paid)s, due and unpaid %(due)s).",
                    floor=money(floor),
                    paid=money(owed.paid),
                    due=money(owed.outstanding),
                ),
                field="value",
            )
    return new_value


def _new_term(contract: Contract, data: dict, record: dict) -> tuple[date, str]:
    new_end = data["term_end"] or contract.term_end
    justification = data["term_justification"] or contract.term_justification
    if new_end != contract.term_end:
        check_term(contract.term_start, new_end, justification)
        record["term_end"] = new_end.isoformat()
        if justification != contract.term_justification:
            record["term_justification"] = justification
    return new_end, justification


def _planned(milestone: Milestone) -> dict:
    return {
        "milestone": milestone,
        "deliverable": milestone.deliverable,
        "kind": milestone.kind,
        "due_date": milestone.due_date,
        "amount": Decimal(milestone.amount),
        "is_final": milestone.is_final,
    }


def _added(contract: Contract, row: Mapping, n: int, new_end: date) -> dict:
    """A new milestone (never the final one)."""
    m = check_milestone(row, n, contract.term_start, new_end, "milestones")
    return {"milestone": None, **m, "is_final": False}


def _change(milestone: Milestone | None, planned: dict | None, row: Mapping) -> dict | None:
    """Apply a change ``row`` to ``planned``; the JSON entry of the change, or ``None`` when it
    changes nothing."""
    if milestone is None:
        raise ValidationError(_("That milestone is not part of this contract."), "milestones")
    amount = planned["amount"]
    if not blank(row.get("amount")):
        amount = field_value(Amount(milestone.deliverable), row.get("amount"), "milestones")
    due = field_value(Day(load_default=None), row.get("due_date"), "milestones") or planned["due_date"]
    if amount == planned["amount"] and due == planned["due_date"]:
        return None
    if milestone.is_accepted:
        raise ValidationError(
            _("The milestone “%(name)s” is accepted: it can no longer change.", name=milestone.deliverable),
            "milestones",
        )
    planned["amount"], planned["due_date"] = amount, due
    entry = {"id": milestone.id}
    if amount != Decimal(milestone.amount):
        entry["amount"] = amount_text(amount)
    if due != milestone.due_date:
        entry["due_date"] = due.isoformat()
    return entry


def _new_milestones(contract: Contract, rows: list, new_end: date, record: dict) -> list[dict]:
    by_id = {m.id: m for m in contract.milestones}
    planned: dict = {m.id: _planned(m) for m in contract.milestones}
    changed, added = [], []
    for n, row in enumerate(rows, 1):
        row = row if isinstance(row, Mapping) else {}
        if row.get("id") is None:
            p = planned[f"new{n}"] = _added(contract, row, n, new_end)
            added.append(
                {
                    "deliverable": p["deliverable"],
                    "kind": p["kind"],
                    "due_date": p["due_date"].isoformat(),
                    "amount": amount_text(p["amount"]),
                }
            )
            continue
        entry = _change(by_id.get(row["id"]), planned.get(row["id"]), row)
        if entry is not None:
            changed.append(entry)
    if changed or added:
        record["milestones"] = changed + [{"id": None, **a} for a in added]
    return list(planned.values())


def _check_within_term(planned: list[dict], term_start: date, term_end: date) -> None:
    for p in planned:
        if not term_start <= p["due_date"] <= term_end:
            raise RuleViolation(
                _(
                    "The milestone “%(name)s” would fall outside the term (%(start)s to %(end)s).",
                    name=p["deliverable"],
                    start=format_date(term_start, "medium"),
                    end=format_date(term_end, "medium"),
                ),
                field="milestones",
            )


def _check_cap(contract: Contract, new_value: Decimal) -> None:
    """Increases add up to at most 10 % of the original value across all variations (GPL 49)."""
    this = max(Decimal("0"), new_value - contract.value)
    if not this:
        return
    done, cap = approved_increases(contract), increase_cap(contract)
    if done + this > cap:
        raise RuleViolation(
            _(
                "Value increases are capped at %(share)s%% of the original value (Government "
                "Procurement Law, art. 49): at most %(cap)s "
                "in total. Already approved: %(done)s; this change: %(this)s.",
                share=f"{(rules.share('VARIATION_CAP_SHARE') * 100).normalize():f}",
                cap=money(cap),
                done=money(done),
                this=money(this),
            ),
            field="value",
        )


def project(contract: Contract, data: dict) -> Projection:
    """Check a variation (a loaded ``VariationTermsSchema``) against the current terms; the terms it
    would produce and its JSON."""
    record: dict = {}
    new_value = _new_value(contract, data, record)
    new_end, justification = _new_term(contract, data, record)
    try:
        planned = _new_milestones(contract, data["milestones"], new_end, record)
    except ValidationError as exc:
        raise violation(exc) from None
    if not record:
        raise RuleViolation(_("The request changes nothing: enter a new value, term or milestone."))
    _check_within_term(planned, contract.term_start, new_end)
    check_plan(planned, new_value)
    _check_cap(contract, new_value)
    return Projection(new_value, new_end, justification, planned, record)


# --- verbs ---------------------------------------------------------------------------------------


def request_variation(contract: Contract, raw: Mapping, actor) -> Variation:
    """Either party asks to change the value, the end of the term or unmet milestones of an active
    contract (``raw``: a ``VariationRequestSchema`` with the reason). One request at a time; the other
    party decides (see :func:`decide_variation`)."""
    side = side_of(contract, actor)
    contract = lock_contract(contract)
    blocker = variation_blocker(contract)
    if blocker:
        raise RuleViolation(blocker)
    data = load(VariationRequestSchema(), raw)
    reason = data["reason"]
    record = project(contract, data).record
    variation = Variation(
        contract_id=contract.id,
        reason=reason,
        changes=record,
        previous={},
        status="requested",
        requested_at=clock.now(),
        requested_by_id=actor.id,
    )
    db.session.add(variation)
    db.session.flush()
    audit.record(
        actor,
        "contract.variation.request",
        "contract",
        contract.id,
        N_("Variation %(variation)s requested"),
        {"changes": record, "reason": reason},
        tender_id=contract.tender_id,
        params={"variation": variation.id},
    )
    notify(
        the_other_side(contract, side),
        "contract.variation",
        N_("A contract variation awaits your decision — %(title)s"),
        OWN_WORDS,
        contract_link(contract),
        params={"title": contract.title, "text": reason[:1000]},
    )
    return variation


def _apply(contract: Contract, variation: Variation, terms: Projection) -> None:
    """Write the new terms, keeping the current ones in ``variation.previous``."""
    variation.previous = terms_of(contract)
    contract.value, contract.term_end, contract.term_justification = (
        terms.value,
        terms.term_end,
        terms.justification,
    )
    for p in terms.milestones:
        milestone = p["milestone"]
        if milestone is None:
            contract.milestones.append(
                Milestone(
                    deliverable=p["deliverable"],
                    kind=p["kind"],
                    due_date=p["due_date"],
                    amount=p["amount"],
                    is_final=False,
                )
            )
        elif milestone.due_date != p["due_date"] or Decimal(milestone.amount) != p["amount"]:
            milestone.due_date, milestone.amount = p["due_date"], p["amount"]
    ordered = sorted(contract.milestones, key=lambda m: (m.due_date, m.is_final, m.position or 0))
    for i, m in enumerate(ordered):
        m.position = i
    contract.milestones.sort(key=lambda m: m.position)  # the loaded list follows the new order


def decide_variation(variation: Variation, approve: bool, note: str, actor) -> Variation:
    """The other party decides: a variation the organization requested is decided by an officer of the
    contracting agency; one an officer requested (the agency consents by asking) needs the
    organization's agreement, decided by one of its members. A change to signed terms thus always has
    both parties' consent and nobody approves their own request. The 10 % cap and the milestone rules
    are checked again on approval (terms may have moved since the request)."""
    contract = lock_contract(variation.contract)
    db.session.refresh(variation)  # decided by the other party's other member while we waited?
    if not variation.is_pending:
        raise RuleViolation(_("This variation was already decided."))
    if not contract.is_active:
        raise RuleViolation(_("Only an active contract can be varied."))
    if not may_decide(variation, actor):
        raise RuleViolation(_("The other party to the contract decides on this variation."))
    note = load(DecisionSchema(), {"approve": approve, "note": note})["note"]
    if approve:
        try:
            # The request as recorded, checked again against today's terms.
            terms = project(contract, load(VariationTermsSchema(), variation.changes or {}))
        except RuleViolation as exc:
            raise RuleViolation(
                _("The variation can no longer be approved: %(why)s", why=exc.message), field="note"
            ) from None
        _apply(contract, variation, terms)
    variation.status = "approved" if approve else "rejected"
    variation.decided_at, variation.decided_by_id, variation.decision_note = clock.now(), actor.id, note
    db.session.flush()
    audit.record(
        actor,
        "contract.variation.decide",
        "contract",
        contract.id,
        N_("Variation %(variation)s approved") if approve else N_("Variation %(variation)s rejected"),
        {"changes": variation.changes, "previous": variation.previous, "note": note},
        tender_id=contract.tender_id,
        params={"variation": variation.id},
    )
    requester_side = BUYER if requested_by_buyer(variation) else SUPPLIER
    notify(
        the_other_side(contract, SUPPLIER if requester_side == BUYER else BUYER),
        "contract.variation.decided",
        N_("The contract variation was approved — %(title)s")
        if approve
        else N_("The contract variation was rejected — %(title)s"),
        OWN_WORDS,
        contract_link(contract),
        params={"title": contract.title, "text": note[:1000]},
    )
    return variation
