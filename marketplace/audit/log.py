"""The append-only audit log.

Every service verb calls :func:`record` inside the transaction it runs in, so an event exists exactly
when the change it describes was committed. Rows are never updated or deleted by the application.

Events form a hash chain (see :mod:`marketplace.audit.chain`): when a transaction commits, its
events get the next positions (``seq``), the previous event's hash and their own hash.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from marketplace import clock
from marketplace.audit import chain
from marketplace.audit.models import AuditEvent
from marketplace.extensions import db

# Events inserted by a session and not linked yet, collected as they are flushed.
_UNLINKED = "marketplace.audit.unlinked"


@event.listens_for(AuditEvent, "after_insert")
def _collect_unlinked(mapper, connection, target):
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_UNLINKED, []).append(target)


@event.listens_for(Session, "before_commit")
def _link_on_commit(session):
    # As late as possible: the chain lock is held from here to the end of the transaction, so taking
    # it after every row lock the transaction needs keeps it short and out of lock-order deadlocks.
    # Hence not when a savepoint is released, only at the real commit.
    if session.in_nested_transaction():
        return
    if any(isinstance(obj, AuditEvent) for obj in session.new):
        session.flush()
    if session.info.get(_UNLINKED):
        chain.link_unlinked(session, session.info.pop(_UNLINKED))


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
