"""Bid bonds not returned in time (IR 33): the officer's dashboard flag and the ``bond-returns`` job,
which tells the agency's officers once per bond (each bond is its own transaction)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from marketplace import clock
from marketplace.auth.models import User
from marketplace.bonds.models import BidBond
from marketplace.bonds.services import return_due, return_overdue
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.extensions import db
from marketplace.tenders.models import Tender


def _unreturned(*conditions, limit: int | None = None) -> list[BidBond]:
    return list(
        db.session.scalars(
            select(BidBond)
            .join(Tender, Tender.id == BidBond.tender_id)
            .where(BidBond.returned_on.is_(None), *conditions)
            .order_by(BidBond.id)
            .limit(limit)
        )
    )


def overdue_for_agency(agency_id: int, today: date) -> list[BidBond]:
    """The agency's bid bonds past their return day and not returned (the officer's dashboard)."""
    calendar = WorkingCalendar.load()
    return [b for b in _unreturned(Tender.agency_id == agency_id) if return_overdue(b, today, calendar)]


def due_flags(today: date, after: int | None = None, limit: int = 500) -> tuple[list[int], int | None]:
    """The job's due items, a batch at a time: among the next ``limit`` unreturned bonds whose
    officers were not told yet (id after ``after``), those overdue for return; and the ``after`` of
    the next batch (None when these were the last)."""
    calendar = WorkingCalendar.load()
    conditions = [BidBond.return_overdue_notified_at.is_(None)]
    if after is not None:
        conditions.append(BidBond.id > after)
    bonds = _unreturned(*conditions, limit=limit)
    due = [b.id for b in bonds if return_overdue(b, today, calendar)]
    return due, (bonds[-1].id if len(bonds) == limit else None)


def flag_overdue_return(today: date, bond_id: int) -> bool:
    """Tell the agency's officers that one bid bond is overdue for return; False when it was returned
    or already flagged since the job listed it."""
    bond = db.session.get(BidBond, bond_id)
    if bond is None or bond.return_overdue_notified_at is not None or not return_overdue(bond, today):
        return False
    bond.return_overdue_notified_at = clock.now()
    tender = bond.tender
    officers = db.session.scalars(
        select(User).where(User.agency_id == tender.agency_id, User.role == "officer", User.active.is_(True))
    )
    notify(
        officers,
        "bond.return_overdue",
        N_("A bid bond is overdue for return — %(title)s"),
        N_(
            "The bid bond of %(organization)s (%(amount)s) was to be returned by %(due)s (Government "
            "Procurement Regulations, art. 33)."
        ),
        f"/bonds/tenders/{tender.id}",
        params={
            "title": tender.title,
            "organization": bond.bid.organization.name,
            "amount": str(bond.amount),
            "due": return_due(bond).isoformat(),
        },
    )
    return True
