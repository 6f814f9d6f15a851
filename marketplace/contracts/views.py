"""Contract pages: list, draft, detail, signatures, variations, termination, documents, public summary.

Each handler loads (404), checks the policy (a contract's internal pages are a 404 for anyone who may
not view it, a 403 for a viewer who is not a party, e.g. an auditor), then runs one service verb as the
request's transaction.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace import clock
from marketplace.contracts import documents, drafting, queries, signing, termination, variations
from marketplace.contracts.blueprint import bp
from marketplace.contracts.forms import (
    MILESTONE_MAX,
    TARGET_MAX,
    ContractForm,
    DecideForm,
    DocumentForm,
    SignForm,
    TerminateForm,
    variation_form_class,
)
from marketplace.contracts.models import CONTRACT_STATUSES, Contract, Variation
from marketplace.contracts.parties import user_of
from marketplace.contracts.terms import term_limit
from marketplace.core import documents as document_store
from marketplace.core.permissions import can, require
from marketplace.core.timeutil import local_date
from marketplace.core.transaction import run_verb
from marketplace.core.web import (
    flash_form_errors,
    form_status,
    get_or_404,
    page_args,
)
from marketplace.tenders.committee import awards as award_services
from marketplace.tenders.models import Tender

# --- template globals ---------------------------------------------------------------------


@bp.app_template_global()
def contract_of(tender: Tender) -> Contract | None:
    return queries.contract_of(tender)


@bp.app_template_global()
def contracts_won_by(org) -> list[Contract]:
    return queries.public_contracts_of(org)


# --- helpers ------------------------------------------------------------------------------------------


def _contract(contract_id: int) -> Contract:
    """The contract, for those who may view it; a 404 for everyone else (never reveal it exists)."""
    contract = get_or_404(Contract, contract_id)
    if not can(current_user, "contract.view", contract):
        abort(404)
    return contract


def _party(contract: Contract) -> None:
    """Changes are for the parties: an auditor or admin reads but gets a 403."""
    require(current_user, "contract.party", contract)


def _form_data(contract: Contract) -> dict:
    return {
        "title": contract.title,
        "term_start": contract.term_start,
        "term_end": contract.term_end,
        "term_justification": contract.term_justification,
        "scope": contract.scope,
        "targets": [{"name": t.name, "unit": t.unit, "quantity": t.quantity} for t in contract.targets],
        "milestones": [
            {
                "deliverable": m.deliverable,
                "kind": m.kind,
                "due_date": m.due_date,
                "amount": m.amount,
                "is_final": m.is_final,
            }
            for m in contract.milestones
        ],
    }


def _pad(form: ContractForm, spare: int = 2) -> ContractForm:
    """A couple of blank rows after the filled ones, so more can be added without JavaScript."""
    for rows, maximum in ((form.targets, TARGET_MAX), (form.milestones, MILESTONE_MAX)):
        filled = sum(1 for e in rows if not e.form.is_blank())
        while len(rows) < min(filled + spare, maximum):
            rows.append_entry()
    return form


def _detail(contract: Contract, status: int = 200, *, decide_form=None, document_form=None):
    history = variations.variations(contract)
    pending = next((v for v in history if v.is_pending), None)
    party = can(current_user, "contract.party", contract)
    return render_template(
        "contracts/detail.html",
        contract=contract,
        tender=contract.tender,
        award=contract.award,
        party=party,
        editable=drafting.is_editable(contract) and can(current_user, "contract.manage", contract),
        may_terminate=can(current_user, "contract.manage", contract)
        and termination.termination_blocker(contract) is None,
        sign_form=SignForm(formdata=None) if signing.may_sign(contract, current_user) else None,
        signature_late=contract.is_draft and signing.signature_late(contract),
        officer_signer=user_of(contract.officer_signed_by_id),
        org_signer=user_of(contract.org_signed_by_id),
        overdue=signing.unsigned_overdue(contract),
        signing_deadline=signing.signing_deadline(contract),
        history=history,
        pending=pending,
        requesters={v.id: user_of(v.requested_by_id) for v in history},
        deciders={v.id: user_of(v.decided_by_id) for v in history},
        decide_form=(decide_form or DecideForm(formdata=None))
        if pending is not None and variations.may_decide(pending, current_user)
        else None,
        may_request=party and variations.variation_blocker(contract) is None,
        cap=variations.increase_cap(contract),
        increases=variations.approved_increases(contract),
        documents=[d for d in contract.documents if can(current_user, "contract.document", d)],
        document_form=(document_form or DocumentForm(formdata=None)) if party else None,
        allowed_types=", ".join(sorted(documents.DOCUMENT_TYPES)),
        error_summary=[],
    ), status


# --- list ---------------------------------------------------------------------------------------------


@bp.route("/contracts")
@login_required
def index():
    require(current_user, "contract.list")
    status = request.args.get("status", "")
    if status not in CONTRACT_STATUSES:
        status = ""
    page, per_page = page_args()
    pagination = queries.contracts_for(current_user, status or None, page=page, per_page=per_page)
    return render_template(
        "contracts/index.html",
        pagination=pagination,
        status=status,
        statuses=CONTRACT_STATUSES,
        overdue={c.id: signing.unsigned_overdue(c) for c in pagination.items},
    )


# --- drafting -----------------------------------------------------------------------------------------


@bp.route("/tenders/<int:tender_id>/contract/new", methods=["GET", "POST"])
@login_required
def new(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "contract.draft", tender)
    existing = queries.contract_of(tender)
    if existing is not None:
        flash(_("This tender already has a contract."), "info")
        return redirect(url_for("contracts.detail", contract_id=existing.id))
    award = award_services.current_award(tender)
    blocker = drafting.drafting_blocker(tender)
    if request.method == "GET":
        if blocker:
            return render_template(
                "contracts/form.html", form=None, tender=tender, award=award, blocker=blocker
            )
        start = local_date(clock.now())
        form = ContractForm(
            data={
                "title": tender.title,
                "term_start": start,
                "term_end": term_limit(start, tender.contract_term_months),
            }
        )
        return render_template("contracts/form.html", form=form, tender=tender, award=award, blocker=None)
    form = ContractForm()
    created: list[Contract] = []
    if form.validate_on_submit() and run_verb(
        form,
        lambda: created.append(drafting.draft_contract(tender, form.contract_data(), current_user)),
        default_field=None,
    ):
        flash(_("The draft contract is saved. Both parties sign it to make it active."), "success")
        return redirect(url_for("contracts.detail", contract_id=created[0].id))
    return render_template(
        "contracts/form.html", form=_pad(form), tender=tender, award=award, blocker=blocker
    ), 400


@bp.route("/contracts/<int:contract_id>/edit", methods=["GET", "POST"])
@login_required
def edit(contract_id: int):
    contract = _contract(contract_id)
    require(current_user, "contract.manage", contract)
    if not drafting.is_editable(contract):
        flash(
            _("The contract has been signed: its terms are frozen and change only by a variation."), "warning"
        )
        return redirect(url_for("contracts.detail", contract_id=contract.id))
    if request.method == "GET":
        form = _pad(ContractForm(data=_form_data(contract)))
        return render_template(
            "contracts/form.html",
            form=form,
            tender=contract.tender,
            award=contract.award,
            contract=contract,
            blocker=None,
        )
    form = ContractForm()
    if form.validate_on_submit() and run_verb(
        form, lambda: drafting.update_draft(contract, form.contract_data(), current_user)
    ):
        flash(_("The draft contract is saved."), "success")
        return redirect(url_for("contracts.detail", contract_id=contract.id))
    return render_template(
        "contracts/form.html",
        form=_pad(form),
        tender=contract.tender,
        award=contract.award,
        contract=contract,
        blocker=None,
    ), 400


# --- the contract page and its verbs ------------------------------------------------------------------


@bp.route("/contracts/<int:contract_id>")
@login_required
def detail(contract_id: int):
    return _detail(_contract(contract_id))


@bp.route("/contracts/<int:contract_id>/sign", methods=["POST"])
@login_required
def sign(contract_id: int):
    contract = _contract(contract_id)
    _party(contract)
    form = SignForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    elif run_verb(None, lambda: signing.sign(contract, current_user, form.late_reason.data or "")):
        if contract.is_active:
            flash(_("Both parties have signed: the contract is active."), "success")
        else:
            flash(
                _("Your signature is recorded. The contract becomes active when the other party signs."),
                "success",
            )
    return redirect(url_for("contracts.detail", contract_id=contract.id))


@bp.route("/contracts/<int:contract_id>/variations/new", methods=["GET", "POST"])
@login_required
def request_variation(contract_id: int):
    contract = _contract(contract_id)
    _party(contract)
    blocker = variations.variation_blocker(contract)
    if blocker:
        flash(blocker, "warning")
        return redirect(url_for("contracts.detail", contract_id=contract.id))
    changeable = variations.changeable_milestones(contract)
    form_class = variation_form_class(changeable)
    if request.method == "GET":
        data = {}
        for m in changeable:
            data[f"amount_{m.id}"], data[f"due_{m.id}"] = m.amount, m.due_date
        form = form_class(data=data)
        status = 200
    else:
        form = form_class()
        if form.validate_on_submit() and run_verb(
            form,
            lambda: variations.request_variation(contract, form.variation_data(), current_user),
        ):
            flash(_("The variation is requested. The other party decides on it."), "success")
            return redirect(url_for("contracts.detail", contract_id=contract.id, _anchor="variations"))
        status = 400
    return render_template(
        "contracts/variation.html",
        contract=contract,
        form=form,
        changeable=changeable,
        accepted=[m for m in contract.milestones if m.is_accepted],
        cap=variations.increase_cap(contract),
        increases=variations.approved_increases(contract),
    ), status


@bp.route("/contracts/<int:contract_id>/variations/<int:variation_id>/decide", methods=["POST"])
@login_required
def decide_variation(contract_id: int, variation_id: int):
    contract = _contract(contract_id)
    variation = get_or_404(Variation, variation_id)
    if variation.contract_id != contract.id:
        abort(404)
    _party(contract)
    if not variations.may_decide(variation, current_user):
        abort(403)
    form = DecideForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: variations.decide_variation(
            variation, form.decision.data == "approve", form.note.data, current_user
        ),
        default_field="note",
    ):
        flash(
            _("The variation is approved and the new terms apply.")
            if variation.is_approved
            else _("The variation is rejected."),
            "success",
        )
        return redirect(url_for("contracts.detail", contract_id=contract.id, _anchor="variations"))
    return _detail(contract, 400, decide_form=form)


@bp.route("/contracts/<int:contract_id>/terminate", methods=["GET", "POST"])
@login_required
def terminate(contract_id: int):
    contract = _contract(contract_id)
    require(current_user, "contract.manage", contract)
    blocker = termination.termination_blocker(contract)
    if blocker:
        flash(blocker, "warning")
        return redirect(url_for("contracts.detail", contract_id=contract.id))
    form = TerminateForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: termination.terminate(contract, form.reason.data, form.amount_paid.data, current_user),
        default_field="reason",
    ):
        flash(_("The contract is terminated."), "success")
        return redirect(url_for("contracts.detail", contract_id=contract.id))
    return render_template("contracts/terminate.html", contract=contract, form=form), form_status(form)


@bp.route("/contracts/<int:contract_id>/documents", methods=["POST"])
@login_required
def upload_document(contract_id: int):
    contract = _contract(contract_id)
    _party(contract)
    form = DocumentForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: documents.add_document(
            contract,
            document_store.store(form.document.data, allowed=documents.DOCUMENT_TYPES),
            form.public.data,
            current_user,
        ),
        default_field="document",
    ):
        flash(_("The document is filed with the contract."), "success")
        return redirect(url_for("contracts.detail", contract_id=contract.id, _anchor="documents"))
    return _detail(contract, 400, document_form=form)


@bp.route("/contracts/<int:contract_id>/documents/<int:document_id>")
def document(contract_id: int, document_id: int):
    contract = get_or_404(Contract, contract_id)
    doc = documents.document_of(contract, document_id)
    if doc is None or not can(current_user, "contract.document", doc):
        abort(404)
    return document_store.send(doc)


# --- the public summary -------------------------------------------------------------------------------


@bp.route("/contracts/<int:contract_id>/summary")
def summary(contract_id: int):
    contract = get_or_404(Contract, contract_id)
    if not can(current_user, "contract.public", contract):
        abort(404)
    return render_template(
        "contracts/summary.html",
        contract=contract,
        documents=documents.public_documents(contract),
        variations=[v for v in variations.variations(contract) if v.is_approved],
    )
