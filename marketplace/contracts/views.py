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
from marketplace.contracts import services
from marketplace.contracts.blueprint import bp
from marketplace.contracts.forms import (
    MILESTONE_MAX,
    TARGET_MAX,
    ActionForm,
    ContractForm,
    DecideForm,
    DocumentForm,
    TerminateForm,
    variation_form_class,
)
from marketplace.contracts.models import ACTIVE, CONTRACT_STATUSES, DRAFT, Contract, Variation
from marketplace.contracts.policy import is_buyer, is_supplier
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
from marketplace.extensions import db
from marketplace.tenders.committee import services as award_services
from marketplace.tenders.models import Tender

# --- labels and template globals ---------------------------------------------------------------------


@bp.app_template_filter()
def contract_status_label(status: str) -> str:
    return {
        "draft": _("Draft (not signed)"),
        "active": _("Active"),
        "completed": _("Completed"),
        "terminated": _("Terminated"),
    }.get(status, status)


@bp.app_template_filter()
def contract_status_badge(status: str) -> str:
    return {"draft": "secondary", "active": "success", "completed": "primary", "terminated": "danger"}.get(
        status, "light"
    )


@bp.app_template_filter()
def milestone_kind_label(kind: str) -> str:
    return {"delivery": _("Delivery"), "report": _("Report"), "payment": _("Payment")}.get(kind, kind)


@bp.app_template_filter()
def milestone_state_label(status: str) -> str:
    return {
        "pending": _("Pending"),
        "submitted": _("Submitted"),
        "rejected": _("Returned"),
        "accepted": _("Accepted"),
    }.get(status, status)


@bp.app_template_filter()
def variation_status_label(status: str) -> str:
    return {"requested": _("Awaiting a decision"), "approved": _("Approved"), "rejected": _("Rejected")}.get(
        status, status
    )


@bp.app_template_global()
def contract_of(tender: Tender) -> Contract | None:
    return services.contract_of(tender)


@bp.app_template_global()
def contracts_won_by(org) -> list[Contract]:
    return services.public_contracts_of(org)


# --- helpers ------------------------------------------------------------------------------------------


def _contract(contract_id: int) -> Contract:
    """The contract, for those who may view it; a 404 for everyone else (never reveal it exists)."""
    contract = get_or_404(Contract, contract_id)
    if not can(current_user, "contract.view", contract):
        abort(404)
    return contract


def _party(contract: Contract) -> None:
    """Changes are for the parties: an auditor or admin reads but gets a 403."""
    if not (is_buyer(current_user, contract) or is_supplier(current_user, contract)):
        abort(403)


def _user(user_id):
    from marketplace.auth.models import User

    return db.session.get(User, user_id) if user_id else None


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


def _my_side_signed(contract: Contract) -> bool | None:
    """None when the user signs for neither side."""
    if is_buyer(current_user, contract):
        return contract.officer_signed_at is not None
    if is_supplier(current_user, contract):
        return contract.org_signed_at is not None
    return None


def _detail(contract: Contract, status: int = 200, *, decide_form=None, document_form=None):
    history = services.variations(contract)
    pending = next((v for v in history if v.status == "requested"), None)
    party = is_buyer(current_user, contract) or is_supplier(current_user, contract)
    my_side_signed = _my_side_signed(contract)
    return render_template(
        "contracts/detail.html",
        contract=contract,
        tender=contract.tender,
        award=contract.award,
        party=party,
        is_buyer=is_buyer(current_user, contract),
        editable=services.is_editable(contract) and is_buyer(current_user, contract),
        sign_form=ActionForm(formdata=None) if contract.status == DRAFT and my_side_signed is False else None,
        officer_signer=_user(contract.officer_signed_by_id),
        org_signer=_user(contract.org_signed_by_id),
        overdue=services.unsigned_overdue(contract),
        signing_deadline=services.signing_deadline(contract),
        history=history,
        pending=pending,
        requesters={v.id: _user(v.requested_by_id) for v in history},
        deciders={v.id: _user(v.decided_by_id) for v in history},
        decide_form=(decide_form or DecideForm(formdata=None))
        if pending is not None and services.may_decide(pending, current_user)
        else None,
        may_request=party and services.variation_blocker(contract) is None,
        cap=services.increase_cap(contract),
        increases=services.approved_increases(contract),
        documents=contract.documents if party or can(current_user, "audit.view") else [],
        document_form=(document_form or DocumentForm(formdata=None)) if party else None,
        allowed_types=", ".join(sorted(services.DOCUMENT_TYPES)),
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
    pagination = services.contracts_for(current_user, status or None, page=page, per_page=per_page)
    return render_template(
        "contracts/index.html",
        pagination=pagination,
        status=status,
        statuses=CONTRACT_STATUSES,
        overdue={c.id: services.unsigned_overdue(c) for c in pagination.items},
    )


# --- drafting -----------------------------------------------------------------------------------------


@bp.route("/tenders/<int:tender_id>/contract/new", methods=["GET", "POST"])
@login_required
def new(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "contract.draft", tender)
    existing = services.contract_of(tender)
    if existing is not None:
        flash(_("This tender already has a contract."), "info")
        return redirect(url_for("contracts.detail", contract_id=existing.id))
    award = award_services.current_award(tender)
    blocker = services.drafting_blocker(tender)
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
                "term_end": services.term_limit(start, tender.contract_term_months),
            }
        )
        return render_template("contracts/form.html", form=form, tender=tender, award=award, blocker=None)
    form = ContractForm()
    created: list[Contract] = []
    if form.validate_on_submit() and run_verb(
        form,
        lambda: created.append(services.draft_contract(tender, form.contract_input(), current_user)),
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
    if not services.is_editable(contract):
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
        form, lambda: services.update_draft(contract, form.contract_input(), current_user)
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
    form = ActionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    elif run_verb(None, lambda: services.sign(contract, current_user)):
        if contract.status == ACTIVE:
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
    blocker = services.variation_blocker(contract)
    if blocker:
        flash(blocker, "warning")
        return redirect(url_for("contracts.detail", contract_id=contract.id))
    changeable = [m for m in contract.milestones if m.status != "accepted"]
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
            lambda: services.request_variation(
                contract, form.variation_input(), form.reason.data, current_user
            ),
        ):
            flash(_("The variation is requested. The other party decides on it."), "success")
            return redirect(url_for("contracts.detail", contract_id=contract.id, _anchor="variations"))
        status = 400
    return render_template(
        "contracts/variation.html",
        contract=contract,
        form=form,
        changeable=changeable,
        accepted=[m for m in contract.milestones if m.status == "accepted"],
        cap=services.increase_cap(contract),
        increases=services.approved_increases(contract),
    ), status


@bp.route("/contracts/<int:contract_id>/variations/<int:variation_id>/decide", methods=["POST"])
@login_required
def decide_variation(contract_id: int, variation_id: int):
    contract = _contract(contract_id)
    variation = get_or_404(Variation, variation_id)
    if variation.contract_id != contract.id:
        abort(404)
    _party(contract)
    if not services.may_decide(variation, current_user):
        abort(403)
    form = DecideForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: services.decide_variation(
            variation, form.decision.data == "approve", form.note.data, current_user
        ),
        default_field="note",
    ):
        flash(
            _("The variation is approved and the new terms apply.")
            if variation.status == "approved"
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
    if contract.status != ACTIVE:
        flash(_("Only an active contract can be terminated."), "warning")
        return redirect(url_for("contracts.detail", contract_id=contract.id))
    form = TerminateForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: services.terminate(contract, form.reason.data, form.amount_paid.data, current_user),
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
        lambda: services.add_document(
            contract,
            document_store.store(form.document.data, allowed=services.DOCUMENT_TYPES),
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
    doc = services.document_of(contract, document_id)
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
        documents=services.public_documents(contract),
        variations=[v for v in services.variations(contract) if v.status == "approved"],
    )
