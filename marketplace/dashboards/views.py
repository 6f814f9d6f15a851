"""Dashboards: the officer's (tenders by state, contracts at risk, overdue milestones) and the
organization's (bids, contracts, what is due next).

Each page is scoped to the viewer's own agency or organization by the queries in ``services``;
the charts repeat numbers that are also in a table, so the page reads the same without JavaScript.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import Forbidden
from werkzeug.routing import BuildError

from marketplace import clock
from marketplace.bonds import returns as bond_returns
from marketplace.core.labels import label
from marketplace.core.permissions import can, require
from marketplace.core.timeutil import local_date
from marketplace.dashboards import services
from marketplace.timelimits import tracking

bp = Blueprint("dashboards", __name__, url_prefix="/dashboard", template_folder="templates")

# Colours for the tender-state chart, close to the Bootstrap badges the tender pages use.
STATUS_COLOURS = {
    "draft": "#6c757d",
    "open": "#198754",
    "closed": "#212529",
    "opened": "#0dcaf0",
    "evaluation": "#0d6efd",
    "awarded": "#20c997",
    "failed": "#ffc107",
    "cancelled": "#dc3545",
}


def contract_url(contract_id: int) -> str | None:
    """The contract's page, when the contracts blueprint provides one."""
    try:
        return url_for("contracts.detail", contract_id=contract_id)
    except BuildError:
        return None


def milestone_url(contract_id: int, milestone_id: int) -> str | None:
    try:
        return url_for("contracts.milestone", contract_id=contract_id, milestone_id=milestone_id)
    except BuildError:
        return None


def quantity(value: Decimal) -> str:
    """A target quantity without needless decimals: 200, 12.5."""
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def _helpers() -> dict:
    return {
        "quantity": quantity,
        "contract_url": contract_url,
        "milestone_url": milestone_url,
    }


def _payments_chart(rows) -> dict:
    """Value against paid per contract, as a grouped bar chart."""
    return {
        "type": "bar",
        "labels": [r.reference for r in rows],
        "datasets": [
            {"label": _("Contract value"), "data": [str(r.value) for r in rows], "color": "#adb5bd"},
            {"label": _("Paid"), "data": [str(r.paid) for r in rows], "color": "#198754"},
        ],
        "money": True,
    }


@bp.route("")
@login_required
def index():
    if can(current_user, "officer.dashboard"):
        return redirect(url_for("dashboards.officer"))
    if can(current_user, "organization.dashboard"):
        return redirect(url_for("dashboards.organization"))
    exc = Forbidden(_("Dashboards are for procurement officers and members of a registered organization."))
    exc._marketplace_message = True
    raise exc


@bp.route("/officer")
@login_required
def officer():
    require(current_user, "officer.dashboard")
    agency_id = current_user.agency_id or -1  # an officer without an agency sees empty panels
    now = clock.now()
    today = local_date(now)
    counts = services.tender_counts(agency_id, now)
    totals, top_payments = services.agency_payments(agency_id)
    tender_chart = {
        "type": "doughnut",
        "labels": [label("tender", c.status) for c in counts if c.count],
        "datasets": [
            {
                "label": _("Tenders"),
                "data": [c.count for c in counts if c.count],
                "colors": [STATUS_COLOURS.get(c.status, "#adb5bd") for c in counts if c.count],
            }
        ],
    }
    return render_template(
        "dashboards/officer.html",
        has_agency=current_user.agency_id is not None,
        today=today,
        counts=counts,
        tender_total=sum(c.count for c in counts),
        tender_chart=tender_chart,
        at_risk=services.contracts_at_risk(agency_id, now, today),
        time_limits=tracking.flagged(agency_id, today),
        bond_returns=bond_returns.overdue_for_agency(agency_id, today),
        overdue=services.overdue_milestones(agency_id, today),
        upcoming=services.upcoming_milestones(agency_id, today),
        payment_totals=totals,
        top_payments=top_payments,
        payments_chart=_payments_chart(top_payments),
        **_helpers(),
    )


@bp.route("/organization")
@login_required
def organization():
    require(current_user, "organization.dashboard")
    org = current_user.organization
    today = local_date(clock.now())
    contracts = services.organization_contracts(org.id)
    signed = [c.payment for c in contracts if c.signed]
    return render_template(
        "dashboards/organization.html",
        org=org,
        today=today,
        bids=services.recent_bids(org.id),
        bid_counts=services.bid_counts(org.id),
        contracts=contracts,
        due=services.due_next(org.id, today),
        payment_totals=services.organization_payment_totals(org.id),
        signed_payments=signed,
        payments_chart=_payments_chart(signed[: services.TOP_CONTRACTS]),
        **_helpers(),
    )
