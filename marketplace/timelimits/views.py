"""A tender's statutory time limits, as of today (read-only; ``limits.time_limits`` derives them)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from marketplace import clock
from marketplace.core.permissions import require
from marketplace.core.timeutil import local_date
from marketplace.core.web import get_or_404
from marketplace.tenders.models import Tender
from marketplace.timelimits.limits import limit_days, time_limits

bp = Blueprint("timelimits", __name__, url_prefix="/time-limits", template_folder="templates")


@bp.route("/tenders/<int:tender_id>")
@login_required
def tender(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "time_limits.view", tender)
    today = local_date(clock.now())
    return render_template(
        "timelimits/tender.html",
        tender=tender,
        limits=time_limits(tender, today),
        days=limit_days,
        today=today,
    )
