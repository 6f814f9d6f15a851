"""Bulk import of service records: from a CSV or XLSX file on the contract's records page, or a JSON
array through the API. Both go through the same steps:

1. every row is checked as the single-record form checks one (``records.check_record``: the same
   schema and rules), and every problem is reported with its row;
2. nothing is stored unless every row is valid (a web upload is staged, server-side, until the user
   confirms the preview; the API stores at once unless it is a dry run);
3. the records are stored in one transaction, with one audit event for the import beside each
   record's own;
4. the same content (SHA-256 of the file, or of the API body's canonical JSON) is stored once per
   contract: sending it again stores nothing and says when it was imported.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.delivery import import_files
from marketplace.contracts.delivery.checks import require, require_active
from marketplace.contracts.delivery.models import STAGED, STORED, ServiceImport
from marketplace.contracts.delivery.records import add_record, check_record, communities_for
from marketplace.contracts.labels import LABELS
from marketplace.contracts.locking import lock_contract
from marketplace.contracts.models import Contract, ServiceRecord
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.retention import permit_removal
from marketplace.core.schemas import InputErrors
from marketplace.core.timeutil import local_date
from marketplace.core.transaction import flush_unique
from marketplace.extensions import db

STAGED_FOR = timedelta(days=1)  # a staged upload nobody confirmed is dropped after this
# The schema's field names as the file's columns name them.
FILE_COLUMN = {"target_id": "target", "community_code": "community"}


@dataclass
class RowCheck:
    line: int  # the row's line in the file, or its position (1, 2, ...) in the API's array
    values: dict  # as sent
    errors: dict[str, list[str]] = field(default_factory=dict)  # field → messages
    data: dict | None = None  # the checked values, when the row is valid


@dataclass
class Preview:
    digest: str
    filename: str = ""
    rows: list[RowCheck] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    previous: ServiceImport | None = None  # the same content, already stored
    import_id: int | None = None  # once stored

    @property
    def invalid_rows(self) -> list[RowCheck]:
        return [r for r in self.rows if r.errors]

    @property
    def valid(self) -> bool:
        return not self.file_errors and not self.invalid_rows and self.previous is None

    def errors_by_row(self) -> dict[str, dict[str, list[str]]]:
        """``{"<line>": {field: [messages]}}`` for the rows with errors (the API's problem details)."""
        return {str(r.line): r.errors for r in self.invalid_rows}


class AlreadyImported(RuleViolation):
    """The same content was imported into this contract before: nothing is stored again."""

    def __init__(self, previous: ServiceImport):
        self.previous = previous
        super().__init__(already_imported_message(previous))


class InvalidImport(RuleViolation):
    """Some rows (or the file itself) are invalid: nothing is stored."""

    def __init__(self, preview: Preview):
        self.preview = preview
        count = len(preview.invalid_rows)
        message = (
            preview.file_errors[0]
            if preview.file_errors
            else _(
                "%(n)d of %(total)d rows have errors: nothing was stored. Correct them and send the "
                "whole file again.",
                n=count,
                total=len(preview.rows),
            )
        )
        super().__init__(message)


def already_imported_message(previous: ServiceImport) -> str:
    return _(
        "This content was already imported on %(day)s (%(n)d records, import %(id)d): nothing was stored "
        "again.",
        day=local_date(previous.stored_at or previous.staged_at).isoformat(),
        n=len(previous.record_ids),
        id=previous.id,
    )


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def json_digest(rows) -> str:
    """The SHA-256 of ``rows`` as canonical JSON (sorted keys, no spaces): key order does not count."""
    return content_digest(
        json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )


def stored_import(contract: Contract, digest: str) -> ServiceImport | None:
    return db.session.scalar(
        select(ServiceImport).where(
            ServiceImport.contract_id == contract.id,
            ServiceImport.digest == digest,
            ServiceImport.status == STORED,
        )
    )


# --- from a file's values to the schema's input -----------------------------------------------------


def _fold(text) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).strip().casefold()


def _activities() -> dict[str, str]:
    """Each activity type by its code and its labels in both languages (and the bracketed Chinese)."""
    names: dict[str, str] = {}
    for code, label in LABELS["activity"].items():
        names[_fold(code)] = code
        for language in ("en", "zh"):
            with force_locale(language):
                text = str(label.text)
            names[_fold(text)] = code
            for part in text.replace("（", "(").replace("）", ")").split("("):
                if part.strip(" )"):
                    names.setdefault(_fold(part.strip(" )")), code)
    return names


def _by_name(items, text: str, *names) -> object | None:
    wanted = _fold(text)
    return next((item for item in items if wanted in {_fold(n(item)) for n in names}), None)


def file_input(contract: Contract, values: dict, communities: list, activities: dict) -> dict:
    """A file row's values as ``RecordInputSchema`` input: names resolved to the contract's ids.

    An unknown name is passed on as it is, so the schema and rules say what is wrong with it."""
    raw = {k: values.get(k, "") for k in ("service_date", "quantity", "beneficiaries", "hours", "notes")}
    activity = values.get("activity_type", "")
    raw["activity_type"] = activities.get(_fold(activity), activity)
    target = values.get("target", "")
    found = _by_name(contract.targets, target, lambda t: t.name, lambda t: str(t.id)) if target else None
    raw["target_id"] = found.id if found else target
    community = values.get("community", "")
    place = _by_name(communities, community, lambda c: c.name, lambda c: c.code) if community else None
    raw["community_code"] = place.code if place else community
    return raw


def _check(contract: Contract, line: int, values: dict, raw) -> RowCheck:
    row = RowCheck(line, values)
    if not isinstance(raw, dict):
        row.errors = {"_schema": [_("Each record must be an object with the record's fields.")]}
        return row
    try:
        row.data = check_record(contract, raw)
    except InputErrors as exc:
        row.errors = exc.errors
    return row


def check_file(contract: Contract, filename: str, data: bytes) -> Preview:
    """Read and check an uploaded file (changes nothing)."""
    preview = Preview(content_digest(data), filename)
    preview.previous = stored_import(contract, preview.digest)
    try:
        read = import_files.read(filename, data)
    except import_files.FileProblem as exc:
        preview.file_errors = [exc.message]
        return preview
    preview.file_errors = read.errors
    if not read.errors:
        communities, activities = communities_for(contract), _activities()
        for row in read.rows:
            checked = _check(
                contract, row.line, row.values, file_input(contract, row.values, communities, activities)
            )
            checked.errors = {FILE_COLUMN.get(k, k): v for k, v in checked.errors.items()}
            preview.rows.append(checked)
    return preview


def check_json(contract: Contract, rows: list) -> Preview:
    """Check an API body (a JSON array of records; changes nothing)."""
    preview = Preview(json_digest(rows))
    preview.previous = stored_import(contract, preview.digest)
    if not rows:
        preview.file_errors.append(_("Send at least one record."))
    elif len(rows) > import_files.MAX_ROWS:
        preview.file_errors.append(_("Import at most %(max)d records at a time.", max=import_files.MAX_ROWS))
    else:
        preview.rows = [_check(contract, i, row, row) for i, row in enumerate(rows, start=1)]
    return preview


# --- the verbs -----------------------------------------------------------------------------------------


def _may_import(contract: Contract, actor) -> None:
    require(actor, "contract.deliver", contract)
    require_active(contract)


def preview_file(contract: Contract, filename: str, data: bytes, actor) -> Preview:
    """The preview of an uploaded file; a valid one is staged until the user confirms it."""
    _may_import(contract, actor)
    preview = check_file(contract, filename, data)
    if preview.valid:
        _stage(contract, preview, actor)
    return preview


def _stage(contract: Contract, preview: Preview, actor) -> ServiceImport:
    now = clock.now()
    stale = db.session.scalars(
        select(ServiceImport).where(
            ServiceImport.contract_id == contract.id,
            ServiceImport.status == STAGED,
            ServiceImport.staged_at < now - STAGED_FOR,
            ServiceImport.digest != preview.digest,
        )
    ).all()
    for old in stale:  # uploads nobody confirmed: no record came of them (contracts.retention)
        permit_removal(old)
        db.session.delete(old)
    batch = db.session.scalar(
        select(ServiceImport).where(
            ServiceImport.contract_id == contract.id, ServiceImport.digest == preview.digest
        )
    )
    if batch is None:
        batch = ServiceImport(contract_id=contract.id, digest=preview.digest, source="file")
        db.session.add(batch)
    batch.filename = preview.filename[:255]
    batch.rows = [{"line": r.line, "values": r.values} for r in preview.rows]
    batch.row_count = len(preview.rows)
    batch.staged_at, batch.staged_by_id = now, actor.id
    flush_unique(_("This file is being imported by someone else right now. Reload the records page."))
    return batch


def staged(contract: Contract, import_id) -> ServiceImport | None:
    """A staged or stored file import of this contract (None otherwise)."""
    batch = db.session.get(ServiceImport, import_id) if str(import_id).isdigit() else None
    return (
        batch if batch is not None and batch.contract_id == contract.id and batch.source == "file" else None
    )


def recheck(contract: Contract, batch: ServiceImport) -> Preview:
    """A staged import checked again (the contract or the date may have changed since the upload)."""
    preview = Preview(batch.digest, batch.filename)
    communities, activities = communities_for(contract), _activities()
    for row in batch.rows:
        values = row["values"]
        checked = _check(contract, row["line"], values, file_input(contract, values, communities, activities))
        checked.errors = {FILE_COLUMN.get(k, k): v for k, v in checked.errors.items()}
        preview.rows.append(checked)
    return preview


def _claim(batch: ServiceImport, actor) -> None:
    """Mark the batch stored, unless a concurrent confirmation did it first."""
    claimed = db.session.execute(
        update(ServiceImport)
        .where(ServiceImport.id == batch.id, ServiceImport.status == STAGED)
        .values(status=STORED, stored_at=clock.now(), stored_by_id=actor.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(batch)
    if not claimed:
        raise AlreadyImported(batch)


def _store(contract: Contract, batch: ServiceImport, preview: Preview, actor) -> list[ServiceRecord]:
    records = [add_record(contract, row.data, [], actor) for row in preview.rows]
    batch.record_ids = [r.id for r in records]
    preview.import_id = batch.id
    audit.record(
        actor,
        "contract.service_imported",
        "contract",
        contract.id,
        N_("%(n)s service records imported (import %(import)s, %(source)s)"),
        {
            "import_id": batch.id,
            "digest": batch.digest,
            "source": batch.source,
            "record_ids": batch.record_ids,
        },
        tender_id=contract.tender_id,
        params={"n": len(records), "import": batch.id, "source": batch.filename or "API"},
    )
    return records


def confirm_import(contract: Contract, batch: ServiceImport, actor) -> list[ServiceRecord]:
    """Store a staged file import, after checking every row again (all or nothing)."""
    contract = lock_contract(contract)
    _may_import(contract, actor)
    if batch.is_stored:
        raise AlreadyImported(batch)
    preview = recheck(contract, batch)
    if not preview.valid:
        raise InvalidImport(preview)
    _claim(batch, actor)
    return _store(contract, batch, preview, actor)


def import_json(contract: Contract, rows: list, actor, *, dry_run: bool = False) -> tuple[Preview, list]:
    """The API's import: check every record, then (unless ``dry_run``) store them all in this
    transaction. Raises :class:`InvalidImport` or :class:`AlreadyImported`; a dry run raises nothing."""
    if not dry_run:
        contract = lock_contract(contract)
    _may_import(contract, actor)
    preview = check_json(contract, rows)
    if dry_run:
        return preview, []
    if preview.previous is not None:
        raise AlreadyImported(preview.previous)
    if not preview.valid:
        raise InvalidImport(preview)
    now = clock.now()
    batch = ServiceImport(
        contract_id=contract.id, digest=preview.digest, source="api", status=STORED, rows=rows,
        row_count=len(rows), staged_at=now, staged_by_id=actor.id, stored_at=now, stored_by_id=actor.id,
    )  # fmt: skip
    db.session.add(batch)
    flush_unique(_("These records are being imported by another request right now."))
    return preview, _store(contract, batch, preview, actor)
