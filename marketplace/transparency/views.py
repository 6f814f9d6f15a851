"""Public transparency pages: award notices, contracts, acceptance results, spending dashboards."""

from flask import Blueprint

bp = Blueprint("transparency", __name__, url_prefix="/open", template_folder="templates")
