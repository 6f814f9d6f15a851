"""The public directory of organizations whose verification stands."""

from __future__ import annotations

from sqlalchemy import Select, String, cast, or_, select

from marketplace.core.districts import District
from marketplace.extensions import db
from marketplace.orgs.models import LISTED_STATUSES, Organization

MAX_TERMS = 10


def _related_area_codes(code: str) -> list[str]:
    """The area, its ancestors and its children: an organization serving any of them serves the area."""
    district = db.session.get(District, code)
    if district is None:
        return [code]
    codes = [d.code for d in district.path()]
    codes += [child.code for child in district.children]
    return codes


def directory_query(q: str = "", category: str = "", area: str = "") -> Select:
    """Organizations whose verification stands (verified, or sanctioned with a badge), matching every
    word of ``q`` in the name, English name or credit code, the category and the service area."""
    stmt = select(Organization).where(
        Organization.status.in_(LISTED_STATUSES), Organization.verified_at.is_not(None)
    )
    for term in (q or "").split()[:MAX_TERMS]:
        stmt = stmt.where(
            or_(
                Organization.name.icontains(term, autoescape=True),
                Organization.name_en.icontains(term, autoescape=True),
                Organization.uscc.icontains(term, autoescape=True),
            )
        )
    if category:
        # Categories are a JSON list of keys; match the quoted key in its text form.
        stmt = stmt.where(cast(Organization.categories, String).contains(f'"{category}"', autoescape=True))
    if area:
        stmt = stmt.where(Organization.service_areas.any(District.code.in_(_related_area_codes(area))))
    return stmt.order_by(Organization.name, Organization.id)


def contracts_won(org: Organization) -> list:
    """Contracts the organization has won, for its profile. (The profile lists none yet.)"""
    return []
