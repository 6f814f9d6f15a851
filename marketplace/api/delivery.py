"""/api/v1 delivery endpoints for organizations (scope ``delivery:write``): service records (one list,
and a bulk import with an Idempotency-Key), progress reports, milestone submissions with evidence
(issue 19). Reads take scope ``read`` and are for the contract's parties, auditors and admins.

Each handler loads the contract (404 when it does not exist or the token's user may not view it),
asks the policy (403 unless the user is a member of the contracted organization), then runs the same
verb as the web page, on the same load schema. The verbs' rule violations become 422 problems.

The import (``POST .../service-records/import``) stores nothing unless every record is valid; with
``?dry_run=1`` it only returns the per-row preview. A successful import's response is kept under the
caller's ``Idempotency-Key``: the same key with the same body replays it (``Idempotent-Replayed:
true``), the same key with another body is a 422 problem. A failed request keeps no key (nothing
changed, the client may fix the body and retry with it). The same records sent again under another
key are refused (409): the content digest is stored once per contract, as for a file.
"""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort
from flask_smorest.fields import Upload
from marshmallow import fields
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace import clock
from marketplace.api import paging
from marketplace.api.auth import current_api_user, require_scope
from marketplace.api.conditional import conditional
from marketplace.api.schemas import DocumentMetaSchema, ProgressReportSchema, SubmissionSchema
from marketplace.contracts.delivery import corrections, imports
from marketplace.contracts.delivery import milestones as milestone_verbs
from marketplace.contracts.delivery import reports as report_verbs
from marketplace.contracts.delivery.models import ServiceImportRequest
from marketplace.contracts.delivery.schemas import MilestoneReportSchema, RecordInputSchema
from marketplace.contracts.delivery.schemas import ProgressReportSchema as ProgressReportLoadSchema
from marketplace.contracts.models import Contract, Milestone, ServiceRecord
from marketplace.core import documents as document_store
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import can
from marketplace.core.schemas import InputSchema
from marketplace.core.transaction import flush_unique
from marketplace.extensions import db

blp = Blueprint(
    "api_delivery", __name__, url_prefix="/api/v1", description="Delivery records (organizations)"
)

KEY_MAX = 255


# --- schemas -------------------------------------------------------------------------------------------


class ServiceRecordSchema(ma.Schema):
    id = fields.Integer()
    service_date = fields.Date()
    activity_type = fields.String()
    target_id = fields.Integer(allow_none=True)
    quantity = fields.Decimal(as_string=True)
    beneficiaries = fields.Integer()
    hours = fields.Decimal(as_string=True)
    community_code = fields.String(allow_none=True)
    notes = fields.String()
    recorded_at = fields.DateTime()
    version = fields.Integer(metadata={"description": "1, or the number of the current corrected version"})
    documents = fields.List(fields.Nested(DocumentMetaSchema))


class ImportArgs(InputSchema):
    dry_run = fields.Boolean(
        load_default=False, metadata={"description": "1: check every record and store nothing"}
    )


class IdempotencyHeader(InputSchema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        required=True,
        validate=ma.validate.Length(min=1, max=KEY_MAX),
        error_messages={"required": _l("Send an Idempotency-Key header (a new random value per import).")},
        metadata={"description": "A new unique value (a UUID) per import; the same value replays its answer"},
    )


class ImportRowSchema(ma.Schema):
    row = fields.Integer(metadata={"description": "The record's position in the array, from 1"})
    valid = fields.Boolean()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class ImportResultSchema(ma.Schema):
    dry_run = fields.Boolean()
    valid = fields.Boolean()
    count = fields.Integer()
    import_id = fields.Integer(allow_none=True)
    record_ids = fields.List(fields.Integer())
    rows = fields.List(fields.Nested(ImportRowSchema))


class ProgressReportInput(ProgressReportLoadSchema):
    """The web form's schema, named apart from the dump schema in the OpenAPI document."""


class MilestoneSubmissionInput(MilestoneReportSchema):
    """The report (a form field) and the evidence files (``documents``, read from the request's files:
    listed here for the OpenAPI document's multipart body)."""

    documents = fields.List(Upload(), load_default=list, metadata={"description": "Evidence files"})


# --- helpers -------------------------------------------------------------------------------------------


def _contract(contract_id: int, write: bool = False) -> Contract:
    user = current_api_user()
    contract = db.session.get(Contract, contract_id)
    if contract is None or not can(user, "contract.view", contract):
        abort(404, message=_("No contract of yours has this id."))
    if write and not can(user, "contract.deliver", contract):
        abort(403, message=_("Only a member of the contracted organization can do this."))
    return contract


def _record_items(records: list[ServiceRecord]) -> list[dict]:
    versions = corrections.current_versions([r.id for r in records])
    return [
        {**corrections.values_of(r), "id": r.id, "recorded_at": r.recorded_at, "version": versions[r.id],
         "documents": r.documents}
        for r in records
    ]  # fmt: skip


def _result(preview: imports.Preview, records: list, dry_run: bool, batch_id: int | None = None) -> dict:
    return {
        "dry_run": dry_run,
        "valid": preview.valid,
        "count": len(preview.rows),
        "import_id": batch_id,
        "record_ids": [r.id for r in records],
        "rows": [{"row": r.line, "valid": not r.errors, "errors": r.errors} for r in preview.rows],
    }


def _previous_request(user, key: str, digest: str):
    """The stored answer to this key (a replay) or None; a 422 problem when the key was used for
    another request."""
    earlier = db.session.scalar(
        select(ServiceImportRequest).where(
            ServiceImportRequest.user_id == user.id, ServiceImportRequest.idempotency_key == key
        )
    )
    if earlier is None:
        return None
    if earlier.request_digest != digest:
        abort(
            422,
            message=_(
                "This Idempotency-Key was used for a different request. Send new records with a new key."
            ),
            errors={"Idempotency-Key": [_("Already used for a different request.")]},
        )
    response = current_app.json.response(earlier.response)
    response.status_code = earlier.status_code
    response.headers["Idempotent-Replayed"] = "true"
    return response


# --- service records ------------------------------------------------------------------------------------


@blp.route("/contracts/<int:contract_id>/service-records")
@conditional
@require_scope("read")
@blp.arguments(paging.PageArgs, location="query")
@blp.response(200, paging.page_schema(ServiceRecordSchema))
def service_records(args, contract_id: int):
    """A contract's service records, the latest service date first (parties, auditors, admins)."""
    contract = _contract(contract_id)
    stmt = (
        select(ServiceRecord)
        .where(ServiceRecord.contract_id == contract.id)
        .options(selectinload(ServiceRecord.documents))
    )
    keys = [
        paging.Key(ServiceRecord.service_date, descending=True),
        paging.Key(ServiceRecord.id, descending=True),
    ]
    page = paging.page(
        stmt, keys, args, scope=f"service-records:{contract.id}", values=lambda r: (r.service_date, r.id)
    )
    page.items = _record_items(page.items)
    return page, paging.link_header(page.next_cursor)


@blp.route("/contracts/<int:contract_id>/service-records/import", methods=["POST"])
@require_scope("delivery:write")
@blp.arguments(ImportArgs, location="query", arg_name="query")
@blp.arguments(IdempotencyHeader, location="headers", arg_name="headers")
@blp.doc(
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"type": "array", "items": RecordInputSchema}}},
    }
)
@blp.response(201, ImportResultSchema, description="Every record is stored")
@blp.alt_response(200, schema=ImportResultSchema, description="A dry run: every record checked, none stored")
@blp.alt_response(409, response="CONFLICT")
def import_service_records(contract_id: int, query: dict, headers: dict):
    """Import a JSON array of service records: all stored, or none (the errors of every record)."""
    contract = _contract(contract_id, write=True)
    body = request.get_json(silent=True)
    if not isinstance(body, list):
        abort(
            422,
            message=_("Send a JSON array of service records."),
            errors={"_schema": [_("Not a JSON array.")]},
        )
    user, key, dry_run = current_api_user(), headers["idempotency_key"], query["dry_run"]
    digest = imports.json_digest({"contract_id": contract.id, "records": body})
    replay = None if dry_run else _previous_request(user, key, digest)
    if replay is not None:
        return replay
    try:
        preview, records = imports.import_json(contract, body, user, dry_run=dry_run)
    except imports.AlreadyImported as exc:
        abort(409, message=exc.message)
    except imports.InvalidImport as exc:
        errors = (
            {"rows": exc.preview.errors_by_row()}
            if exc.preview.rows
            else {"_schema": exc.preview.file_errors}
        )
        abort(422, message=exc.message, errors=errors)
    if dry_run:
        return _result(preview, [], True), 200
    result = ImportResultSchema().dump(_result(preview, records, False, preview.import_id))
    stored = ServiceImportRequest(
        user_id=user.id, idempotency_key=key, contract_id=contract.id, request_digest=digest
    )
    stored.status_code, stored.response, stored.created_at = 201, result, clock.now()
    db.session.add(stored)
    try:
        flush_unique(_("A request with this Idempotency-Key is being processed. Retry in a moment."))
    except RuleViolation as exc:
        abort(409, message=exc.message)
    return result, 201


# --- progress reports and milestone submissions -----------------------------------------------------------


@blp.route("/contracts/<int:contract_id>/progress-reports", methods=["POST"])
@require_scope("delivery:write")
@blp.arguments(ProgressReportInput)
@blp.response(201, ProgressReportSchema)
def file_progress_report(data: dict, contract_id: int):
    """File a progress report on a period within the contract's term."""
    contract = _contract(contract_id, write=True)
    return report_verbs.file_progress_report(
        contract,
        data["period_start"],
        data["period_end"],
        data["summary"],
        data["issues"],
        current_api_user(),
    )


@blp.route("/contracts/<int:contract_id>/milestones/<int:milestone_id>/submission", methods=["POST"])
@require_scope("delivery:write")
@blp.arguments(MilestoneSubmissionInput, location="form", content_type="multipart/form-data")
@blp.response(201, SubmissionSchema)
def submit_milestone(form: dict, contract_id: int, milestone_id: int):
    """Submit a milestone for acceptance with its report and evidence files (multipart/form-data)."""
    contract = _contract(contract_id, write=True)
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None or milestone.contract_id != contract.id:
        abort(404, message=_("This contract has no milestone with this id."))
    uploads = [f for f in request.files.getlist("documents") if getattr(f, "filename", "")]
    stored = [document_store.store(f) for f in uploads]
    return milestone_verbs.submit_milestone(milestone, form["report"], stored, current_api_user())
