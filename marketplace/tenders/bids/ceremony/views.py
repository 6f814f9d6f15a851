"""The officers' opening key page and the opening ceremony page (docs/bidding.md)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace import clock
from marketplace.auth.opening_keys import change_passphrase, min_passphrase_length, opening_key_of, set_up
from marketplace.core.permissions import ADMIN, AUDITOR, OFFICER, require
from marketplace.core.transaction import run_verb
from marketplace.core.web import get_or_404
from marketplace.extensions import db
from marketplace.tenders.bids.bidders import is_member
from marketplace.tenders.bids.ceremony import keys, verbs
from marketplace.tenders.bids.ceremony.forms import ChangePassphraseForm, PassphraseForm, SetUpKeyForm
from marketplace.tenders.bids.ceremony.models import TenderKey, TenderKeyShare
from marketplace.tenders.bids.models import SUBMITTED, Bid
from marketplace.tenders.bids.opening import opening_time
from marketplace.tenders.bids.visibility import opening_of
from marketplace.tenders.models import Tender

bp = Blueprint("ceremony", __name__, template_folder="templates")


def _officer():
    if current_user.role != OFFICER or current_user.agency_id is None:
        abort(403)
    return current_user


@bp.route("/account/opening-key", methods=["GET", "POST"])
@login_required
def opening_key():
    user = _officer()
    key = opening_key_of(user.id)
    form = SetUpKeyForm(prefix="setup")
    change = ChangePassphraseForm(prefix="change")
    if (
        form.submit.data
        and form.validate_on_submit()
        and run_verb(form, lambda: set_up(user, form.passphrase.data))
    ):
        flash(_("Your opening key is ready. Keep the passphrase safe: nobody can recover it."), "success")
        return redirect(url_for("ceremony.opening_key"))
    if (
        change.submit.data
        and change.validate_on_submit()
        and run_verb(
            change,
            lambda: change_passphrase(user, change.current_passphrase.data, change.new_passphrase.data),
        )
    ):
        flash(_("The passphrase of your opening key was changed."), "success")
        return redirect(url_for("ceremony.opening_key"))
    shares = db.session.execute(
        select(TenderKeyShare, TenderKey, Tender)
        .join(TenderKey, TenderKey.id == TenderKeyShare.tender_key_id)
        .join(Tender, Tender.id == TenderKey.tender_id)
        .where(
            TenderKeyShare.user_id == user.id, TenderKey.completed_at.is_(None), TenderKey.failed_at.is_(None)
        )
        .order_by(Tender.bid_deadline)
        .limit(100)
    ).all()
    status = 400 if form.errors or change.errors else 200
    return render_template(
        "ceremony/opening_key.html",
        key=key,
        form=form,
        change=change,
        shares=shares,
        min_length=min_passphrase_length(),
    ), status


def _may_view(tender: Tender) -> bool:
    user = current_user
    if user.role in (AUDITOR, ADMIN):
        return True
    if user.role == OFFICER and user.agency_id == tender.agency_id:
        return True
    bidders = db.session.scalars(
        select(Bid.organization_id).where(Bid.tender_id == tender.id, Bid.status == SUBMITTED)
    ).all()
    return any(is_member(user, org_id) for org_id in bidders)


_PROBLEMS = {
    "tampered": _l("the stored ciphertext does not authenticate (altered or damaged)"),
    "digest": _l("it decrypts to content other than its receipt's digest"),
    "missing": _l("a stored part of it is missing"),
    "no_key": _l("the opening key was not rebuilt within the decryption window"),
}


@bp.app_template_global()
def decryption_problem_label(problem: str) -> str:
    return str(_PROBLEMS.get(problem, problem))


@bp.app_template_global()
def opening_key_status(tender: Tender):
    """The tender's key status for the tender page, with who may see what (None: nothing to show)."""
    if not current_user.is_authenticated or tender.bid_public_key is None:
        return None
    status = keys.status_of(tender)
    if status is None:
        return None
    officer_view = current_user.role == OFFICER and current_user.agency_id == tender.agency_id
    status.officer_view = officer_view
    status.viewer = officer_view or _may_view(tender)
    return status


@bp.route("/bids/opening/<int:tender_id>/ceremony")
@login_required
def ceremony(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.view", tender)
    key = keys.key_of(tender)
    if key is None or not _may_view(tender):
        abort(404)
    return _render(tender, key, PassphraseForm(prefix="share"))


def _render(tender: Tender, key: TenderKey, form, status: int = 200):
    return render_template(
        "ceremony/ceremony.html",
        tender=tender,
        key=key,
        own=keys.share_of(key, current_user),
        form=form,
        opening=opening_of(tender),
        opening_time=opening_time(tender),
        window_end=verbs.window_end(tender),
        contributed=sum(1 for s in key.shares if s.contributed_at is not None),
        ceremony_open=clock.now() >= opening_time(tender),
    ), status


def _share_action(tender_id: int, verb, done_message: str):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.view", tender)
    key = keys.key_of(tender)
    if key is None or keys.share_of(key, current_user) is None:
        abort(404)
    form = PassphraseForm(prefix="share")
    if form.validate_on_submit() and run_verb(form, lambda: verb(tender, current_user, form.passphrase.data)):
        flash(done_message, "success")
        return redirect(url_for("ceremony.ceremony", tender_id=tender.id))
    return _render(tender, key, form, 400)


@bp.route("/bids/opening/<int:tender_id>/ceremony/confirm", methods=["POST"])
@login_required
def confirm(tender_id: int):
    return _share_action(
        tender_id, keys.confirm_share, _("Confirmed: your passphrase opens your share of this tender's key.")
    )


@bp.route("/bids/opening/<int:tender_id>/ceremony/contribute", methods=["POST"])
@login_required
def contribute(tender_id: int):
    return _share_action(tender_id, verbs.contribute, _("Your share was contributed."))
