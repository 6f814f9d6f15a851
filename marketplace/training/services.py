"""Moving the training clock forward: allowed in development and in a TRAINING_MODE deployment only.

The offset is stored in the database (``TrainingClock``) and read by ``marketplace.clock`` through the
source :func:`install` sets, so the web workers and the scheduler all act on the simulated time: the
scheduled jobs open the bids, end the finality windows... at their next run after a move."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.permissions import require
from marketplace.extensions import db
from marketplace.training.models import ROW_ID, TrainingClock

#: the longest single move (a whole procurement, from publication to the last milestone, fits)
MAX_MOVE = timedelta(days=400)


def allowed(config=None) -> bool:
    """Training is allowed in development and in a TRAINING_MODE deployment; never in production."""
    config = current_app.config if config is None else config
    return config.get("ENV") == "development" or bool(config.get("TRAINING_MODE"))


_table_ready = False


def stored_offset() -> timedelta:
    """The offset in the database, read on the session's connection (no autoflush: ``clock.now`` may be
    asked while the session flushes). Zero until the migration made its table (a failed read would
    abort a PostgreSQL transaction)."""
    global _table_ready
    if not _table_ready:
        # On the session's own connection: a second connection would begin a transaction of its own, which
        # SQLite refuses while this one writes (``flask seed demo`` asks the time inside its transaction).
        _table_ready = sa_inspect(db.session.connection()).has_table(TrainingClock.__tablename__)
        if not _table_ready:
            return timedelta(0)
    seconds = (
        db.session.connection()
        .execute(select(TrainingClock.offset_seconds).where(TrainingClock.id == ROW_ID))
        .scalar()
    )
    return timedelta(seconds=seconds or 0)


def current_offset() -> timedelta:
    return clock.training_offset()


def move_forward(delta: timedelta, actor) -> timedelta:
    """Move the platform's clock forward by ``delta``; returns the new total offset."""
    if not allowed():
        raise RuleViolation(
            _("The training clock is off on this platform: time can be moved only in training.")
        )
    require(actor, "training.clock")
    if delta <= timedelta(0):
        raise RuleViolation(_("The clock only moves forward: enter a positive amount."), field="amount")
    if delta > MAX_MOVE:
        raise RuleViolation(
            _("Move the clock at most %(days)d days at a time.", days=MAX_MOVE.days), field="amount"
        )
    before = clock.now()
    row = db.session.scalar(select(TrainingClock).where(TrainingClock.id == ROW_ID).with_for_update())
    if row is None:
        row = TrainingClock(id=ROW_ID, offset_seconds=0)
        db.session.add(row)
    previous = row.offset_seconds or 0
    row.offset_seconds = previous + int(delta.total_seconds())
    db.session.flush()
    clock.forget_training_offset()
    after = clock.now()
    audit.record(
        actor,
        "training.clock_moved",
        "training_clock",
        ROW_ID,
        N_("Moved the training clock forward by %(hours)s hours, to %(after)s (UTC)"),
        {"offset_seconds": [previous, row.offset_seconds], "simulated_now": [before, after]},
        params={
            "hours": f"{delta.total_seconds() / 3600:g}",
            "after": after.strftime("%Y-%m-%d %H:%M"),
        },
    )
    return timedelta(seconds=row.offset_seconds)


def install(app: Flask) -> None:
    """Where training is allowed, ``clock.now`` adds the stored offset and every page shows a banner
    while the clock is moved. In production nothing is installed: the clock costs nothing more."""
    if allowed(app.config):
        clock.set_training_source(stored_offset, ttl=float(app.config["TRAINING_CLOCK_CACHE_SECONDS"]))

    @app.context_processor
    def _training_banner():
        if not allowed():
            return {}
        offset = clock.training_offset()
        return {"training_enabled": True, "training_now": clock.now() if offset > timedelta(0) else None}
