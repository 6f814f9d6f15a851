"""The audit log page's filter: which events an auditor asked to see."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, select

from marketplace.audit.models import AuditEvent
from marketplace.core.errors import RuleViolation
from marketplace.core.timeutil import parse_local_date, start_of_local_day


@dataclass(frozen=True)
class EventFilter:
    """Which events the audit log page lists. ``date_from``/``date_to`` are local dates, both included."""

    object_type: str = ""
    object_id: str = ""
    actor: str = ""  # part of the actor's email (or "system")
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def query_args(self) -> dict:
        """The filter as the page's query string (``from``/``to`` for the dates), empty values left out."""
        args = {
            "object_type": self.object_type,
            "object_id": self.object_id,
            "actor": self.actor,
            "action": self.action,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in args.items() if v}


def parse_event_filter(args: Mapping) -> tuple[EventFilter, list[str]]:
    """The filter in ``args`` and a message for each value that was left out because it is wrong."""

    def text(name: str, limit: int) -> str:
        return (args.get(name) or "").strip()[:limit]

    errors = []
    dates = {}
    for name, label in (("from", _("The start date")), ("to", _("The end date"))):
        try:
            dates[name] = parse_local_date(text(name, 32), label)
        except RuleViolation as exc:
            errors.append(exc.message)
            dates[name] = None
    if dates["from"] and dates["to"] and dates["to"] < dates["from"]:
        errors.append(_("The end date cannot be before the start date."))
        dates["to"] = None
    f = EventFilter(
        object_type=text("object_type", 64),
        object_id=text("object_id", 64),
        actor=text("actor", 255),
        action=text("action", 64),
        date_from=dates["from"],
        date_to=dates["to"],
    )
    return f, errors


def events_query(f: EventFilter, visible=None) -> Select:
    """Matching events, newest link first; ``visible`` is a further condition (what the viewer may see)."""
    stmt = select(AuditEvent)
    if visible is not None:
        stmt = stmt.where(visible)
    if f.object_type:
        stmt = stmt.where(AuditEvent.object_type == f.object_type)
    if f.object_id:
        stmt = stmt.where(AuditEvent.object_id == f.object_id)
    if f.actor:
        stmt = stmt.where(AuditEvent.actor_label.icontains(f.actor, autoescape=True))
    if f.action:
        stmt = stmt.where(AuditEvent.action == f.action)
    if f.date_from:
        stmt = stmt.where(AuditEvent.occurred_at >= start_of_local_day(f.date_from))
    if f.date_to:
        stmt = stmt.where(AuditEvent.occurred_at < start_of_local_day(f.date_to + timedelta(days=1)))
    # Events without seq (a transaction's own before it commits, or rows written past the application)
    # come first.
    return stmt.order_by(AuditEvent.seq.desc().nulls_first(), AuditEvent.id.desc())
