"""The append-only audit log.

Every service verb calls :func:`record` inside the transaction it runs in, so an event exists exactly
when the change it describes was committed. Rows are never updated or deleted by the application.

Events form a hash chain (see :mod:`marketplace.audit.chain`). Writing one takes no lock: the event
is inserted with its content only, and the ``seal-audit`` job (every few seconds, in the scheduler
process) gives committed events their positions (``seq``) and hashes, in order. So audited writes
never wait for each other (docs/audit.md).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.extensions import db


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record(
    actor,
    action: str,
    obj_type: str,
    obj_id: Any,
    summary: str,
    changes: dict | None = None,
    tender_id: int | None = None,
    params: dict | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (the request's or job's edge commits it).

    ``summary`` is a message id marked with ``N_`` and ``params`` fills its placeholders; both are
    stored, and the reader sees the summary in their own language (``core.messages.render``)."""
    if actor is None or getattr(actor, "is_anonymous", False):
        actor_id, label = None, "system"
    else:
        actor_id, label = actor.id, actor.email
    if tender_id is None and obj_type == "tender":
        tender_id = int(obj_id)
    ev = AuditEvent(
        occurred_at=clock.now(),
        actor_id=actor_id,
        actor_label=label,
        action=action,
        object_type=obj_type,
        object_id=str(obj_id),
        summary=summary,
        changes=_jsonable(changes) if changes else None,
        params=_jsonable(params) if params else None,
        tender_id=tender_id,
    )
    db.session.add(ev)
    return ev


def diff(before: dict, after: dict) -> dict:
    """Fields whose values differ, as ``{field: [old, new]}``."""
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}
