"""/api/v1 contract details for its parties, auditors and admins (scope ``read``): milestones with
their submissions, targets, progress reports, service totals, payments, variations and the documents'
metadata (never their content). Anyone else is told nothing (404), as on the contract's page."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from sqlalchemy import func, select

from marketplace.api import schemas
from marketplace.api.auth import current_api_user, require_scope
from marketplace.api.conditional import conditional
from marketplace.contracts.models import (
    Acceptance,
    Contract,
    Payment,
    ProgressReport,
    ServiceRecord,
    Variation,
)
from marketplace.core.permissions import can
from marketplace.extensions import db

blp = Blueprint("api_contracts", __name__, url_prefix="/api/v1", description="Contracts for their parties")


def _service_totals(contract_id: int) -> list[dict]:
    rows = db.session.execute(
        select(
            ServiceRecord.target_id,
            func.count(ServiceRecord.id),
            func.coalesce(func.sum(ServiceRecord.quantity), 0),
            func.coalesce(func.sum(ServiceRecord.beneficiaries), 0),
            func.coalesce(func.sum(ServiceRecord.hours), 0),
        )
        .where(ServiceRecord.contract_id == contract_id)
        .group_by(ServiceRecord.target_id)
        .order_by(ServiceRecord.target_id)
    ).all()
    return [
        {
            "target_id": target_id,
            "records": records,
            "quantity": Decimal(str(quantity)),
            "beneficiaries": int(beneficiaries),
            "hours": Decimal(str(hours)),
        }
        for target_id, records, quantity, beneficiaries, hours in rows
    ]


def _all(model, contract_id: int, *order):
    return list(db.session.scalars(select(model).where(model.contract_id == contract_id).order_by(*order)))


def details(contract: Contract) -> dict:
    """The contract's full view as a dict of what ``ContractDetailsSchema`` dumps."""
    data = {
        name: getattr(contract, name)
        for name in schemas.ContractDetailsSchema().fields
        if hasattr(contract, name)
    }
    data["progress_reports"] = _all(
        ProgressReport, contract.id, ProgressReport.period_start, ProgressReport.id
    )
    data["payments"] = _all(Payment, contract.id, Payment.paid_on, Payment.id)
    data["variations"] = _all(Variation, contract.id, Variation.id)
    data["service_totals"] = _service_totals(contract.id)
    data["acceptance"] = db.session.scalar(select(Acceptance).where(Acceptance.contract_id == contract.id))
    return data


@blp.route(f"/contracts/<{schemas.ROW_ID}:contract_id>/details")
@conditional
@require_scope("read")
@blp.response(200, schemas.ContractDetailsSchema)
def contract_details(contract_id: int):
    """A contract as its parties see it: both parties, auditors and admins (drafts too)."""
    contract = db.session.get(Contract, contract_id)
    if contract is None or not can(current_api_user(), "contract.view", contract):
        abort(404, message=_("No contract of yours has this id."))
    return details(contract)
