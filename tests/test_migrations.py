"""Upgrading an empty database gives exactly the models' schema (autogenerate finds no difference)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from marketplace.core.calendar import CalendarDay
from marketplace.extensions import db as _db


def test_upgrade_matches_models(app, db):
    with _db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(ctx, _db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_every_table_is_created(app, db):
    tables = set(inspect(_db.engine).get_table_names())
    assert set(_db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_official_calendar_is_loaded_by_the_migration(db):
    days = db.session.scalars(select(CalendarDay).where(CalendarDay.kind == "workday")).all()
    assert {d.day.isoformat() for d in days} >= {"2026-01-04", "2026-02-14", "2026-02-28"}
