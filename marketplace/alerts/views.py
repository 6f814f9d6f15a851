"""My saved searches (``/saved-searches``): list, save (also from the tender search, with its
filters), edit, pause or resume, delete; the tenders each has alerted; and the unsubscribe page of
the email digest, which works without signing in."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.alerts import matching, services, tokens
from marketplace.alerts.forms import ConfirmForm, SavedSearchForm
from marketplace.alerts.models import SavedSearch
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.districts import District, counties, streets_of
from marketplace.core.formfields import finite_decimal
from marketplace.core.permissions import can, require
from marketplace.core.transaction import run_verb
from marketplace.core.web import form_status, get_or_404, paginate
from marketplace.extensions import db

bp = Blueprint("alerts", __name__, url_prefix="/saved-searches", template_folder="templates")


def _form(**kwargs) -> SavedSearchForm:
    form = SavedSearchForm(**kwargs)
    locale = str(get_locale() or "")
    form.categories.choices = [(k, str(v)) for k, v in SERVICE_CATEGORIES.items()]
    areas = []
    for county in counties():
        areas.append((county.code, county.display_name(locale)))
        areas += [(s.code, f"— {s.display_name(locale)}") for s in streets_of(county.code)]
    form.district_codes.choices = areas
    return form


def _load(search_id: int) -> SavedSearch:
    """Another organization's search is not found (its existence is not told)."""
    saved = get_or_404(SavedSearch, search_id)
    if not can(current_user, "saved_search.manage", saved):
        abort(404)
    return saved


def _area_names(codes: list[str]) -> list[str]:
    if not codes:
        return []
    locale = str(get_locale() or "")
    found = {d.code: d for d in db.session.scalars(db.select(District).where(District.code.in_(codes)))}
    return [found[code].display_name(locale) if code in found else code for code in codes]


@bp.app_template_global("saved_search_areas")
def saved_search_areas(saved: SavedSearch) -> str:
    return "、".join(_area_names(list(saved.district_codes or [])))


@bp.route("")
@login_required
def index():
    require(current_user, "saved_search.create")
    stmt = (
        db.select(SavedSearch)
        .where(SavedSearch.organization_id == current_user.organization_id)
        .order_by(SavedSearch.created_at.desc(), SavedSearch.id.desc())
    )
    return render_template(
        "alerts/index.html",
        pagination=paginate(stmt),
        count=services.organization_count(current_user.organization_id),
        limit=services.MAX_PER_ORGANIZATION,
        categories=SERVICE_CATEGORIES,
        form=ConfirmForm(),
    )


# Filters of the search page a saved search does not keep: it alerts new tenders open for bids.
IGNORED_FILTERS = ("method", "status", "deadline_from", "deadline_to")


def _prefill(form: SavedSearchForm) -> bool:
    """A search carried over from the tender search page (``/tenders?q=...``): its filters. True when
    some of them cannot be kept (``IGNORED_FILTERS``)."""
    args = request.args
    form.keywords.data = " ".join(args.get("q", "").split())[:200]
    if args.get("category") in SERVICE_CATEGORIES:
        form.categories.data = [args["category"]]
    if args.get("district") and db.session.get(District, args["district"][:12]) is not None:
        form.district_codes.data = [args["district"][:12]]
    for name in ("budget_min", "budget_max"):
        value = finite_decimal(args.get(name, ""))
        if value is not None and Decimal(0) <= value:
            getattr(form, name).data = value
    form.name.data = form.keywords.data[:100] or None
    return any(args.get(name) for name in IGNORED_FILTERS)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    require(current_user, "saved_search.create")
    form = _form()
    dropped = False
    if request.method == "GET":
        dropped = _prefill(form)
    elif form.validate_on_submit():
        if run_verb(form, lambda: services.save_search(form.data_for_service(), current_user), "name"):
            flash(_("Search saved. New matching tenders will reach your inbox."), "success")
            return redirect(url_for("alerts.index"))
    full = services.organization_count(current_user.organization_id) >= services.MAX_PER_ORGANIZATION
    return render_template(
        "alerts/form.html", form=form, saved=None, full=full, dropped=dropped
    ), form_status(form)


@bp.route("/<int:search_id>/edit", methods=["GET", "POST"])
@login_required
def edit(search_id: int):
    saved = _load(search_id)
    form = _form(obj=saved)
    if form.validate_on_submit():
        if run_verb(
            form, lambda: services.update_search(saved, form.data_for_service(), current_user), "name"
        ):
            flash(_("Search updated."), "success")
            return redirect(url_for("alerts.index"))
    return render_template("alerts/form.html", form=form, saved=saved, full=False), form_status(form)


@bp.route("/<int:search_id>")
@login_required
def detail(search_id: int):
    saved = _load(search_id)
    pagination = paginate(matching.alerted_tenders(saved))
    return render_template(
        "alerts/detail.html",
        saved=saved,
        pagination=pagination,
        categories=SERVICE_CATEGORIES,
        form=ConfirmForm(),
    )


@bp.route("/<int:search_id>/pause", methods=["POST"])
@login_required
def pause(search_id: int):
    return _set_paused(search_id, True)


@bp.route("/<int:search_id>/resume", methods=["POST"])
@login_required
def resume(search_id: int):
    return _set_paused(search_id, False)


def _set_paused(search_id: int, paused: bool):
    saved = _load(search_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.set_paused(saved, paused, current_user)
    if paused:
        flash(_("Alerts paused for “%(name)s”.", name=saved.name), "info")
    else:
        flash(_("Alerts resumed for “%(name)s”: tenders published from now on.", name=saved.name), "success")
    return redirect(url_for("alerts.index"))


@bp.route("/<int:search_id>/delete", methods=["POST"])
@login_required
def delete(search_id: int):
    saved = _load(search_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name = saved.name
    services.delete_search(saved, current_user)
    flash(_("Search “%(name)s” deleted.", name=name), "info")
    return redirect(url_for("alerts.index"))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """The digest's link: GET asks (one button), POST stops the emails. A mail client's one-click POST
    (RFC 8058, ``List-Unsubscribe=One-Click``) comes here too, without a CSRF token or a session:
    the signed link is the credential (the view is exempt from CSRF in ``create_app``)."""
    user = tokens.read(token)
    if user is None:
        return render_template("alerts/unsubscribe.html", invalid=True, token=token), 400
    if request.method == "POST":
        stopped = services.unsubscribe(user)
        return render_template("alerts/unsubscribe.html", done=True, stopped=stopped, token=token)
    return render_template(
        "alerts/unsubscribe.html", pending=services.emailed_count(user), token=token, user=user
    )
