"""The performance-evaluation blueprint: indicator templates, evaluation rounds, reports, surveys."""

from flask import Blueprint

bp = Blueprint("performance", __name__, template_folder="templates")
