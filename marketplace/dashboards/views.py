"""Dashboards: the officer's (tenders by state, contracts at risk, overdue milestones) and the
organization's (bids, contracts, what is due next)."""

from flask import Blueprint

bp = Blueprint("dashboards", __name__, template_folder="templates")
