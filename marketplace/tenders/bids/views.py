"""Bid pages. Every bid is loaded through ``visibility.visible_bid`` (404 for anyone who may not see it).

Bids and their attachments are addressed by their random ``public_id`` (``<public_id:...>``), never by
the sequential id, which would tell how many bids were made and when (issue 17).
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core import documents as document_store
from marketplace.core import staging
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import require
from marketplace.core.transaction import abandon, run_verb
from marketplace.core.web import apply_violation, form_status, get_or_404, page_args
from marketplace.extensions import db
from marketplace.tenders.bids import submission, visibility
from marketplace.tenders.bids.bidders import eligibility_problems, is_member
from marketplace.tenders.bids.ceremony import contents
from marketplace.tenders.bids.digest import has_unsubmitted_changes, receipt_of
from marketplace.tenders.bids.forms import ConfirmForm, PlainForm, bid_form_class
from marketplace.tenders.bids.models import BidAttachment
from marketplace.tenders.models import Tender

bp = Blueprint("bids", __name__, url_prefix="/bids", template_folder="templates")


def _bid_or_404(bid_ref: str):
    bid = visibility.visible_bid(bid_ref, current_user)
    if bid is None:
        abort(404)
    return bid


def _own_bid(bid_ref: str):
    """A bid the current user may change: 404 when it cannot see it, 403 when it is not its organization's."""
    bid = _bid_or_404(bid_ref)
    if not is_member(current_user, bid.organization_id):
        abort(403)
    return bid


def _attachment_or_404(bid, attachment_ref: str) -> BidAttachment:
    att = db.session.scalar(db.select(BidAttachment).where(BidAttachment.public_id == attachment_ref))
    if att is None or att.bid_id != bid.id:
        abort(404)
    return att


def _org_or_403():
    require(current_user, "bid.prepare")
    return current_user.organization


@bp.route("/mine")
@login_required
def mine():
    org = _org_or_403()
    page, per_page = page_args()
    pagination = db.paginate(
        visibility.bids_of_organization(org.id), page=page, per_page=per_page, error_out=False
    )
    return render_template("bids/mine.html", pagination=pagination, org=org)


@bp.route("/tender/<int:tender_id>", methods=["GET", "POST"])
@login_required
def edit(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.view", tender)
    org = _org_or_403()
    bid = visibility.active_bid(tender, org.id)
    declarations = submission.required_declarations(tender)
    form = bid_form_class(tender, declarations)()
    # After a withdrawal, the next bid starts from the withdrawn one's working copy (the organization's own).
    withdrawn = visibility.last_withdrawn_bid(tender, org.id) if bid is None else None
    reused = withdrawn if visibility.reusable_content(withdrawn) else None
    if request.method == "GET" and bid is not None:
        form.fill(bid, tender, declarations)
    elif request.method == "GET" and reused is not None:
        form.fill(reused, tender, declarations)
    problems = eligibility_problems(org, tender)
    valid = request.method == "POST" and form.validate_on_submit()
    # Uploads that passed their checks are kept across a page shown again with errors (core.staging).
    staged = staging.collect_posted(
        form, form.attachments, f"bid-attachments:{tender.id}", lambda f: _store_attachment(tender, f)
    )
    if valid and not form.attachments.errors:
        submitting = bool(form.submit_bid.data)
        try:
            stored = staging.stored_files(staged)
            saved = submission.save_draft(tender, org, form.input(tender, declarations), current_user, stored)
            receipt = submission.submit(saved, current_user) if submitting else None
        except RuleViolation as exc:
            abandon()
            apply_violation(form, exc)
        else:
            if receipt is not None:
                flash(_("Your bid is submitted. Keep the receipt."), "success")
                return redirect(url_for("bids.receipt", bid_ref=saved.public_id))
            flash(_("Draft saved. It is not submitted yet."), "info")
            return redirect(url_for("bids.edit", tender_id=tender.id))
    return render_template(
        "bids/edit.html",
        tender=tender,
        org=org,
        bid=bid,
        form=form,
        problems=problems,
        declarations=declarations,
        confirm_form=ConfirmForm(),
        plain_form=PlainForm(),
        unsubmitted=bid is not None and has_unsubmitted_changes(bid),
        reused=reused,
        staged=staged,
        withdrawn=withdrawn,
        accepting=tender.accepting_bids,
    ), form_status(form)


def _store_attachment(tender: Tender, file_storage):
    """An upload for a bid: encrypted when the tender has an opening key (ceremony.contents)."""
    if contents.is_sealed_tender(tender):
        return contents.store_attachment(tender, file_storage, submission.ATTACHMENT_TYPES)
    return document_store.store(file_storage, allowed=submission.ATTACHMENT_TYPES)


@bp.route("/<public_id:bid_ref>/reconfirm", methods=["POST"])
@login_required
def reconfirm(bid_ref: str):
    bid = _own_bid(bid_ref)
    if PlainForm().validate_on_submit() and run_verb(None, lambda: submission.reconfirm(bid, current_user)):
        flash(_("Your sealed bid is re-confirmed as it is."), "success")
    return redirect(url_for("bids.edit", tender_id=bid.tender_id))


@bp.route("/<public_id:bid_ref>")
@login_required
def detail(bid_ref: str):
    bid = _bid_or_404(bid_ref)
    return render_template(
        "bids/detail.html",
        bid=bid,
        tender=bid.tender,
        is_member=is_member(current_user, bid.organization_id),
    )


@bp.route("/<public_id:bid_ref>/submit", methods=["POST"])
@login_required
def submit(bid_ref: str):
    bid = _own_bid(bid_ref)
    form = PlainForm()
    if form.validate_on_submit() and run_verb(None, lambda: submission.submit(bid, current_user)):
        flash(_("Your bid is submitted. Keep the receipt."), "success")
        return redirect(url_for("bids.receipt", bid_ref=bid.public_id))
    return redirect(url_for("bids.edit", tender_id=bid.tender_id))


@bp.route("/<public_id:bid_ref>/withdraw", methods=["POST"])
@login_required
def withdraw(bid_ref: str):
    bid = _own_bid(bid_ref)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("Tick the box to confirm the withdrawal."), "warning")
    elif run_verb(None, lambda: submission.withdraw(bid, current_user)):
        flash(_("Your bid is withdrawn."), "info")
    return redirect(url_for("bids.edit", tender_id=bid.tender_id))


@bp.route("/<public_id:bid_ref>/attachments/<public_id:attachment_ref>")
@login_required
def attachment(bid_ref: str, attachment_ref: str):
    bid = _bid_or_404(bid_ref)
    att = _attachment_or_404(bid, attachment_ref)
    if att.working_key is not None:  # the organization's own working copy, stored encrypted
        data = contents.read_working_attachment(bid, att)
        if data is None:
            abort(404)
        return document_store.send_bytes(data, att.content_type, att.filename)
    if att.storage_key.startswith("sealed/"):  # sealed in a submitted version until the opening
        abort(404)
    return document_store.send(att)


@bp.route("/<public_id:bid_ref>/attachments/<public_id:attachment_ref>/delete", methods=["POST"])
@login_required
def delete_attachment(bid_ref: str, attachment_ref: str):
    bid = _own_bid(bid_ref)
    att = _attachment_or_404(bid, attachment_ref)
    if PlainForm().validate_on_submit() and run_verb(
        None, lambda: submission.remove_attachment(bid, att, current_user)
    ):
        flash(_("Attachment removed."), "info")
    return redirect(url_for("bids.edit", tender_id=bid.tender_id))


@bp.route("/<public_id:bid_ref>/receipt")
@login_required
def receipt(bid_ref: str):
    bid = _bid_or_404(bid_ref)
    if not is_member(current_user, bid.organization_id) or not bid.submissions:
        abort(404)
    try:
        version = int(request.args.get("version", bid.submissions[-1].version))
    except ValueError:
        abort(404)
    submitted = next((s for s in bid.submissions if s.version == version), None)
    if submitted is None:
        abort(404)
    if request.args.get("download"):
        payload = receipt_of(submitted)
        body = json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True)
        filename = f"bid-receipt-{bid.public_id}-v{submitted.version}.json"
        return Response(
            body,
            mimetype="application/json",
            headers={"Content-Disposition": f"attachment; filename={filename}"},
        )
    return render_template("bids/receipt.html", bid=bid, submission=submitted, tender=bid.tender)


@bp.route("/opening/<int:tender_id>")
@login_required
def opening(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.view", tender)
    record = visibility.opening_of(tender)
    if not visibility.may_view_opening(current_user, tender, record):
        abort(404)
    own = {r["bid_id"] for r in record.record if is_member(current_user, r["organization_id"])}
    own_orgs = {
        r["organization_id"]
        for r in record.undecrypted or []
        if is_member(current_user, r["organization_id"])
    }
    return render_template("bids/opening.html", tender=tender, opening=record, own=own, own_orgs=own_orgs)
