"""Upgrading an empty database gives exactly the models' schema (autogenerate finds no difference), and
a database with the demo data in it goes down to base and up to head again."""

import logging
import os

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from marketplace import create_app
from marketplace.core.calendar import CalendarDay
from marketplace.extensions import db as _db
from marketplace.tenders.models import Tender
from marketplace.tenders.search_index import include_name

PG_URL = os.environ.get("TEST_DATABASE_URL")


# On the test's own connection: a second one would wait for the write lock its transaction holds (SQLite).


def test_upgrade_matches_models(app, db):
    ctx = MigrationContext.configure(
        db.session.connection(),
        opts={"compare_type": True, "render_as_batch": True, "include_name": include_name},
    )
    diff = compare_metadata(ctx, _db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_every_table_is_created(app, db):
    tables = set(inspect(db.session.connection()).get_table_names())
    assert set(_db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_official_calendar_is_loaded_by_the_migration(db):
    days = db.session.scalars(select(CalendarDay).where(CalendarDay.kind == "workday")).all()
    assert {d.day.isoformat() for d in days} >= {"2026-01-04", "2026-02-14", "2026-02-28"}


# --- the round trip: upgrade, demo data, downgrade to base, upgrade again ---------------------------


@pytest.fixture
def fresh_database_url(tmp_path):
    """An empty database of the test's own: a SQLite file, or ``<name>_roundtrip`` next to the
    PostgreSQL test database (created and dropped through the ``postgres`` maintenance database)."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}"
        return
    url = sa.engine.make_url(PG_URL)
    name = f"{url.database}_roundtrip"
    maintenance = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with maintenance.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        maintenance.dispose()


@pytest.fixture
def _logging_kept():
    """Alembic's env.py runs ``fileConfig``, which disables every existing logger and replaces the root
    handlers: put them back so the tests after this one log (and ``caplog``) as before."""
    root = logging.getLogger()
    saved_root = (root.level, root.handlers[:])
    loggers = [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    saved = {lg: (lg.disabled, lg.level) for lg in loggers}
    yield
    root.setLevel(saved_root[0])
    root.handlers[:] = saved_root[1]
    for lg, (disabled, level) in saved.items():
        lg.disabled, lg.level = disabled, level


def _tables() -> set[str]:
    return set(inspect(_db.engine).get_table_names())


def test_round_trip_with_demo_data(fresh_database_url, tmp_path, _logging_kept):
    from marketplace import demo

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": fresh_database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": True,  # the limiter keeps its settings on a shared object
            "UPLOAD_FOLDER": str(tmp_path / "uploads"),
            "BABEL_DEFAULT_LOCALE": "en",
            "LOG_LEVEL": "WARNING",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        try:
            upgrade()
            summary = demo.load_demo()
            _db.session.commit()
            _db.session.remove()
            statuses = set(_db.session.scalars(select(Tender.status)))
            _db.session.remove()
            # The demo reaches the states the old schemas' downgrades have to fold away.
            assert {"awarded", "failed"} <= statuses, statuses
            assert summary["contracts"] and summary["evaluations"]

            downgrade(revision="base")
            assert _tables() <= {"alembic_version"}

            upgrade()
            assert set(_db.metadata.tables) <= _tables()
            with _db.engine.connect() as conn:
                ctx = MigrationContext.configure(
                    conn, opts={"compare_type": True, "render_as_batch": True, "include_name": include_name}
                )
                assert compare_metadata(ctx, _db.metadata) == []
                assert conn.scalar(select(sa.func.count()).select_from(CalendarDay.__table__)) > 0
        finally:
            _db.session.remove()
            _db.engine.dispose()
