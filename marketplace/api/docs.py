"""The API's documentation page: Swagger UI (vendored under static/vendor/swagger-ui, docs/third-party.md)
reading /api/v1/openapi.json, started by static/api-docs.js (no inline script).

The page keeps the strict Content-Security-Policy of every page (core/security_headers.py): Swagger UI
sets its element styles through the DOM (allowed), never with inline ``<style>`` or ``style=""`` markup
(checked in a browser with every operation and model expanded: no policy violation)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1", template_folder="templates")


@bp.route("/docs")
def docs():
    return render_template("api/docs.html")
