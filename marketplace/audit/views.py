"""Auditor pages: contract histories and exports (read-only everywhere)."""

from flask import Blueprint

bp = Blueprint("auditor", __name__, url_prefix="/auditor", template_folder="templates")
