"""Bidding organizations: who belongs to one, and whether one may bid on a tender."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.auth.models import User
from marketplace.core.districts import District
from marketplace.core.permissions import ORG_MEMBER
from marketplace.extensions import db
from marketplace.tenders.models import Tender, TenderInvitation


def is_member(user, organization_id: int | None) -> bool:
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.role == ORG_MEMBER
        and organization_id is not None
        and user.organization_id == organization_id
    )


def organization_members(organization_ids) -> list[User]:
    """The active users of these organizations (whom a notification about their bids goes to)."""
    if not organization_ids:
        return []
    return list(
        db.session.scalars(
            select(User).where(User.organization_id.in_(list(organization_ids)), User.active.is_(True))
        )
    )


def _covered_codes(org) -> set[str]:
    """District codes an organization serves: its areas and everything below them."""
    codes = set()
    frontier = [d.code for d in org.service_areas]
    while frontier:
        codes.update(frontier)
        frontier = list(db.session.scalars(select(District.code).where(District.parent_code.in_(frontier))))
        frontier = [c for c in frontier if c not in codes]
    return codes


def standing_problems(org, tender: Tender) -> list[str]:
    """What may change between saving a draft and submitting it, checked without a query: the
    organization's status and sanctions, its categories, its small-organization declaration."""
    if org is None:
        return [_("Only members of a registered organization can bid.")]
    problems = []
    if not org.may_bid:
        if org.is_sanctioned:
            problems.append(
                _(
                    "The organization is suspended or debarred until %(date)s.",
                    date=str(org.sanction_until or "—"),
                )
            )
        else:
            problems.append(
                _(
                    "Only verified organizations can bid. Your organization's status: %(status)s.",
                    status=org.status,
                )
            )
    if tender.category not in (org.categories or []):
        problems.append(_("The tender's service category is not among your organization's categories."))
    if tender.reserved_for_small and not org.small_org_declared:
        problems.append(_("This tender is reserved for small and micro organizations."))
    return problems


def qualification_problems(org, tender: Tender) -> list[str]:
    """What keeps ``org`` out of the tender's qualified pool: its standing and its service area."""
    problems = standing_problems(org, tender)
    if org is None:
        return problems
    covered = _covered_codes(org)
    wanted = {d.code for d in tender.service_areas} or {tender.district_code}
    if not (wanted & covered):
        problems.append(_("Your organization does not serve the tender's service area."))
    return problems


def is_invited(org_id: int, tender_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(TenderInvitation.id).where(
                TenderInvitation.tender_id == tender_id, TenderInvitation.organization_id == org_id
            )
        )
    )


def invitation_problem(org, tender: Tender) -> str | None:
    """Why ``org`` may not bid on an invited tender (None when it was invited or the tender is open to
    all). Checked when a bid is saved, not on the submission's fast path: invitations are prepared
    on the draft and fixed at publication (tenders/invitations.py), so a saved bid stays invited."""
    if org is None or not tender.by_invitation:
        return None
    if is_invited(org.id, tender.id):
        return None
    return _(
        "This is an invited tender (邀请招标): only the organizations the buyer invited may bid, "
        "and your organization was not invited."
    )


def eligibility_problems(org, tender: Tender) -> list[str]:
    """Everything that keeps ``org`` from bidding on ``tender``: its standing, its service area and,
    on an invited tender, the invitation."""
    problem = invitation_problem(org, tender)
    return ([problem] if problem else []) + qualification_problems(org, tender)
