"""The red-flags jobs: per indicator (each committed on its own by the job runner), incremental
(``red-flags``: the processes changed since the indicator's watermark) or full (``red-flags-full``:
every process, nightly, which also catches what only the passing of time changes).

The items are the indicators. None is due while there is no process at all, and, for the incremental
job, while no process changed since the oldest watermark (one query, so an idle hourly run is cheap).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.redflags import indicators, scope
from marketplace.redflags.compute import compute
from marketplace.redflags.models import RedFlagWatermark
from marketplace.tenders.models import Tender


def _batch(after: str | None, limit: int) -> tuple[list[str], str | None]:
    codes = list(indicators.CODES)
    if after is not None:
        codes = codes[codes.index(after) + 1 :]
    keys = codes[:limit]
    return keys, (keys[-1] if len(codes) > limit else None)


def _any_process() -> bool:
    return db.session.scalar(select(Tender.id).limit(1)) is not None


def due_full(now: datetime, after: str | None, limit: int) -> tuple[list[str], str | None]:
    """Every indicator, in registry order, when there is any process."""
    if after is None and not _any_process():
        return [], None
    return _batch(after, limit)


def due_incremental(now: datetime, after: str | None, limit: int) -> tuple[list[str], str | None]:
    """Every indicator when some process changed since the oldest watermark (or one was never computed)."""
    if after is None:
        if not _any_process():
            return [], None
        marks = db.session.execute(
            select(func.count(), func.min(RedFlagWatermark.computed_through)).where(
                RedFlagWatermark.indicator.in_(indicators.CODES)
            )
        ).one()
        if marks[0] == len(indicators.CODES):
            since = marks[1] - timedelta(seconds=int(current_app.config["REDFLAG_OVERLAP_SECONDS"]))
            changed = scope.changed_since(since).subquery()
            if db.session.scalar(select(changed.c[0]).limit(1)) is None:
                return [], None
    return _batch(after, limit)


def run_incremental(now: datetime, code: str) -> dict:
    return compute(code, now)


def run_full(now: datetime, code: str) -> dict:
    return compute(code, now, full=True)
