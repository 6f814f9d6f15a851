"""Recording bid bonds and performance bonds and their return (IR 33, 48). Each verb checks its rule,
changes rows and writes an audit event; the caller commits.

A bid bond is at most BID_BOND_MAX_SHARE of the budget and is recorded by the officer once the bids are
opened (before, the bidders are secret); a performance bond is at most PERFORMANCE_BOND_MAX_SHARE of
the contract value. A tender that waives the bonds refuses both. Bid bonds are returned within
BID_BOND_RETURN_WORKING_DAYS working days: to the losers after the award notice, to the winner after
the contract is signed (:func:`return_due`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.bonds.models import BidBond, PerformanceBond
from marketplace.bonds.schemas import BidBondInputSchema, BondInputSchema, BondReturnSchema
from marketplace.contracts.models import Contract
from marketplace.contracts.queries import contract_of
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.schemas import load
from marketplace.core.timeutil import local_date
from marketplace.core.transaction import flush_unique
from marketplace.extensions import db
from marketplace.tenders.bids.bidders import is_member
from marketplace.tenders.bids.models import SUBMITTED, Bid
from marketplace.tenders.bids.opening import opened_bids
from marketplace.tenders.committee.awards import current_award
from marketplace.tenders.committee.officers import require_officer
from marketplace.tenders.models import CANCELLED, FAILED, Tender

# --- reads -----------------------------------------------------------------------------------------


def bid_bonds(tender: Tender) -> list[BidBond]:
    return list(
        db.session.scalars(select(BidBond).where(BidBond.tender_id == tender.id).order_by(BidBond.id))
    )


def performance_bond_of(contract: Contract) -> PerformanceBond | None:
    return db.session.scalar(select(PerformanceBond).where(PerformanceBond.contract_id == contract.id))


def performance_bond_cap(contract: Contract) -> Decimal:
    """PERFORMANCE_BOND_MAX_SHARE (IR 48: 10 %) of the contract value, in whole fen."""
    share = Decimal(str(current_app.config["PERFORMANCE_BOND_MAX_SHARE"]))
    return (contract.value * share).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def return_due(bond: BidBond, calendar: WorkingCalendar | None = None) -> date | None:
    """The last day to return ``bond`` (IR 33): 5 working days after the award notice for a loser,
    after the contract is signed for the winner, after the failure or cancellation of a procurement
    that ended without an award; ``None`` while that event has not happened."""
    tender = bond.tender
    award = current_award(tender)
    if award is None:
        # A failed or cancelled procurement returns every bond within 5 working days of its end.
        ended = tender.failed_at if tender.status == FAILED else tender.cancelled_at
        return _working_days_after(ended, calendar) if tender.status in (FAILED, CANCELLED) else None
    if award.bid_id == bond.bid_id:
        contract = contract_of(tender)
        start = contract.activated_at if contract is not None else None
    else:
        start = award.published_at
    return _working_days_after(start, calendar)


def _working_days_after(start: datetime | None, calendar: WorkingCalendar | None) -> date | None:
    if start is None:
        return None
    calendar = calendar or WorkingCalendar.load()
    return calendar.add_working_days(
        local_date(start), int(current_app.config["BID_BOND_RETURN_WORKING_DAYS"])
    )


def return_overdue(bond: BidBond, today: date, calendar: WorkingCalendar | None = None) -> bool:
    if bond.returned:
        return False
    due = return_due(bond, calendar)
    return due is not None and today > due


# --- verbs -----------------------------------------------------------------------------------------


def _require_bonds(tender: Tender) -> None:
    if tender.bonds_waived:
        raise RuleViolation(_("This tender waives the bonds: no bond is recorded for it."))


def _check_received(received_on: date, last_day: date) -> None:
    if received_on > last_day:
        raise RuleViolation(
            _("The bond must have been received by %(date)s.", date=format_date(last_day, "medium")),
            field="received_on",
        )


def record_bid_bond(tender: Tender, raw: Mapping, actor) -> BidBond:
    """The officer records the bid bond received from one bidder, once the bids are opened."""
    require_officer(tender, actor)
    _require_bonds(tender)
    data = load(BidBondInputSchema(), raw)
    bid = next((b for b in opened_bids(tender) if b.public_id == data["bid_id"]), None)
    if bid is None:
        raise RuleViolation(_("Choose a bidder whose bid was opened."), field="bid_id")
    if db.session.scalar(select(BidBond.id).where(BidBond.bid_id == bid.id)) is not None:
        raise RuleViolation(_("This bidder's bid bond is already recorded."), field="bid_id")
    bond = _new_bid_bond(tender, bid, data, actor, declared=False)
    audit.record(
        actor,
        "bond.bid.record",
        "tender",
        tender.id,
        N_("Bid bond of bid %(bid)s recorded: %(amount)s"),
        {
            "bid_id": bid.public_id,
            "amount": str(bond.amount),
            "form": bond.form,
            "received_on": str(bond.received_on),
        },
        params={"bid": bid.public_id, "amount": str(bond.amount)},
    )
    return bond


def _percent(setting: str) -> str:
    """A share setting (0.02) as the percentage it stands for ("2")."""
    return f"{(Decimal(str(current_app.config[setting])) * 100).normalize():f}"


def _new_bid_bond(tender: Tender, bid: Bid, data: dict, actor, *, declared: bool) -> BidBond:
    """A bid bond within the cap (IR 33), received by the opening at the latest and not in the future."""
    cap = tender.bid_bond_cap
    if data["amount"] > cap:
        raise RuleViolation(
            _(
                "A bid bond is at most %(share)s%% of the budget (Government Procurement "
                "Regulations, art. 33): %(cap)s.",
                share=_percent("BID_BOND_MAX_SHARE"),
                cap=str(cap),
            ),
            field="amount",
        )
    _check_received(data["received_on"], min(local_date(tender.bid_deadline), local_date(clock.now())))
    bond = BidBond(
        tender_id=tender.id,
        bid_id=bid.id,
        amount=data["amount"],
        form=data["form"],
        received_on=data["received_on"],
        declared=declared,
        recorded_by_id=actor.id,
        recorded_at=clock.now(),
    )
    db.session.add(bond)
    flush_unique(_("This bid's bond is already recorded."), "bid_id")  # recorded at the same moment
    return bond


def bid_bond_of(bid: Bid) -> BidBond | None:
    return db.session.scalar(select(BidBond).where(BidBond.bid_id == bid.id))


def declare_bid_bond(bid: Bid, raw: Mapping, actor) -> BidBond:
    """The bidding organization declares the bid bond it paid for its own submitted bid (the officer
    sees it once the bids are opened; before, the bidders are secret)."""
    tender = bid.tender
    if not is_member(actor, bid.organization_id):
        raise RuleViolation(_("Only a member of the bidding organization can declare its bid bond."))
    _require_bonds(tender)
    if bid.status != SUBMITTED:
        raise RuleViolation(_("Declare the bid bond of a submitted bid."))
    data = load(BidBondInputSchema(), {**raw, "bid_id": bid.public_id})
    if bid_bond_of(bid) is not None:
        raise RuleViolation(_("This bid's bond is already recorded."))
    bond = _new_bid_bond(tender, bid, data, actor, declared=True)
    # A bid event: the audit log hides it until the opening (audit.sealed).
    audit.record(
        actor,
        "bond.bid.declare",
        "bid",
        bid.public_id,
        N_("Bid bond declared by the organization: %(amount)s"),
        {"amount": str(bond.amount), "form": bond.form, "received_on": str(bond.received_on)},
        tender_id=tender.id,
        params={"amount": str(bond.amount)},
    )
    return bond


def _returned_on(raw: Mapping, received_on: date) -> date:
    returned_on = load(BondReturnSchema(), raw)["returned_on"]
    if returned_on < received_on or returned_on > local_date(clock.now()):
        raise RuleViolation(
            _("The return day is between the day the bond was received and today."), field="returned_on"
        )
    return returned_on


def return_bid_bond(bond: BidBond, raw: Mapping, actor) -> BidBond:
    """The officer records that the bid bond was returned (also on a failed or closed tender)."""
    require_officer(bond.tender, actor, closed_ok=True)
    if bond.returned:
        raise RuleViolation(_("This bond was already returned."))
    bond.returned_on = _returned_on(raw, bond.received_on)
    bond.returned_at, bond.returned_by_id = clock.now(), actor.id
    due = return_due(bond)
    audit.record(
        actor,
        "bond.bid.return",
        "tender",
        bond.tender_id,
        N_("Bid bond of bid %(bid)s returned on %(day)s"),
        {
            "bid_id": bond.bid.public_id,
            "returned_on": str(bond.returned_on),
            "due": str(due) if due else None,
        },
        params={"bid": bond.bid.public_id, "day": bond.returned_on.isoformat()},
    )
    return bond


def record_performance_bond(contract: Contract, raw: Mapping, actor) -> PerformanceBond:
    """The officer records the performance bond received for ``contract`` (at most 10 % of its value)."""
    require_officer(contract.tender, actor)
    _require_bonds(contract.tender)
    data = load(BondInputSchema(), raw)
    if performance_bond_of(contract) is not None:
        raise RuleViolation(_("This contract's performance bond is already recorded."))
    cap = performance_bond_cap(contract)
    if data["amount"] > cap:
        raise RuleViolation(
            _(
                "A performance bond is at most %(share)s%% of the contract value (Government "
                "Procurement Regulations, art. 48): %(cap)s.",
                share=_percent("PERFORMANCE_BOND_MAX_SHARE"),
                cap=str(cap),
            ),
            field="amount",
        )
    _check_received(data["received_on"], local_date(clock.now()))
    bond = PerformanceBond(
        contract_id=contract.id,
        amount=data["amount"],
        form=data["form"],
        received_on=data["received_on"],
        recorded_by_id=actor.id,
        recorded_at=clock.now(),
    )
    db.session.add(bond)
    flush_unique(_("This contract's performance bond is already recorded."))  # recorded at the same moment
    audit.record(
        actor,
        "bond.performance.record",
        "contract",
        contract.id,
        N_("Performance bond recorded: %(amount)s"),
        {"amount": str(bond.amount), "form": bond.form, "received_on": str(bond.received_on)},
        tender_id=contract.tender_id,
        params={"amount": str(bond.amount)},
    )
    return bond


def return_performance_bond(bond: PerformanceBond, raw: Mapping, actor) -> PerformanceBond:
    contract = bond.contract
    require_officer(contract.tender, actor, closed_ok=True)
    if bond.returned:
        raise RuleViolation(_("This bond was already returned."))
    bond.returned_on = _returned_on(raw, bond.received_on)
    bond.returned_at, bond.returned_by_id = clock.now(), actor.id
    audit.record(
        actor,
        "bond.performance.return",
        "contract",
        contract.id,
        N_("Performance bond returned on %(day)s"),
        {"returned_on": str(bond.returned_on)},
        tender_id=contract.tender_id,
        params={"day": bond.returned_on.isoformat()},
    )
    return bond
