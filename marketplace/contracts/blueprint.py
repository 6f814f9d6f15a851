"""The contracts blueprint. Its routes live in ``views`` (contracts, signatures, variations) and
``delivery_views`` (service records, reports, milestones, acceptance, payments)."""

from flask import Blueprint

bp = Blueprint("contracts", __name__, template_folder="templates")
