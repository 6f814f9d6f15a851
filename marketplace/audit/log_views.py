"""The audit log page: every event, filtered, for auditors and admins (bid events hidden until opening)."""

from __future__ import annotations

from flask import Blueprint, flash, render_template, request
from flask_login import current_user

from marketplace.audit import log_query
from marketplace.audit.sealed import sealed_bid_event_filter
from marketplace.core.permissions import require
from marketplace.core.web import paginate

bp = Blueprint("audit_log", __name__, template_folder="templates")


@bp.route("/audit")
def index():
    require(current_user, "audit.view")
    f, errors = log_query.parse_event_filter(request.args)
    for message in errors:
        flash(message, "danger")
    # Bid events stay out of sight until their tender's bids are opened.
    pagination = paginate(log_query.events_query(f, visible=sealed_bid_event_filter()))
    return render_template("audit_log.html", pagination=pagination, f=f, args=f.query_args()), (
        400 if errors else 200
    )
