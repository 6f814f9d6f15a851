"""Service records summed per contract and local month.

Service-record detail never leaves the contract's own pages: histories and exports show these
monthly totals only, never one line per record (nor its notes).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import select

from marketplace.contracts.models import Contract, ServiceRecord
from marketplace.extensions import db
from marketplace.orgs.models import Organization


def service_totals(contract_ids: list[int]) -> Iterator[dict]:
    """Service records summed per contract and local month, streamed in (contract, date) order."""
    if not contract_ids:
        return
    orgs = dict(
        db.session.execute(
            select(Contract.id, Organization.name)
            .join(Organization, Organization.id == Contract.organization_id)
            .where(Contract.id.in_(contract_ids))
        ).all()
    )
    stmt = (
        select(
            ServiceRecord.contract_id,
            ServiceRecord.service_date,
            ServiceRecord.quantity,
            ServiceRecord.beneficiaries,
            ServiceRecord.hours,
            ServiceRecord.recorded_at,
        )
        .where(ServiceRecord.contract_id.in_(contract_ids))
        .order_by(ServiceRecord.contract_id, ServiceRecord.service_date, ServiceRecord.id)
        .execution_options(yield_per=2000)
    )
    current = None
    for cid, day, quantity, beneficiaries, hours, recorded_at in db.session.execute(stmt):
        month = f"{day.year:04d}-{day.month:02d}"
        if current is None or (current["contract_id"], current["month"]) != (cid, month):
            if current is not None:
                yield current
            current = {
                "contract_id": cid,
                "organization": orgs.get(cid, ""),
                "month": month,
                "records": 0,
                "quantity": Decimal("0"),
                "beneficiaries": 0,
                "hours": Decimal("0"),
                "last_recorded_at": recorded_at,
            }
        current["records"] += 1
        current["quantity"] += Decimal(quantity or 0)
        current["beneficiaries"] += int(beneficiaries or 0)
        current["hours"] += Decimal(hours or 0)
        current["last_recorded_at"] = max(current["last_recorded_at"], recorded_at)
    if current is not None:
        yield current
