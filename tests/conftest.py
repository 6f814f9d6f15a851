"""Fixtures: a migrated database per session, a rolled-back transaction per test.

The schema is built by the Alembic migrations (not ``create_all``), so every test also exercises them.
``TEST_DATABASE_URL`` switches the whole suite to PostgreSQL.
"""

from __future__ import annotations

import contextvars
import os
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import orm

from marketplace import clock, create_app
from marketplace.extensions import db as _db
from marketplace.extensions import limiter

PG_URL = os.environ.get("TEST_DATABASE_URL")
# A fixed, ordinary working day: Tuesday 2026-03-10 10:00 Beijing time.
FIXED_NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if PG_URL:
        _reset_postgres(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": True,
            "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
            "AUDIT_HEADS_DIR": str(tmp_path_factory.mktemp("audit-heads")),
            "BABEL_DEFAULT_LOCALE": "en",
            "LOG_LEVEL": "WARNING",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            # Tests open the bids at the deadline itself; tests/test_deadline_rush.py sets the grace.
            "BID_OPENING_GRACE_SECONDS": 0,
            # Officers' opening keys: a cheap scrypt (the passphrase's cost is not what is tested).
            "OPENING_KEY_SCRYPT_LOG_N": 4,
        }
    )
    with app.app_context():
        upgrade()
    return app


@pytest.fixture
def db(app):
    """The database, inside a transaction rolled back after the test (commits become savepoints)."""
    with app.app_context():
        connection = _db.engine.connect()
        outer = connection.begin()
        original = _db.session
        _db.session = orm.scoped_session(
            orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint"), scopefunc=_app_ctx_id
        )
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            if outer.is_active:
                outer.rollback()
            connection.close()


@pytest.fixture(autouse=True)
def _frozen_clock():
    """Every test starts on a known working day; tests move the clock with ``clock.advance``."""
    clock.set_now(FIXED_NOW)
    yield
    clock.reset()


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, with its own app context, ``g`` and session.

    Without this, requests would reuse the test's app context (Flask only pushes one when none is
    active) and share ``g`` (where Flask-Login caches the user) across requests.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app, db):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def csrf(app):
    """Turn CSRF protection on for one test (the suite runs with it off for brevity)."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request):
    """Rate-limit counters start empty in every test that uses the app."""
    if "app" in request.fixturenames:
        with request.getfixturevalue("app").app_context():
            limiter.reset()


@pytest.fixture
def world(db):
    """Reference data and one account per role (agencies in the demo district)."""
    from tests import factories

    return factories.world()


@pytest.fixture
def login_as(client, world):
    """``login_as("officer")`` signs the test client in as that world user."""

    def _login(who: str):
        user = world[who]
        _db.session.expire(user, ["session_version"])  # a sign-out in an earlier request raised it
        with client.session_transaction() as sess:
            sess["_user_id"] = user.get_id()  # with the account's session version (auth.sessions)
            sess["_fresh"] = True
        return user

    return _login


def later(days: float = 0, hours: float = 0) -> datetime:
    return clock.now() + timedelta(days=days, hours=hours)


@pytest.fixture
def committed(app):
    """Real commits, for tests where other connections (threads, processes) must see the rows.

    PostgreSQL only (callers skip without TEST_DATABASE_URL); every table but the calendar is emptied
    afterwards."""
    with app.app_context():
        _db.session.remove()
        yield
        _db.session.remove()
        names = ", ".join(t.name for t in _db.metadata.sorted_tables if t.name != "calendar_days")
        with _db.engine.begin() as conn:
            # Past the audit tables' append-only triggers (docs/audit.md), for this transaction only.
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
