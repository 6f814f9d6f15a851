"""Which contracts an auditor's index page or export covers: the filter, its parsing and its query.

The contract date is the day both parties signed (activation), or the day it was drafted while it is
unsigned; ``from``/``to`` are local dates of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace.audit.schemas import ContractFilterSchema
from marketplace.auth.models import Agency
from marketplace.contracts.models import CONTRACT_STATUSES, Contract
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.districts import District, counties
from marketplace.core.errors import RuleViolation
from marketplace.core.schemas import load
from marketplace.core.timeutil import start_of_local_day
from marketplace.extensions import db
from marketplace.orgs.models import Organization
from marketplace.tenders.models import Tender


@dataclass(frozen=True)
class ContractFilter:
    """Which contracts an index page or an export covers. ``date_from``/``date_to`` are local dates of
    the contract date: the day both parties signed (or the day it was drafted, while unsigned)."""

    district: str | None = None
    agency_id: int | None = None
    organization_id: int | None = None
    category: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    status: str | None = None

    def as_dict(self) -> dict:
        """The filter as given (for the audit event and the export header), empty values left out."""
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items() if v}

    def query_args(self) -> dict:
        """The filter as the index page's query string (``from``/``to`` for the dates)."""
        names = {
            "agency_id": "agency",
            "organization_id": "organization",
            "date_from": "from",
            "date_to": "to",
        }
        return {names.get(k, k): v for k, v in self.as_dict().items()}


def parse_filter(args: Mapping) -> ContractFilter:
    """A filter from query-string or command-line values. Raises :class:`RuleViolation` on a bad value.

    Keys: ``district`` (a county code), ``agency`` and ``organization`` (ids), ``category``,
    ``from``/``to`` (YYYY-MM-DD) and ``status`` (see :class:`ContractFilterSchema`)."""
    data = load(ContractFilterSchema(), dict(args))
    district = data.get("district")
    if district is not None and db.session.get(District, district) is None:
        raise RuleViolation(_("Unknown district code %(code)s.", code=district), field="district")
    return ContractFilter(**data)


def contract_date():
    """The contract date: both signatures (activation), or the drafting while it is unsigned."""
    return func.coalesce(Contract.activated_at, Contract.created_at)


def conditions(f: ContractFilter) -> list:
    """The WHERE conditions of the filter, on ``Contract`` joined with its ``Tender``."""
    out = []
    if f.district:
        out.append(Tender.district_code == f.district)
    if f.category:
        out.append(Tender.category == f.category)
    if f.agency_id:
        out.append(Contract.agency_id == f.agency_id)
    if f.organization_id:
        out.append(Contract.organization_id == f.organization_id)
    if f.status:
        out.append(Contract.status == f.status)
    if f.date_from:
        out.append(contract_date() >= start_of_local_day(f.date_from))
    if f.date_to:
        out.append(contract_date() < start_of_local_day(f.date_to + timedelta(days=1)))
    return out


def contracts_query(f: ContractFilter):
    """The index page's query: matching contracts, newest first."""
    return (
        select(Contract)
        .join(Tender, Tender.id == Contract.tender_id)
        .where(*conditions(f))
        .order_by(contract_date().desc(), Contract.id.desc())
    )


def count(f: ContractFilter) -> int:
    return db.session.scalar(
        select(func.count(Contract.id)).join(Tender, Tender.id == Contract.tender_id).where(*conditions(f))
    )


def filter_choices() -> dict:
    """Options for the filter form's selects."""
    return {
        "districts": counties(),
        "agencies": db.session.scalars(select(Agency).order_by(Agency.name)).all(),
        "organizations": db.session.scalars(
            select(Organization)
            .where(Organization.id.in_(select(Contract.organization_id)))
            .order_by(Organization.name)
        ).all(),
        "categories": SERVICE_CATEGORIES,
        "statuses": CONTRACT_STATUSES,
    }
