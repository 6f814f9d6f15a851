"""The committee blueprint (pages under /committee and the award notice) and the template helpers
other packages' pages use to link to the award stage."""

from __future__ import annotations

from flask import Blueprint

from marketplace.tenders.committee import awards
from marketplace.tenders.committee.models import Award
from marketplace.tenders.models import Tender

bp = Blueprint("committee", __name__, template_folder="templates")


@bp.app_template_global("award_status")
def award_status(tender: Tender, award: Award) -> str | None:
    """The award's status as of now (final once the challenge window closed), for the pages."""
    return awards.award_status(tender, award)


@bp.app_template_global()
def latest_award(tender: Tender) -> Award | None:
    """The tender's most recent award (annulled ones included): the notice page exists once there is one."""
    return awards.latest_award(tender)
