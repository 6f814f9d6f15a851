"""Tender pages: public search and detail; officer drafting, publication, amendment, cancellation."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core import documents as document_store
from marketplace.core import staging
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.districts import counties, streets_of
from marketplace.core.errors import RuleViolation
from marketplace.core.labels import label
from marketplace.core.permissions import can, require
from marketplace.core.timeutil import to_local
from marketplace.core.transaction import abandon, run_verb
from marketplace.core.web import (
    apply_violation,
    flash_form_errors,
    form_status,
    get_or_404,
    page_args,
)
from marketplace.extensions import db
from marketplace.tenders import (
    amendments,
    cancellation,
    clarifications,
    drafting,
    publication,
    search,
    search_cache,
)
from marketplace.tenders.forms import (
    AmendForm,
    AnswerForm,
    CancelForm,
    DeleteForm,
    PublishForm,
    QuestionForm,
    SearchForm,
    TenderForm,
)
from marketplace.tenders.models import (
    CANCELLED,
    CLOSED,
    OPEN,
    STATUSES,
    Clarification,
    Tender,
    TenderDocument,
)
from marketplace.tenders.procedures import PROFILES

bp = Blueprint("tenders", __name__, url_prefix="/tenders", template_folder="templates")


# --- public ------------------------------------------------------------------------------------


def _search_choices() -> dict[str, list[tuple[str, str]]]:
    """The search form's choices, as plain text in the current language (kept by the search cache)."""
    districts = [("", _("All"))]
    for county in counties():
        districts.append((county.code, county.name))
        districts += [(street.code, f"— {street.name}") for street in streets_of(county.code)]
    return {
        "category": [("", _("All"))] + [(k, str(v)) for k, v in SERVICE_CATEGORIES.items()],
        "district": districts,
        "method": [("", _("All"))] + [(k, str(p.label)) for k, p in PROFILES.items()],
        "status": [("", _("All"))] + [(s, str(label("tender", s))) for s in (OPEN, CLOSED, CANCELLED)],
        "sort": [
            (search.BEST_MATCH, _("Best match, then deadline")),
            ("deadline", _("Deadline, soonest first")),
            ("-deadline", _("Deadline, latest first")),
            ("-published", _("Newest first")),
            ("-budget", _("Budget, highest first")),
            ("budget", _("Budget, lowest first")),
        ],
    }


@bp.route("")
def index():
    """The public search; an anonymous visitor's page may come from the search cache."""
    return search_cache.cached_page(_search_page, SEARCH_PARAMS)


# What the search page depends on: the fields of its form (SearchForm) and the page (``page_args``).
SEARCH_PARAMS = frozenset(
    {
        *("q", "category", "district", "method", "status", "sort"),
        *("budget_min", "budget_max", "deadline_from", "deadline_to", "page", "per_page"),
    }
)


def _search_page() -> tuple[str, int]:
    form = SearchForm(request.args)
    for name, choices in search_cache.remembered("search-choices", _search_choices).items():
        form[name].choices = choices
    filters = search.TenderFilters()
    valid = form.validate()
    if valid:
        if (
            form.budget_min.data is not None
            and form.budget_max.data is not None
            and form.budget_min.data > form.budget_max.data
        ):
            form.budget_max.errors = [_("The upper bound is below the lower bound.")]
            valid = False
        if (
            form.deadline_from.data
            and form.deadline_to.data
            and form.deadline_from.data > form.deadline_to.data
        ):
            form.deadline_to.errors = [_("The end date is before the start date.")]
            valid = False
    if valid:
        filters = search.TenderFilters(
            q=form.q.data or "",
            category=form.category.data or "",
            district=form.district.data or "",
            method=form.method.data or "",
            status=form.status.data or "",
            budget_min=form.budget_min.data,
            budget_max=form.budget_max.data,
            deadline_from=form.deadline_from.data,
            deadline_to=form.deadline_to.data,
            sort=form.sort.data or search.BEST_MATCH,
        )
    page, per_page = page_args()
    pagination = search.search_page(filters, page, per_page)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "tenders/index.html",
        form=form,
        pagination=pagination,
        args=args,
        searched=bool(args),
        count_cap=format_number(search.COUNT_CAP),
    ), (200 if valid else 400)


@bp.route("/<int:tender_id>")
def detail(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.view", tender)
    pending = []
    if can(current_user, "clarification.view_pending", tender):
        pending = [c for c in tender.clarifications if not c.answer]
    return render_template(
        "tenders/detail.html",
        tender=tender,
        question_form=QuestionForm(),
        answer_form=AnswerForm(),
        pending=pending,
        answered=[c for c in tender.clarifications if c.answer],
        my_questions=[
            c
            for c in tender.clarifications
            if current_user.is_authenticated and c.asked_by_id == current_user.id and not c.answer
        ],
    )


@bp.route("/<int:tender_id>/documents/<int:doc_id>")
def document(tender_id: int, doc_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.view", tender)
    doc = get_or_404(TenderDocument, doc_id)
    if doc.tender_id != tender.id:
        abort(404)
    return document_store.send(doc)


# --- officer: drafting ---------------------------------------------------------------------------


@bp.route("/manage")
@login_required
def manage():
    require(current_user, "officer.dashboard")
    status = request.args.get("status", "")
    if status not in STATUSES:
        status = ""
    page, per_page = page_args()
    pagination = db.paginate(
        search.agency_tenders_query(current_user.agency_id or -1, status),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    return render_template("tenders/manage.html", pagination=pagination, status=status)


def _tender_form(obj=None) -> TenderForm:
    form = TenderForm()
    county_choices = [(c.code, c.name) for c in counties()]
    street_choices = [(s.code, s.name) for c in counties() for s in streets_of(c.code)]
    form.fill_choices(county_choices, street_choices)
    return form


def _fill_from_tender(form: TenderForm, t: Tender) -> None:
    data = drafting.input_from(t)
    data["bid_deadline"] = to_local(t.bid_deadline).replace(tzinfo=None)
    form.process(data=data)


def _uploads(field) -> list:
    return [f for f in (field.data or []) if getattr(f, "filename", "")]


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    require(current_user, "tender.create")
    form = _tender_form()
    if request.method == "GET":
        form.district_code.data = current_user.agency.district_code
        form.method.data = "public_tender"
        form.evaluation_method.data = "comprehensive_scoring"
        form.funding_sources.data = ["county_budget"]
        form.bid_deadline.data = to_local(publication.default_deadline("public_tender")).replace(tzinfo=None)
        form.contact_email.data = current_user.email
    valid = form.validate_on_submit()
    staged = staging.collect_posted(form, form.documents, "tender-documents", document_store.store)
    if valid and not form.documents.errors:
        try:
            tender = drafting.create_draft(form.input(), current_user)
            for stored in staging.stored_files(staged):
                drafting.add_document(tender, stored, current_user)
        except RuleViolation as exc:
            abandon()
            apply_violation(form, exc)
        else:
            flash(_("Draft saved. Check the preview, then publish."), "success")
            return redirect(url_for("tenders.preview", tender_id=tender.id))
    return render_template("tenders/form.html", form=form, tender=None, staged=staged), form_status(form)


@bp.route("/<int:tender_id>/edit", methods=["GET", "POST"])
@login_required
def edit(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.edit", tender)
    form = _tender_form(obj=tender)
    if request.method == "GET":
        _fill_from_tender(form, tender)
    valid = form.validate_on_submit()
    staged = staging.collect_posted(form, form.documents, "tender-documents", document_store.store)
    if valid and not form.documents.errors:
        try:
            drafting.update_draft(tender, form.input(), current_user)
            for stored in staging.stored_files(staged):
                drafting.add_document(tender, stored, current_user)
        except RuleViolation as exc:
            abandon()
            apply_violation(form, exc)
        else:
            flash(_("Draft saved."), "success")
            return redirect(url_for("tenders.preview", tender_id=tender.id))
    return render_template(
        "tenders/form.html", form=form, tender=tender, delete_form=DeleteForm(), staged=staged
    ), form_status(form)


@bp.route("/<int:tender_id>/documents/<int:doc_id>/delete", methods=["POST"])
@login_required
def delete_document(tender_id: int, doc_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.edit", tender)
    doc = get_or_404(TenderDocument, doc_id)
    if doc.tender_id != tender.id:
        abort(404)
    if DeleteForm().validate_on_submit():
        drafting.remove_document(tender, doc, current_user)
        flash(_("Document removed."), "info")
    return redirect(url_for("tenders.edit", tender_id=tender.id))


@bp.route("/<int:tender_id>/preview")
@login_required
def preview(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.manage", tender)
    problems = publication.publication_problems(tender) if can(current_user, "tender.publish", tender) else []
    return render_template(
        "tenders/preview.html",
        tender=tender,
        problems=problems,
        form=PublishForm(),
        earliest=publication.earliest_deadline_hint(tender.method),
    )


@bp.route("/<int:tender_id>/publish", methods=["POST"])
@login_required
def publish(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.publish", tender)
    form = PublishForm()
    if form.validate_on_submit() and run_verb(
        form,
        lambda: publication.publish(
            tender, current_user, confirm_not_excluded=form.confirm_not_excluded.data
        ),
        default_field="confirm_not_excluded",
    ):
        flash(_("Tender %(ref)s is published.", ref=tender.reference), "success")
        return redirect(url_for("tenders.detail", tender_id=tender.id))
    problems = publication.publication_problems(tender)
    return render_template(
        "tenders/preview.html",
        tender=tender,
        problems=problems,
        form=form,
        earliest=publication.earliest_deadline_hint(tender.method),
    ), 400


# --- officer: after publication -------------------------------------------------------------------


@bp.route("/<int:tender_id>/amend", methods=["GET", "POST"])
@login_required
def amend(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.amend", tender)
    form = AmendForm()
    if request.method == "GET":
        for name in (
            "description",
            "budget_ceiling",
            "contract_term_months",
            "contact_name",
            "contact_phone",
            "contact_email",
        ):
            getattr(form, name).data = getattr(tender, name)
        form.bid_deadline.data = to_local(tender.bid_deadline).replace(tzinfo=None)
    valid = form.validate_on_submit()
    staged = staging.collect_posted(form, form.documents, "tender-documents", document_store.store)
    if valid and not form.documents.errors:
        try:
            amendments.amend(tender, form.input(), current_user, documents=staging.stored_files(staged))
        except RuleViolation as exc:
            abandon()
            apply_violation(form, exc, default_field="reason")
        else:
            flash(_("The amendment is published."), "success")
            return redirect(url_for("tenders.detail", tender_id=tender.id))
    return render_template(
        "tenders/amend.html",
        form=form,
        tender=tender,
        deadline_must_move=amendments.deadline_must_move(tender),
        min_date=amendments.amendment_min_deadline_date(),
        staged=staged,
    ), form_status(form)


@bp.route("/<int:tender_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.cancel", tender)
    form = CancelForm()
    if form.validate_on_submit() and run_verb(
        form, lambda: cancellation.cancel(tender, form.reason.data, current_user), default_field="reason"
    ):
        flash(_("The tender is cancelled."), "warning")
        return redirect(url_for("tenders.detail", tender_id=tender.id))
    return render_template("tenders/cancel.html", form=form, tender=tender), form_status(form)


# --- clarifications ------------------------------------------------------------------------------


@bp.route("/<int:tender_id>/questions", methods=["POST"])
@login_required
def ask(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "clarification.ask", tender)
    form = QuestionForm()
    if form.validate_on_submit():
        if run_verb(None, lambda: clarifications.ask_clarification(tender, form.question.data, current_user)):
            flash(
                _("Your question was sent. The answer will appear on this page; your name is not shown."),
                "success",
            )
            return redirect(url_for("tenders.detail", tender_id=tender.id))
    else:
        flash_form_errors(form)
    return redirect(url_for("tenders.detail", tender_id=tender.id))


@bp.route("/<int:tender_id>/questions/<int:question_id>/answer", methods=["POST"])
@login_required
def answer(tender_id: int, question_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "clarification.answer", tender)
    clarification = get_or_404(Clarification, question_id)
    if clarification.tender_id != tender.id:
        abort(404)
    form = AnswerForm()
    if form.validate_on_submit():
        if run_verb(
            None, lambda: clarifications.answer_clarification(clarification, form.input(), current_user)
        ):
            flash(_("The answer is published."), "success")
    else:
        flash_form_errors(form)
    return redirect(url_for("tenders.detail", tender_id=tender.id))
