"""DATABASE_REPLICA_URL (issue 18, docs/deployment.md): anonymous public pages and exports read from the
replica; signed-in users and every write use the primary. Two SQLite files stand in for the two servers:
the replica is a copy of the primary in which one title differs, so a page shows which one it read."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from marketplace import create_app
from marketplace.core import replica
from marketplace.extensions import db
from marketplace.tenders.models import Tender
from tests import factories

PRIMARY_TITLE = "主库里的项目名称"
REPLICA_TITLE = "只读副本里的项目名称"


def _app(tmp_path, primary, replica_file=None):
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{primary}",
        "WTF_CSRF_ENABLED": False,
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "AUDIT_HEADS_DIR": str(tmp_path / "heads"),
        "BABEL_DEFAULT_LOCALE": "en",
        "SEARCH_CACHE_SECONDS": 0,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "LOG_LEVEL": "WARNING",
        "PROPAGATE_EXCEPTIONS": True,
    }
    if replica_file is not None:
        config["SQLALCHEMY_BINDS"] = {"replica": f"sqlite:///{replica_file}"}
    return create_app(config)


@pytest.fixture
def servers(tmp_path):
    primary, copy = tmp_path / "primary.sqlite3", tmp_path / "replica.sqlite3"
    app = _app(tmp_path, primary, copy)
    with app.app_context():
        upgrade()
        world = factories.world()
        tender = factories.published(world["officer"], title=PRIMARY_TITLE)
        db.session.commit()
        ids = {"tender": tender.id, "officer": world["officer"].get_id()}
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    shutil.copy(primary, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE tenders SET title = ? WHERE id = ?", (REPLICA_TITLE, ids["tender"]))
    yield app, ids, primary
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def test_an_anonymous_visitor_reads_the_replica_and_a_signed_in_user_the_primary(servers):
    app, ids, _ = servers
    client = app.test_client()
    page = client.get(f"/tenders/{ids['tender']}")
    assert page.status_code == 200
    assert REPLICA_TITLE in page.get_data(as_text=True)
    assert PRIMARY_TITLE not in page.get_data(as_text=True)

    with client.session_transaction() as session:
        session["_user_id"] = ids["officer"]
        session["_fresh"] = True
    page = client.get(f"/tenders/{ids['tender']}")
    assert page.status_code == 200
    assert PRIMARY_TITLE in page.get_data(as_text=True)


def test_pages_outside_the_public_blueprints_read_the_primary(servers):
    app, _, _ = servers
    app.config["REPLICA_BLUEPRINTS"] = ()
    page = app.test_client().get(f"/tenders/{servers[1]['tender']}")
    assert PRIMARY_TITLE in page.get_data(as_text=True)


def test_reads_route_to_the_replica_and_writes_stay_on_the_primary(servers):
    app, ids, primary = servers
    with app.app_context():
        assert db.session.scalar(select(Tender.title).where(Tender.id == ids["tender"])) == PRIMARY_TITLE
        db.session.rollback()
        with replica.reads():
            assert db.session.scalar(select(Tender.title).where(Tender.id == ids["tender"])) == REPLICA_TITLE
            db.session.rollback()
            tender = db.session.get(Tender, ids["tender"])
            tender.title = "改过的名称"
            db.session.flush()  # pending changes: the flush goes to the primary, never the replica
            db.session.commit()
        db.session.remove()
    with sqlite3.connect(primary) as conn:
        assert conn.execute("SELECT title FROM tenders WHERE id = ?", (ids["tender"],)).fetchone()[0] == (
            "改过的名称"
        )


def test_without_a_replica_everything_reads_the_primary(tmp_path, servers):
    _, ids, primary = servers
    app = _app(tmp_path, primary)
    assert not replica.configured(app)
    with app.app_context():
        with replica.reads():
            assert db.session.scalar(select(Tender.title).where(Tender.id == ids["tender"])) == PRIMARY_TITLE
        db.session.remove()
