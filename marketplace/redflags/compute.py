"""Computing one indicator: its SELECT over the processes in scope, then the stored flags brought in
line with it (new ones inserted, changed figures updated, vanished ones cleared, found-again ones
restored). Idempotent: a second run over unchanged data changes nothing. Never commits (the job
runner commits each indicator on its own)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import insert, select, update

from marketplace.extensions import db
from marketplace.redflags import indicators, scope
from marketplace.redflags.indicators.common import Thresholds
from marketplace.redflags.models import RedFlag, RedFlagWatermark

MAX_ITEMS = 20  # figures keep at most this many hits of one process (their count is kept too)


def _plain(value):
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    if isinstance(value, float):
        return round(value, 1)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _figures(rows: list[dict]) -> dict:
    if len(rows) == 1:
        return rows[0]
    return {"count": len(rows), "items": rows[:MAX_ITEMS]}


def hits(code: str, in_scope=None) -> dict[int, tuple[int | None, dict]]:
    """{tender id: (contract id, figures)} of the processes the indicator flags (within ``in_scope``,
    a SELECT of tender ids, when given)."""
    stmt = indicators.get(code).query(Thresholds.from_config())
    sub = stmt.subquery("hits")
    q = select(sub)
    if in_scope is not None:
        q = q.where(sub.c.tender_id.in_(in_scope))
    grouped: dict[int, list[dict]] = defaultdict(list)
    contracts: dict[int, int | None] = {}
    for row in db.session.execute(q).mappings():
        data = {k: _plain(v) for k, v in row.items() if k not in ("tender_id", "contract_id")}
        grouped[row["tender_id"]].append(data)
        contracts.setdefault(row["tender_id"], row["contract_id"])
    out = {}
    for tender_id, rows in grouped.items():
        rows.sort(key=lambda r: json.dumps(r, sort_keys=True, default=str))
        out[tender_id] = (contracts[tender_id], _figures(rows))
    return out


def _scope(indicator, mark: RedFlagWatermark | None, full: bool):
    """(the SELECT of the process ids to recompute, or None for all; how many changed, or "all").
    ``([], 0)`` when nothing changed."""
    if full or mark is None:
        return None, "all"
    # A little overlap: a change committed just after the last run read, but stamped before it.
    since = mark.computed_through - timedelta(seconds=int(current_app.config["REDFLAG_OVERLAP_SECONDS"]))
    ids = scope.changed_ids(since, int(current_app.config["REDFLAG_INCREMENTAL_MAX"]))
    if ids is None:
        return None, "all"
    if not ids:
        return [], 0
    return scope.reach(indicator.reach, ids), len(ids)


def _differences(code: str, found: dict, existing: dict, now: datetime) -> tuple[list, list, list]:
    """The rows to insert, to update and to clear so that the stored flags say what was found."""
    inserts, updates, clears = [], [], []
    for tender_id, (contract_id, figures) in found.items():
        old = existing.get(tender_id)
        if old is None:
            inserts.append(
                {
                    "tender_id": tender_id,
                    "indicator": code,
                    "contract_id": contract_id,
                    "figures": figures,
                    "first_flagged_at": now,
                    "computed_at": now,
                }
            )
        elif old.figures != figures or old.cleared_at is not None or old.contract_id != contract_id:
            updates.append(
                {
                    "id": old.id,
                    "figures": figures,
                    "contract_id": contract_id,
                    "computed_at": now,
                    "cleared_at": None,
                }
            )
    for tender_id, old in existing.items():
        if tender_id not in found and old.cleared_at is None:
            clears.append({"id": old.id, "cleared_at": now, "computed_at": now})
    return inserts, updates, clears


def compute(code: str, now: datetime, full: bool = False) -> dict:
    """Recompute one indicator: everything when ``full`` (or never computed, or too much changed),
    else the processes changed since its watermark and those the change reaches. Returns counts."""
    mark = db.session.get(RedFlagWatermark, code)
    if mark is None:
        mark = RedFlagWatermark(indicator=code, computed_through=now)
        db.session.add(mark)
        full = True
    in_scope, processes = _scope(indicators.get(code), mark, full)
    if processes == 0:
        mark.computed_through = now
        return {"changed": 0}
    found = hits(code, in_scope)
    existing_q = select(
        RedFlag.id, RedFlag.tender_id, RedFlag.contract_id, RedFlag.figures, RedFlag.cleared_at
    ).where(RedFlag.indicator == code)
    if in_scope is not None:
        existing_q = existing_q.where(RedFlag.tender_id.in_(in_scope))
    existing = {r.tender_id: r for r in db.session.execute(existing_q)}
    inserts, updates, clears = _differences(code, found, existing, now)
    if inserts:
        db.session.execute(insert(RedFlag), inserts)
    for batch in (updates, clears):  # bulk UPDATEs by primary key, one key set each
        if batch:
            db.session.execute(update(RedFlag), batch)
    mark.computed_through = now
    if in_scope is None:
        mark.last_full_at = now
    changed = len(inserts) + len(updates) + len(clears)
    result = {"changed": changed}
    if changed:
        result[code] = {
            "processes": processes,
            "new": len(inserts),
            "updated": len(updates),
            "cleared": len(clears),
        }
    return result
