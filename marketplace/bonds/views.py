"""The officers' bond pages: a tender's bid bonds, a contract's performance bond (URLs ``/bonds/...``)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace import clock
from marketplace.bonds import services
from marketplace.bonds.forms import (
    BidBondForm,
    DeclarationForm,
    PerformanceBondForm,
    ReturnForm,
    form_choices,
)
from marketplace.bonds.models import BidBond
from marketplace.contracts.models import Contract
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.permissions import can, require
from marketplace.core.timeutil import local_date
from marketplace.core.transaction import run_verb
from marketplace.core.web import flash_form_errors, form_status, get_or_404
from marketplace.extensions import db
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.bids.opening import opened_bids
from marketplace.tenders.models import Tender

bp = Blueprint("bonds", __name__, url_prefix="/bonds", template_folder="templates")


def _by_public_id(model, public_id: str):
    """A bid or bid bond by its random public id (its sequential id is never shown: issue 17), or 404."""
    row = db.session.scalar(select(model).where(model.public_id == public_id))
    if row is None:
        abort(404)
    return row


def _bid_bond_form(tender: Tender, submitted: bool = False) -> BidBondForm:
    form = BidBondForm() if submitted else BidBondForm(formdata=None)
    recorded = {b.bid_id for b in services.bid_bonds(tender)}
    form.bid_id.choices = [("", "—")] + [
        (b.public_id, b.organization.name) for b in opened_bids(tender) if b.id not in recorded
    ]
    form.form.choices = form_choices()
    return form


def _tender_page(tender: Tender, form: BidBondForm | None = None, status: int = 200):
    # Before the opening the bidders are secret: bonds their organizations declared stay hidden.
    bonds = services.bid_bonds(tender) if tender.bids_opened else []
    calendar = WorkingCalendar.load()
    today = local_date(clock.now())
    manage = can(current_user, "bond.manage", tender)
    return render_template(
        "bonds/tender.html",
        tender=tender,
        bonds=bonds,
        due={b.id: services.return_due(b, calendar) for b in bonds},
        overdue={b.id for b in bonds if services.return_overdue(b, today, calendar)},
        form=(form or _bid_bond_form(tender))
        if manage and not tender.bonds_waived and tender.bids_opened
        else None,
        return_form=ReturnForm(formdata=None) if manage else None,
        today=today,
    ), status


@bp.route("/tenders/<int:tender_id>")
@login_required
def tender_bonds(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "bond.view", tender)
    return _tender_page(tender)


@bp.route("/tenders/<int:tender_id>", methods=["POST"])
@login_required
def record_bid_bond(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "bond.manage", tender)
    form = _bid_bond_form(tender, submitted=True)
    if form.validate_on_submit() and run_verb(
        form, lambda: services.record_bid_bond(tender, form.input(), current_user), "amount"
    ):
        flash(_("The bid bond is recorded."), "success")
        return redirect(url_for("bonds.tender_bonds", tender_id=tender.id))
    page, _status = _tender_page(tender, form)
    return page, form_status(form)


@bp.route("/bid-bonds/<public_id:bond_ref>/return", methods=["POST"])
@login_required
def return_bid_bond(bond_ref: str):
    bond = _by_public_id(BidBond, bond_ref)
    require(current_user, "bond.manage", bond.tender)
    form = ReturnForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    elif run_verb(
        None, lambda: services.return_bid_bond(bond, {"returned_on": form.returned_on.data}, current_user)
    ):
        flash(_("The return of the bid bond is recorded."), "success")
    return redirect(url_for("bonds.tender_bonds", tender_id=bond.tender_id))


def _contract_page(contract: Contract, form: PerformanceBondForm | None = None, status: int = 200):
    bond = services.performance_bond_of(contract)
    manage = can(current_user, "bond.manage", contract)
    if form is None and manage and bond is None and not contract.tender.bonds_waived:
        form = PerformanceBondForm(formdata=None)
    if form is not None:
        form.form.choices = form_choices()
    return render_template(
        "bonds/contract.html",
        contract=contract,
        tender=contract.tender,
        bond=bond,
        cap=services.performance_bond_cap(contract),
        form=form,
        return_form=ReturnForm(formdata=None) if manage and bond is not None and not bond.returned else None,
    ), status


@bp.route("/contracts/<int:contract_id>")
@login_required
def contract_bond(contract_id: int):
    contract = get_or_404(Contract, contract_id)
    require(current_user, "bond.view", contract)
    return _contract_page(contract)


@bp.route("/contracts/<int:contract_id>", methods=["POST"])
@login_required
def record_performance_bond(contract_id: int):
    contract = get_or_404(Contract, contract_id)
    require(current_user, "bond.manage", contract)
    form = PerformanceBondForm()
    form.form.choices = form_choices()
    if form.validate_on_submit() and run_verb(
        form, lambda: services.record_performance_bond(contract, form.input(), current_user), "amount"
    ):
        flash(_("The performance bond is recorded."), "success")
        return redirect(url_for("bonds.contract_bond", contract_id=contract.id))
    page, _status = _contract_page(contract, form)
    return page, form_status(form)


@bp.route("/contracts/<int:contract_id>/return", methods=["POST"])
@login_required
def return_performance_bond(contract_id: int):
    contract = get_or_404(Contract, contract_id)
    require(current_user, "bond.manage", contract)
    bond = services.performance_bond_of(contract)
    if bond is None:
        abort(404)
    form = ReturnForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    elif run_verb(
        None,
        lambda: services.return_performance_bond(bond, {"returned_on": form.returned_on.data}, current_user),
    ):
        flash(_("The return of the performance bond is recorded."), "success")
    return redirect(url_for("bonds.contract_bond", contract_id=contract.id))


# --- the bidding organization: its own bid's bond ----------------------------------------------------


def _bid_page(bid: Bid, form: DeclarationForm | None = None, status: int = 200):
    bond = services.bid_bond_of(bid)
    if form is None and bond is None and not bid.tender.bonds_waived and bid.status == "submitted":
        form = DeclarationForm(formdata=None)
    if form is not None:
        form.form.choices = form_choices()
    return render_template("bonds/bid.html", bid=bid, tender=bid.tender, bond=bond, form=form), status


@bp.route("/bids/<public_id:bid_ref>")
@login_required
def bid_bond(bid_ref: str):
    bid = _by_public_id(Bid, bid_ref)
    if not can(current_user, "bond.declare", bid):
        abort(404)  # a bid is nobody else's business
    return _bid_page(bid)


@bp.route("/bids/<public_id:bid_ref>", methods=["POST"])
@login_required
def declare_bid_bond(bid_ref: str):
    bid = _by_public_id(Bid, bid_ref)
    if not can(current_user, "bond.declare", bid):
        abort(404)
    form = DeclarationForm()
    form.form.choices = form_choices()
    if form.validate_on_submit() and run_verb(
        form, lambda: services.declare_bid_bond(bid, form.input(), current_user), "amount"
    ):
        flash(_("The bid bond is declared."), "success")
        return redirect(url_for("bonds.bid_bond", bid_ref=bid.public_id))
    page, _status = _bid_page(bid, form)
    return page, form_status(form)
