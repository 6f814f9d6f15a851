"""Public transparency pages: award notices, contracts, acceptance results, spending dashboards.

No login: everything here is already public on its own page (the award notice, the contract's public
summary, the published acceptance result); these pages list it and add up what the signed contracts
are worth. The charts repeat tables that are on the page too (``dashboards/_macros.html``,
``static/dashboards.js``), so nothing is lost without JavaScript.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import published
from marketplace.audit.models import AuditPublishedHead
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.districts import counties, streets_of
from marketplace.core.labels import label
from marketplace.core.timeutil import local_date
from marketplace.core.web import paginate
from marketplace.transparency import listings, outcomes, spending
from marketplace.transparency.filters import Filters

bp = Blueprint("transparency", __name__, url_prefix="/open", template_folder="templates")

VALUE_COLOUR = "#adb5bd"
PAID_COLOUR = "#198754"
OUTCOME_COLOURS = {
    outcomes.ON_TIME: "#198754",
    outcomes.LATE: "#ffc107",
    outcomes.OVERDUE: "#dc3545",
}


def category_label(code: str) -> str:
    return str(SERVICE_CATEGORIES.get(code, code))


def district_label(row: spending.SpendRow, locale: str) -> str:
    if locale.startswith("en") and row.name_en:
        return row.name_en
    return row.name or row.key


# --- filters -----------------------------------------------------------------------------------------


def _filter_choices(years: list[int]) -> dict:
    districts = []
    for county in counties():
        districts.append((county.code, county.name))
        districts.extend((street.code, f"— {street.name}") for street in streets_of(county.code))
    return {
        "categories": [(k, str(v)) for k, v in SERVICE_CATEGORIES.items()],
        "districts": districts,
        "years": sorted(set(years) | {local_date(clock.now()).year}, reverse=True),
    }


def _list_page(template: str, query_of, extra=None):
    """A filtered, paginated list: ``query_of(filters)`` gives the rows, ``extra(items)`` what else
    the page shows about the rows on this page."""
    filters = Filters.parse(request.args)
    pagination = paginate(query_of(filters))
    return render_template(
        template,
        pagination=pagination,
        filters=filters,
        args=filters.as_args(),
        choices=_filter_choices(spending.contract_years()),
        **(extra(pagination.items) if extra else {}),
    )


# --- charts ------------------------------------------------------------------------------------------


def _spend_chart(rows: list[spending.SpendRow], labels: list[str]) -> dict:
    return {
        "type": "bar",
        "labels": labels,
        "datasets": [
            {"label": _("Contract value"), "data": [str(r.value) for r in rows], "color": VALUE_COLOUR},
            {"label": _("Paid"), "data": [str(r.paid) for r in rows], "color": PAID_COLOUR},
        ],
        "money": True,
    }


def _bidders_chart(distribution: outcomes.BidderDistribution) -> dict:
    return {
        "type": "bar",
        "labels": [ngettext("%(num)d bid", "%(num)d bids", r.bidders) for r in distribution.rows],
        "datasets": [
            {
                "label": _("Tenders"),
                "data": [r.tenders for r in distribution.rows],
                "color": "#0d6efd",
            }
        ],
    }


def _outcome_chart(overall: outcomes.MilestoneShare) -> dict:
    counts = {
        outcomes.ON_TIME: overall.on_time,
        outcomes.LATE: overall.late,
        outcomes.OVERDUE: overall.overdue,
    }
    return {
        "type": "doughnut",
        "labels": [label("milestone_outcome", o) for o in outcomes.OUTCOMES],
        "datasets": [
            {
                "label": _("Milestones"),
                "data": [counts[o] for o in outcomes.OUTCOMES],
                "colors": [OUTCOME_COLOURS[o] for o in outcomes.OUTCOMES],
            }
        ],
    }


def _outcome_by_category_chart(rows: list[outcomes.MilestoneShare]) -> dict:
    return {
        "type": "bar",
        "labels": [category_label(r.key) for r in rows],
        "datasets": [
            {
                "label": label("milestone_outcome", outcome),
                "data": [getattr(r, outcome) for r in rows],
                "color": OUTCOME_COLOURS[outcome],
            }
            for outcome in outcomes.OUTCOMES
        ],
    }


# --- pages -------------------------------------------------------------------------------------------


@bp.route("/")
def index():
    filters = Filters.parse(request.args)
    locale = str(get_locale() or "zh_CN")
    today = local_date(clock.now())
    years = spending.contract_years()
    by_category = spending.spending_by_category(filters)
    by_district = spending.spending_by_district(filters)
    by_year = spending.spending_by_year(filters, years)
    bidders = outcomes.bidders_per_tender(filters)
    milestones, milestones_by_category = outcomes.milestone_shares(filters, today)
    return render_template(
        "transparency/index.html",
        today=today,
        filters=filters,
        choices=_filter_choices(years),
        totals=spending.totals(by_category),
        award_count=listings.award_count(filters),
        acceptance_count=listings.acceptance_count(filters),
        by_category=by_category,
        by_district=by_district,
        by_year=by_year,
        bidders=bidders,
        milestones=milestones,
        milestones_by_category=milestones_by_category,
        category_chart=_spend_chart(by_category, [category_label(r.key) for r in by_category]),
        district_chart=_spend_chart(by_district, [district_label(r, locale) for r in by_district]),
        year_chart=_spend_chart(by_year, [r.key for r in by_year]),
        bidders_chart=_bidders_chart(bidders),
        outcome_chart=_outcome_chart(milestones),
        outcome_by_category_chart=_outcome_by_category_chart(milestones_by_category),
        category_label=category_label,
        district_label=lambda row: district_label(row, locale),
        key_label=lambda row: row.key,
        category_row_label=lambda row: category_label(row.key),
    )


@bp.route("/awards")
def awards():
    return _list_page("transparency/awards.html", listings.awards_query)


@bp.route("/contracts")
def contracts():
    return _list_page(
        "transparency/contracts.html",
        listings.contracts_query,
        lambda items: {"document_counts": listings.public_document_counts([c.id for c in items])},
    )


@bp.route("/acceptances")
def acceptances():
    return _list_page(
        "transparency/acceptances.html",
        listings.acceptances_query,
        lambda items: {"contracts": listings.contracts_by_id([a.contract_id for a in items])},
    )


@bp.route("/audit-heads")
def audit_heads():
    """The audit chain's published heads, newest first, with the key that signs them (docs/audit.md)."""
    stmt = select(AuditPublishedHead).order_by(AuditPublishedHead.seq.desc(), AuditPublishedHead.id.desc())
    return render_template(
        "transparency/audit_heads.html", pagination=paginate(stmt), public_key=published.public_key_b64()
    )


@bp.route("/ocds")
def ocds_policy():
    """The OCDS open data and its publication policy (every package's ``publicationPolicy``)."""
    return render_template(
        "transparency/ocds_policy.html",
        licence=current_app.config.get("OCDS_LICENSE", ""),
        prefix=current_app.config["OCDS_PREFIX"],
        feed_interval=int(current_app.config["OCDS_FEED_INTERVAL"]),
    )
