"""Indicator templates, evaluation rounds and their reports.

Each handler loads (404), checks the policy (403, or 404 where the object's existence is private),
then runs one verb as the request's transaction.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.auth.models import User
from marketplace.contracts.models import Contract
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.permissions import can, require
from marketplace.core.transaction import run_verb
from marketplace.core.web import form_status, get_or_404
from marketplace.extensions import db
from marketplace.performance import assessment, indicator_templates, indicators, rounds
from marketplace.performance.blueprint import bp
from marketplace.performance.forms import (
    AssignForm,
    CopyForm,
    DeclareForm,
    TemplateForm,
    score_form_class,
)
from marketplace.performance.models import Evaluation, IndicatorTemplate
from marketplace.performance.outline import parse_outline, to_outline
from marketplace.performance.prefill import prefill
from marketplace.performance.schemas import value_field

# --- helpers ---------------------------------------------------------------------------------------


@bp.app_template_filter()
def perf_category_label(category: str | None) -> str:
    return str(SERVICE_CATEGORIES.get(category, _("All categories"))) if category else _("All categories")


def _assign_form(formdata=None) -> AssignForm:
    return AssignForm(
        formdata=formdata, assessors=rounds.active_evaluators(), templates=indicators.current_templates()
    )


@bp.app_context_processor
def _contract_partial_helpers():
    """What ``performance/_contract_evaluations.html`` needs on the contract page."""

    def perf_rounds(contract):
        return rounds.rounds(contract) if isinstance(contract, Contract) else []

    def perf_assign_form(contract):
        if not can(current_user, "performance.assign", contract) or not rounds.takes_rounds(contract):
            return None
        return _assign_form(formdata=None)

    return {"perf_rounds": perf_rounds, "perf_assign_form": perf_assign_form}


# --- indicator templates (admins) -----------------------------------------------------------------


def _template(template_id: int) -> IndicatorTemplate:
    require(current_user, "performance.templates")
    return get_or_404(IndicatorTemplate, template_id)


def _render_template_page(template: IndicatorTemplate, copy_form):
    return render_template(
        "performance/template.html",
        template=template,
        groups=indicators.tree(template),
        in_use=indicators.in_use(template),
        copy_form=copy_form,
        total=indicators.total_weight(template),
    )


@bp.route("/performance/templates")
@login_required
def templates():
    require(current_user, "performance.templates")
    # A GET changes nothing: the default template is made by the button on this page (or by the
    # first assignment of an evaluation round), never by looking at the page.
    return render_template("performance/templates.html", templates=indicators.all_templates())


@bp.route("/performance/templates/default", methods=["POST"])
@login_required
def create_default_template():
    require(current_user, "performance.templates")  # the CSRF token is checked by CSRFProtect
    indicator_templates.default_template(current_user)  # idempotent: found, or made and audited
    return redirect(url_for("performance.templates"))


@bp.route("/performance/templates/<int:template_id>")
@login_required
def template_detail(template_id: int):
    return _render_template_page(_template(template_id), CopyForm(formdata=None))


@bp.route("/performance/templates/<int:template_id>/copy", methods=["POST"])
@login_required
def copy_template(template_id: int):
    template = _template(template_id)
    form = CopyForm()
    created: list[IndicatorTemplate] = []
    if form.validate_on_submit() and run_verb(
        form,
        lambda: created.append(
            indicator_templates.copy_template(
                template, form.category.data, current_user, form.name.data or ""
            )
        ),
    ):
        flash(_("A copy was made for the category. Edit it as needed."), "success")
        return redirect(url_for("performance.template_detail", template_id=created[0].id))
    return _render_template_page(template, form), 400


@bp.route("/performance/templates/<int:template_id>/edit", methods=["GET", "POST"])
@login_required
def edit_template(template_id: int):
    template = _template(template_id)
    if template.archived:
        flash(_("This version was replaced by a newer one: edit the current version."), "warning")
        return redirect(url_for("performance.template_detail", template_id=template.id))
    in_use = indicators.in_use(template)
    if request.method == "GET":
        form = TemplateForm(data={"name": template.name, "outline": to_outline(template)})
    else:
        form = TemplateForm()
        result: list[IndicatorTemplate] = []

        def verb():
            spec = indicators.TemplateSpec(form.name.data or "", parse_outline(form.outline.data))
            result.append(indicator_templates.update_template(template, spec, current_user))

        if form.validate_on_submit() and run_verb(form, verb, default_field="outline"):
            if result[0].id != template.id:
                flash(
                    _("The template is in use, so a new version (%(v)d) was made.", v=result[0].version),
                    "success",
                )
            else:
                flash(_("The template is saved."), "success")
            return redirect(url_for("performance.template_detail", template_id=result[0].id))
    return render_template(
        "performance/template_edit.html", template=template, form=form, in_use=in_use
    ), form_status(form)


# --- rounds: assignment (officers) ----------------------------------------------------------------


def _contract(contract_id: int) -> Contract:
    contract = get_or_404(Contract, contract_id)
    if not can(current_user, "contract.view", contract):
        abort(404)
    return contract


@bp.route("/contracts/<int:contract_id>/performance", methods=["GET", "POST"])
@login_required
def assign(contract_id: int):
    contract = _contract(contract_id)
    require(current_user, "performance.assign", contract)
    form = _assign_form(formdata=None if request.method == "GET" else request.form)
    if request.method == "POST":
        if form.validate_on_submit():

            def verb():
                assessor = db.session.get(User, form.assessor.data)
                template = (
                    db.session.get(IndicatorTemplate, form.template.data) if form.template.data else None
                )
                rounds.assign(contract, form.stage.data, assessor, template, current_user)

            if run_verb(form, verb, default_field="assessor"):
                flash(_("The assessor is assigned and notified."), "success")
                return redirect(url_for("contracts.detail", contract_id=contract.id) + "#evaluations")
        elif not form.errors:
            form.form_errors.append(_("The form has expired. Please try again."))
    return render_template(
        "performance/assign.html",
        contract=contract,
        form=form,
        rounds=rounds.rounds(contract),
        eligible=rounds.eligible_assessors(contract),
    ), form_status(form)


# --- rounds: the assessor -------------------------------------------------------------------------


def _own_round(evaluation_id: int) -> Evaluation:
    evaluation = get_or_404(Evaluation, evaluation_id)
    if not can(current_user, "performance.assess", evaluation):
        abort(404)
    return evaluation


@bp.route("/performance/mine")
@login_required
def mine():
    require(current_user, "performance.assessments")
    return render_template("performance/mine.html", evaluations=rounds.assigned_to(current_user))


def _score_form(evaluation: Evaluation, leaves, pre, formdata=None):
    """The score sheet: the posted form, or prefilled with the saved scores (else the prefill)."""
    form_class = score_form_class(leaves)
    if formdata is not None:
        return form_class()
    data = {"summary": evaluation.summary}
    own = assessment.scores_by_indicator(evaluation)
    for leaf in leaves:
        score = own.get(leaf.id)
        p = pre.get(leaf.id)
        if score is not None:
            value = score.ratio if leaf.rule == "ratio" else score.points
            data[f"evidence_{leaf.id}"] = score.evidence
            data[f"comment_{leaf.id}"] = score.comment
            data[f"reason_{leaf.id}"] = score.override_reason
        elif p is not None:
            value = p.ratio if leaf.rule == "ratio" else p.points
        else:
            value = None
        data[value_field(leaf)] = "" if value is None else str(value)
    return form_class(formdata=None, data=data)


def _score_entries(form, leaves) -> dict[int, dict]:
    """The posted score sheet as ``save_scores`` takes it, per leaf."""
    entries = {}
    for leaf in leaves:
        value = form[value_field(leaf)].data
        entries[leaf.id] = {
            "ratio" if leaf.rule == "ratio" else "points": value,
            "evidence": form[f"evidence_{leaf.id}"].data,
            "comment": form[f"comment_{leaf.id}"].data,
            "override_reason": form[f"reason_{leaf.id}"].data,
        }
    return entries


def _save_score_sheet(evaluation: Evaluation, form, leaves):
    """Save (or submit) the posted scores; a redirect when done, else None (the form shows why)."""
    submitting = bool(form.submit_scores.data)
    if submitting and not form.confirm.data:
        form.confirm.errors = [_("Tick the box to confirm that the scores are final.")]
        return None
    entries = _score_entries(form, leaves)
    if not run_verb(
        form,
        lambda: assessment.save_scores(
            evaluation, entries, current_user, submit=submitting, summary=form.summary.data or ""
        ),
    ):
        return None
    if submitting:
        flash(_("The evaluation is submitted. Its report is ready."), "success")
        return redirect(url_for("performance.report", evaluation_id=evaluation.id))
    flash(_("Your scores are saved. Submit them when every indicator is scored."), "info")
    return redirect(url_for("performance.assess", evaluation_id=evaluation.id))


def _render_assess(evaluation: Evaluation, leaves, groups, pre, form, declare_form, status: int):
    return render_template(
        "performance/assess.html",
        evaluation=evaluation,
        contract=evaluation.contract,
        leaves=leaves,
        groups=groups,
        prefill=pre,
        form=form,
        declare_form=declare_form,
    ), status


@bp.route("/performance/<int:evaluation_id>", methods=["GET", "POST"])
@login_required
def assess(evaluation_id: int):
    evaluation = _own_round(evaluation_id)
    leaves = indicators.leaves(evaluation.template)
    if not evaluation.is_being_scored:
        if request.method == "POST":
            abort(400)
        return _render_assess(
            evaluation,
            leaves,
            indicators.tree(evaluation.template),
            {},
            None,
            DeclareForm(formdata=None),
            200,
        )
    pre = prefill(evaluation)
    posted = request.method == "POST"
    form = _score_form(evaluation, leaves, pre, formdata=request.form if posted else None)
    status = 200
    if posted:
        if form.validate_on_submit():
            done = _save_score_sheet(evaluation, form, leaves)
            if done is not None:
                return done
        elif not form.errors:
            form.form_errors.append(_("The form has expired. Please try again."))
        status = form_status(form)
    return _render_assess(
        evaluation,
        leaves,
        indicators.tree(evaluation.template),
        pre,
        form,
        DeclareForm(formdata=None),
        status,
    )


@bp.route("/performance/<int:evaluation_id>/independence", methods=["POST"])
@login_required
def declare(evaluation_id: int):
    evaluation = _own_round(evaluation_id)
    form = DeclareForm()
    outcome: list[bool] = []
    if form.validate_on_submit():
        if run_verb(
            form,
            lambda: outcome.append(
                rounds.declare(
                    evaluation, form.choice.data == "none", form.statement.data or "", current_user
                )
            ),
            default_field="statement",
        ):
            if outcome[0]:
                flash(_("Your declaration is recorded. You can now score the indicators."), "success")
            else:
                flash(
                    _("You declared a conflict of interest. The agency will assign another assessor."),
                    "warning",
                )
            return redirect(url_for("performance.assess", evaluation_id=evaluation.id))
    elif not form.errors:
        form.form_errors.append(_("The form has expired. Please try again."))
    return _render_assess(evaluation, indicators.leaves(evaluation.template), [], {}, None, form, 400)


# --- the report -----------------------------------------------------------------------------------


@bp.route("/performance/<int:evaluation_id>/report")
@login_required
def report(evaluation_id: int):
    evaluation = get_or_404(Evaluation, evaluation_id)
    if not can(current_user, "performance.report", evaluation):
        abort(404)
    return render_template(
        "performance/report.html",
        evaluation=evaluation,
        contract=evaluation.contract,
        groups=assessment.report(evaluation),
    )
