"""Permission rules for tenders and their clarifications, who may prepare a bid and who may read
the opening record."""

from __future__ import annotations

from marketplace.core.permissions import ADMIN, AUDITOR, OFFICER, ORG_MEMBER, _role, _same_agency
from marketplace.tenders.bids.visibility import may_view_opening, opening_of
from marketplace.tenders.models import Tender


def _tender_create(user, obj=None):
    return _role(user, OFFICER) and user.agency_id is not None


def _tender_view(user, tender):
    if tender.is_public:
        return True
    # Drafts: the owning agency's officers, auditors, admins.
    return _same_agency(user, tender) or _role(user, AUDITOR, ADMIN)


def _tender_edit(user, tender):
    return _same_agency(user, tender) and tender.status == "draft"


def _tender_publish(user, tender):
    return _same_agency(user, tender) and tender.status == "draft"


def _tender_delete(user, tender):
    return _same_agency(user, tender) and tender.status == "draft"


def _tender_amend(user, tender):
    return _same_agency(user, tender) and tender.status == "open"


def _tender_cancel(user, tender):
    return _same_agency(user, tender) and tender.status in ("draft", "open")


def _tender_manage(user, tender):
    return _same_agency(user, tender)


def _invitations_view(user, tender):
    """Who was invited: the buyer's officers, auditors and admins, never the public or other bidders."""
    return isinstance(tender, Tender) and (_same_agency(user, tender) or _role(user, AUDITOR, ADMIN))


def _invite(user, tender):
    """Invitations are prepared on an invited tender's draft (publication sends them)."""
    return _same_agency(user, tender) and tender.status == "draft" and tender.by_invitation


def _invited_to_bid(user, tender):
    """A member of an organization invited to a published invited tender (it alone learns that)."""
    return (
        isinstance(tender, Tender)
        and tender.by_invitation
        and tender.status != "draft"
        and _role(user, ORG_MEMBER)
        and user.organization_id is not None
        and any(i.organization_id == user.organization_id for i in tender.invitations)
    )


def _clar_ask(user, tender):
    return _role(user, ORG_MEMBER) and tender.status == "open"


def _clar_answer(user, tender):
    return _same_agency(user, tender) and tender.status == "open"


def _clar_view_pending(user, tender):
    return _same_agency(user, tender) or _role(user, AUDITOR, ADMIN)


def _bid_prepare(user, obj=None):
    return _role(user, ORG_MEMBER) and user.organization_id is not None


def _opening_view(user, tender):
    """The opening record: the tender's officers, auditors, admins and the organizations that bid."""
    return isinstance(tender, Tender) and may_view_opening(user, tender, opening_of(tender))


RULES = {
    "tender.create": _tender_create,
    "tender.view": _tender_view,
    "tender.edit": _tender_edit,
    "tender.publish": _tender_publish,
    "tender.delete_draft": _tender_delete,
    "tender.amend": _tender_amend,
    "tender.cancel": _tender_cancel,
    "tender.manage": _tender_manage,
    "tender.view_invitations": _invitations_view,
    "tender.invite": _invite,
    "tender.invited_to_bid": _invited_to_bid,
    "clarification.ask": _clar_ask,
    "clarification.answer": _clar_answer,
    "clarification.view_pending": _clar_view_pending,
    "bid.prepare": _bid_prepare,
    "bid.view_opening": _opening_view,
}
