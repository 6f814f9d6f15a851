"""The training clock (issue 20): an admin moves the platform's time forward in development or in a
TRAINING_MODE deployment; refused in production; every move is an audit event; the banner shows the
simulated time; the scheduled jobs then act on the new time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.jobs.runner import run_job
from marketplace.tenders.bids.models import BidOpening
from marketplace.training import services
from marketplace.training.models import TrainingClock
from tests import bid_factories as bf
from tests import factories
from tests.factories import deadline_in


@pytest.fixture
def training(app):
    """A TRAINING_MODE deployment: the clock adds the stored offset (read on every call in tests)."""
    app.config["TRAINING_MODE"] = True
    clock.set_training_source(services.stored_offset, ttl=0)
    yield
    clock.set_training_source(None)
    app.config["TRAINING_MODE"] = False


def test_production_refuses_the_training_clock_outright(client, world, login_as, db, app, monkeypatch):
    # As in production, whatever MARKETPLACE_ENV the suite runs under (`make test` says development).
    monkeypatch.setitem(app.config, "ENV", "production")
    monkeypatch.setitem(app.config, "TRAINING_MODE", False)
    login_as("admin")
    for response in (client.get("/admin/training-clock"), client.post("/admin/training-clock", data={})):
        assert response.status_code == 403
        assert "training clock is off" in response.get_data(as_text=True)
    client.post("/admin/training-clock", data={"amount": "3", "unit": "days"})
    assert db.session.scalar(select(TrainingClock)) is None
    assert "/admin/training-clock" not in client.get("/").get_data(as_text=True)
    with pytest.raises(Exception, match="training clock is off"):
        services.move_forward(timedelta(days=1), world["admin"])
    assert clock.training_offset() == timedelta(0)


def test_only_admins_move_the_clock(client, world, login_as, db, training):
    assert client.get("/admin/training-clock").status_code == 302  # to the sign-in page
    login_as("officer")
    assert client.get("/admin/training-clock").status_code == 403
    assert client.post("/admin/training-clock", data={"amount": "3", "unit": "days"}).status_code == 403
    assert db.session.scalar(select(TrainingClock)) is None


def test_an_admin_moves_the_clock_forward_and_the_jobs_act_on_it(client, world, login_as, db, training):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    org, member = bf.organization("训练时钟社工中心")
    bf.submitted_bid(tender, org, member)
    db.session.commit()
    start = clock.now()
    login_as("admin")
    home = client.get("/").get_data(as_text=True)
    assert "/admin/training-clock" in home and 'id="training-banner"' not in home  # reachable, not moved
    page = client.get("/admin/training-clock")
    assert page.status_code == 200 and "Not moved" in page.get_data(as_text=True)
    # Bad input: a clear message, nothing moved.
    for data in (
        {"amount": "0", "unit": "days"},
        {"amount": "x", "unit": "days"},
        {"amount": "2", "unit": "weeks"},
    ):
        r = client.post("/admin/training-clock", data=data)
        assert r.status_code == 400, data
    assert clock.now() == start
    r = client.post("/admin/training-clock", data={"amount": "40", "unit": "days"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(TrainingClock, 1).offset_seconds == 40 * 86400
    assert clock.now() == start + timedelta(days=40)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "training.clock_moved"))
    assert event is not None and event.actor_id == world["admin"].id
    assert event.changes["offset_seconds"] == [0, 40 * 86400]
    # Every page shows the simulated time, signed in or not.
    client.post("/auth/logout")
    banner = client.get("/tenders/").get_data(as_text=True)
    assert 'id="training-banner"' in banner
    # The opening job sees the deadline passed.
    assert db.session.scalar(select(BidOpening)) is None
    assert run_job("open-bids").status == "ok"
    db.session.expire_all()
    assert db.session.scalar(select(BidOpening)).tender_id == tender.id
    # A second move adds to the first, and is a second audit event.
    services.move_forward(timedelta(hours=5), world["admin"])
    assert clock.now() == start + timedelta(days=40, hours=5)
    moves = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "training.clock_moved")).all()
    assert len(moves) == 2


def test_the_offset_is_read_once_per_cache_period(app, db, training):
    db.session.add(TrainingClock(id=1, offset_seconds=3600))
    db.session.flush()
    clock.set_training_source(services.stored_offset, ttl=3600)
    base = clock.now() - clock.training_offset()
    assert clock.training_offset() == timedelta(hours=1)
    db.session.get(TrainingClock, 1).offset_seconds = 7200
    db.session.flush()
    assert clock.now() == base + timedelta(hours=1)  # cached in this process
    clock.forget_training_offset()
    assert clock.now() == base + timedelta(hours=2)
