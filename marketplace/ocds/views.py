"""OCDS 1.1 open data: release packages and record packages."""

from flask import Blueprint

bp = Blueprint("ocds", __name__, url_prefix="/api/v1/ocds")
