"""Correcting a service record with its history kept (issue 20).

A correction never overwrites silently: the values it replaces are kept as a numbered version
(``ServiceRecordVersion``) with who entered them, who replaced them, when and why, and an audit event
records the change (old → new), so the record's page and the contract's history both show it. The
record's row holds the current version; its checks are those of a new record (``check_record``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.delivery.checks import require, require_active
from marketplace.contracts.delivery.models import ServiceRecordVersion
from marketplace.contracts.delivery.records import check_record
from marketplace.contracts.delivery.schemas import CorrectionSchema
from marketplace.contracts.locking import lock_contract
from marketplace.contracts.models import Contract, ServiceRecord
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.schemas import InputErrors, load_partial
from marketplace.core.transaction import flush_unique
from marketplace.extensions import db

VALUES = (
    "service_date",
    "activity_type",
    "target_id",
    "quantity",
    "beneficiaries",
    "hours",
    "community_code",
    "notes",
)


def values_of(row) -> dict:
    """A record's (or an earlier version's) values."""
    return {name: getattr(row, name) for name in VALUES}


def versions_of(record: ServiceRecord) -> list[ServiceRecordVersion]:
    return list(
        db.session.scalars(
            select(ServiceRecordVersion)
            .where(ServiceRecordVersion.record_id == record.id)
            .order_by(ServiceRecordVersion.version)
        )
    )


def current_versions(record_ids: list[int]) -> dict[int, int]:
    """Each record's current version number (1 when never corrected), in one query."""
    if not record_ids:
        return {}
    counts = dict(
        db.session.execute(
            select(ServiceRecordVersion.record_id, func.count())
            .where(ServiceRecordVersion.record_id.in_(record_ids))
            .group_by(ServiceRecordVersion.record_id)
        ).all()
    )
    return {i: counts.get(i, 0) + 1 for i in record_ids}


@dataclass
class Version:
    """One version of a record, as its history page shows it."""

    number: int
    values: dict
    entered_at: datetime
    entered_by_id: int
    replaced_at: datetime | None = None
    replaced_by_id: int | None = None
    reason: str = ""  # why it was replaced

    @property
    def is_current(self) -> bool:
        return self.replaced_at is None


def history(record: ServiceRecord) -> list[Version]:
    """Every version of the record, the first one first; the last is the current one."""
    out, entered_at, entered_by = [], record.recorded_at, record.recorded_by_id
    for v in versions_of(record):
        out.append(
            Version(
                v.version, values_of(v), entered_at, entered_by, v.replaced_at, v.replaced_by_id, v.reason
            )
        )
        entered_at, entered_by = v.replaced_at, v.replaced_by_id
    out.append(Version(len(out) + 1, values_of(record), entered_at, entered_by))
    return out


def correct_service_record(record: ServiceRecord, raw: Mapping, reason: str, actor) -> ServiceRecord:
    """The organization corrects a record: the new values (``raw``, a ``RecordInputSchema``) become the
    current version and the replaced ones are kept with ``reason``."""
    contract = lock_contract(db.session.get(Contract, record.contract_id))
    require(actor, "contract.deliver", contract)
    require_active(contract)
    loaded, errors = load_partial(CorrectionSchema(), {"reason": reason})
    try:
        data = check_record(contract, raw)
    except InputErrors as exc:
        errors, data = {**exc.errors, **errors}, None
    if errors:
        raise InputErrors(errors)
    after = {name: data[name] for name in VALUES if name not in ("target_id", "community_code")}
    after["target_id"] = data["target"].id if data["target"] else None
    after["community_code"] = data["community"].code if data["community"] else None
    before = values_of(record)
    if before == after:
        raise RuleViolation(_("Nothing was changed: correct at least one value."), field="reason")
    versions = history(record)
    now, current = clock.now(), versions[-1]
    db.session.add(
        ServiceRecordVersion(
            record_id=record.id,
            version=current.number,
            entered_at=current.entered_at,
            entered_by_id=current.entered_by_id,
            replaced_at=now,
            replaced_by_id=actor.id,
            reason=loaded["reason"],
            **before,
        )
    )
    for name, value in after.items():
        setattr(record, name, value)
    flush_unique(_("Someone else corrected this record at the same moment. Reload the page and try again."))
    audit.record(
        actor,
        "contract.service_corrected",
        "contract",
        contract.id,
        N_("Service record %(record)s corrected (version %(old)s replaced by version %(new)s): %(reason)s"),
        {
            "record_id": record.id,
            "version": current.number + 1,
            "reason": loaded["reason"],
            "changes": audit.diff(before, after),
        },
        tender_id=contract.tender_id,
        params={
            "record": record.id,
            "old": current.number,
            "new": current.number + 1,
            "reason": loaded["reason"],
        },
    )
    return record
