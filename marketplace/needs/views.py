"""Residents' needs (``/needs``): the grid worker's needs and screening, the officer's dispatch, a need's
page, the residents' public form and status lookup, and the public figures."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.contracts.models import Contract, ServiceRecord
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.permissions import can, require
from marketplace.core.transaction import run_verb
from marketplace.core.web import get_or_404
from marketplace.extensions import db, limiter
from marketplace.needs import queries, services
from marketplace.needs.forms import (
    URGENCY_LABELS,
    NeedForm,
    ReasonForm,
    RouteForm,
    StatusForm,
    TenderFromNeedsForm,
)
from marketplace.needs.models import DISPATCHED, MET, OPEN, SCREENING, Need
from marketplace.performance.models import Survey

bp = Blueprint("needs", __name__, url_prefix="/needs", template_folder="templates")


def _resident_limit() -> str:
    return current_app.config.get("NEED_REPORT_RATE_LIMIT", "10 per hour")


def _need_form(grids) -> NeedForm:
    form = NeedForm()
    form.grid_id.choices = [(str(g.id), queries.grid_label(g)) for g in grids]
    return form


@bp.route("/")
@login_required
def index():
    require(current_user, "needs.view")
    if can(current_user, "needs.dispatch"):
        return redirect(url_for("needs.dispatch"))
    if can(current_user, "needs.record"):
        grids = queries.grids_of(current_user)
        ids = [g.id for g in grids]
        return render_template(
            "needs/worker.html",
            grids=grids,
            screening=queries.needs_in_grids(ids, (SCREENING,)),
            needs=queries.needs_in_grids(ids, (OPEN, DISPATCHED, MET, "declined")),
            reason_form=ReasonForm(),
        )
    needs = list(db.session.scalars(select(Need).order_by(Need.id.desc()).limit(queries.PAGE_SIZE)))
    return render_template("needs/all.html", needs=needs)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    require(current_user, "needs.record")
    grids = queries.grids_of(current_user)
    if not grids:
        flash(_("You have no grid yet: an administrator assigns grids to grid workers."), "warning")
        return redirect(url_for("needs.index"))
    form = _need_form(grids)
    if request.method == "POST" and form.validate_on_submit():
        created = {}
        if run_verb(
            form, lambda: created.setdefault("need", services.record_need(request.form, current_user))
        ):
            need = created["need"]
            if need.merged_into is not None:
                flash(
                    _(
                        "Recorded and added to the open need %(code)s of the same grid and category.",
                        code=need.merged_into.receipt_code,
                    ),
                    "success",
                )
            else:
                flash(_("Need %(code)s recorded.", code=need.receipt_code), "success")
            return redirect(url_for("needs.index"))
    return render_template("needs/form.html", form=form), 400 if form.errors else 200


@bp.route("/<int:need_id>")
@login_required
def detail(need_id: int):
    need = get_or_404(Need, need_id)
    require(current_user, "needs.view", need)
    records = []
    if need.contract_id is not None:
        records = list(
            db.session.scalars(
                select(ServiceRecord)
                .where(
                    ServiceRecord.contract_id == need.contract_id,
                    ServiceRecord.community_code == need.grid.community_code,
                )
                .order_by(ServiceRecord.service_date.desc())
                .limit(20)
            )
        )
    return render_template("needs/detail.html", need=need, records=records, survey=_survey(need))


def _survey(need: Need) -> Survey | None:
    if need.status != MET or need.contract_id is None:
        return None
    return db.session.scalar(select(Survey).where(Survey.contract_id == need.contract_id))


@bp.route("/<int:need_id>/confirm", methods=["POST"])
@login_required
def confirm(need_id: int):
    need = get_or_404(Need, need_id)
    require(current_user, "needs.record", need)
    if run_verb(None, lambda: services.confirm_need(need, current_user)):
        flash(_("Need %(code)s confirmed.", code=need.receipt_code), "success")
    return redirect(url_for("needs.index"))


@bp.route("/<int:need_id>/reject", methods=["POST"])
@login_required
def reject(need_id: int):
    need = get_or_404(Need, need_id)
    require(current_user, "needs.record", need)
    if run_verb(None, lambda: services.reject_need(need, request.form, current_user)):
        flash(_("Need %(code)s screened out.", code=need.receipt_code), "success")
    return redirect(url_for("needs.index"))


# --- dispatch ----------------------------------------------------------------------------------------


def _chosen() -> list[Need]:
    ids = []
    for raw in request.form.getlist("need_ids"):
        if raw.isdigit() and len(raw) < 12:
            ids.append(int(raw))
    if not ids:
        return []
    return list(db.session.scalars(select(Need).where(Need.id.in_(ids[:500])).order_by(Need.id)))


@bp.route("/dispatch")
@login_required
def dispatch():
    require(current_user, "needs.dispatch")
    agency = current_user.agency
    groups = queries.open_groups(agency)
    return render_template(
        "needs/dispatch.html",
        groups=groups,
        recent=queries.area_needs(agency, (DISPATCHED, MET, "declined"))[:50],
    )


@bp.route("/dispatch/group", methods=["POST"])
@login_required
def group():
    """The chosen needs and the three things an officer can do with them."""
    require(current_user, "needs.dispatch")
    needs = [n for n in _chosen() if can(current_user, "needs.dispatch", n) and n.status == OPEN]
    if not needs:
        flash(_("Choose at least one open need of your area."), "warning")
        return redirect(url_for("needs.dispatch"))
    return _group_page(needs)


def _group_page(needs, tender_form=None, route_form=None, decline_form=None, status=200):
    tender_form = tender_form or TenderFromNeedsForm(formdata=None)
    if not tender_form.title.data:
        category = SERVICE_CATEGORIES.get(needs[0].category, needs[0].category)
        tender_form.title.data = _("%(category)s services answering residents' needs", category=category)
    route_form = route_form or RouteForm(formdata=None)
    route_form.contract_id.choices = [
        (str(c.id), f"{c.reference} {c.title}") for c in services.contracts_covering(needs, current_user)
    ]
    return render_template(
        "needs/group.html",
        needs=needs,
        tender_form=tender_form,
        route_form=route_form,
        decline_form=decline_form or ReasonForm(formdata=None),
        description=services.description_of(needs),
    ), status


@bp.route("/dispatch/tender", methods=["POST"])
@login_required
def to_tender():
    require(current_user, "needs.dispatch")
    needs, form = _chosen(), TenderFromNeedsForm()
    made = {}
    if form.validate_on_submit() and run_verb(
        form,
        lambda: made.setdefault("tender", services.dispatch_to_tender(needs, request.form, current_user)),
    ):
        flash(
            _("A tender draft was made from %(count)d needs; complete it and publish it.", count=len(needs)),
            "success",
        )
        return redirect(url_for("tenders.edit", tender_id=made["tender"].id))
    return _fallback(needs, tender_form=form)


@bp.route("/dispatch/contract", methods=["POST"])
@login_required
def to_contract():
    require(current_user, "needs.dispatch")
    needs, form = _chosen(), RouteForm()
    contract = None
    raw = request.form.get("contract_id", "")
    if raw.isdigit() and len(raw) < 12:
        contract = db.session.get(Contract, int(raw))
    if contract is None:
        form.contract_id.errors = [_("Choose a contract from the list.")]
        return _fallback(needs, route_form=form)
    if form.validate_on_submit() and run_verb(
        form, lambda: services.route_to_contract(needs, contract, current_user)
    ):
        flash(
            _("%(count)d needs were routed to contract %(ref)s.", count=len(needs), ref=contract.reference),
            "success",
        )
        return redirect(url_for("needs.dispatch"))
    return _fallback(needs, route_form=form)


@bp.route("/dispatch/decline", methods=["POST"])
@login_required
def decline():
    require(current_user, "needs.dispatch")
    needs, form = _chosen(), ReasonForm()
    if form.validate_on_submit() and run_verb(
        form, lambda: services.decline(needs, request.form, current_user), default_field="reason"
    ):
        flash(_("%(count)d needs were declined.", count=len(needs)), "success")
        return redirect(url_for("needs.dispatch"))
    return _fallback(needs, decline_form=form)


def _fallback(needs, **forms):
    usable = [n for n in needs if can(current_user, "needs.dispatch", n)]
    if not usable:
        flash(_("Choose at least one open need of your area."), "warning")
        return redirect(url_for("needs.dispatch"))
    return _group_page(usable, status=400, **forms)


# --- residents ---------------------------------------------------------------------------------------


@bp.route("/report", methods=["GET", "POST"])
@limiter.limit(_resident_limit, methods=["POST"])
def report():
    """A resident describes a need; the grid worker screens it. The receipt code shows its progress."""
    if request.method == "POST":
        require(current_user, "needs.report")
    form = _need_form(queries.all_grids())
    if request.method == "POST" and form.validate_on_submit():
        made = {}
        if run_verb(form, lambda: made.setdefault("need", services.submit_from_resident(request.form))):
            return redirect(url_for("needs.status", code=made["need"].receipt_code, new=1))
    return render_template("needs/report.html", form=form), 400 if form.errors else 200


@bp.route("/status")
@limiter.limit(lambda: current_app.config.get("NEED_STATUS_RATE_LIMIT", "60 per minute"))
def status():
    form = StatusForm(request.args)
    code = (request.args.get("code") or "").strip()
    need = queries.status_of(code) if code else None
    shown = need.merged_into if need is not None and need.merged_into is not None else need
    return render_template(
        "needs/status.html",
        form=form,
        code=code,
        need=need,
        shown=shown,
        new=request.args.get("new") == "1",
        survey=_survey(shown) if shown else None,
    ), (404 if code and need is None else 200)


@bp.route("/figures")
def figures():
    quarter = request.args.get("quarter", "")[:8]
    category = request.args.get("category", "")
    if category not in SERVICE_CATEGORIES:
        category = ""
    data = queries.public_figures(quarter, category)
    if quarter not in data["quarters"]:
        quarter = ""
        data = queries.public_figures("", category)
    locale = str(get_locale() or "")
    streets = queries.map_figures()
    map_data = [
        {"code": s.code, "open": s.open_needs, "people": s.people_waiting, "per_thousand": s.per_thousand}
        for s in streets
    ]
    return render_template(
        "needs/figures.html",
        data=data,
        quarter=quarter,
        category=category,
        locale=locale,
        categories=list(SERVICE_CATEGORIES.items()),
        streets=[s for s in streets if s.open_needs or s.services or s.population],
        map_data=map_data,
    )


@bp.route("/boundaries.geojson")
def boundaries():
    """The streets' boundaries for the map: ``NEEDS_BOUNDARIES_FILE``, or the demo district's schematic
    ones shipped with the code (docs/needs.md says how to load a real district's)."""
    configured = current_app.config.get("NEEDS_BOUNDARIES_FILE")
    if configured:
        path = Path(configured)
        if not path.is_file():
            abort(404)
        body = path.read_bytes()
    else:
        body = resources.files("marketplace").joinpath("data/boundaries-demo.geojson").read_bytes()
    response = Response(body, mimetype="application/geo+json")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.app_template_global("need_status_label")
def need_status_label(status: str) -> str:
    return {
        "screening": _("Waiting for screening"),
        "open": _("Open"),
        "dispatched": _("Dispatched"),
        "declined": _("Declined"),
        "met": _("Met"),
        "merged": _("Merged"),
        "rejected": _("Screened out"),
    }.get(status, status)


@bp.app_template_global("urgency_label")
def urgency_label(urgency: str) -> str:
    return str(URGENCY_LABELS.get(urgency, urgency))


@bp.app_template_global("grid_label")
def grid_label(grid) -> str:
    return queries.grid_label(grid)
