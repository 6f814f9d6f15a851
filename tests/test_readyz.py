"""/readyz: ready only when the database, Redis, the migrations and the scheduler all are (issue 18)."""

from datetime import timedelta

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from marketplace import clock
from marketplace.core import heartbeat
from marketplace.core.jobruns import JobRun
from marketplace.main import readiness

REDIS = "redis://127.0.0.1:6379/13"


@pytest.fixture
def no_redis(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "")


def _job_run(db, age: timedelta) -> None:
    db.session.add(JobRun(job="open-bids", started_at=clock.now() - age, status="ok", host="test"))
    db.session.flush()


def test_ready_when_all_is_well_without_redis(client, db, no_redis):
    _job_run(db, timedelta(seconds=30))
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["redis"] == {"ok": True, "skipped": "REDIS_URL is not set"}
    assert body["checks"]["scheduler"]["source"] == "newest job run"
    assert body["checks"]["migrations"]["database"] == body["checks"]["migrations"]["head"] != []


def test_not_ready_when_the_database_is_not_at_head(client, db, no_redis, monkeypatch):
    _job_run(db, timedelta(seconds=30))
    monkeypatch.setattr(readiness, "head_revisions", lambda: frozenset({"ffffffffffff"}))
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert not checks["migrations"]["ok"] and "head revision" in checks["migrations"]["error"]
    assert checks["database"]["ok"] and checks["scheduler"]["ok"]


def test_ready_when_the_database_is_ahead_of_this_code(client, db, no_redis, monkeypatch):
    """A rolling upgrade: the new release migrated the database first; the old processes still serve."""
    _job_run(db, timedelta(seconds=30))
    monkeypatch.setattr(readiness, "database_revisions", lambda: frozenset({"0099_from_a_newer_release"}))
    response = client.get("/readyz")
    assert response.status_code == 200
    migrations = response.get_json()["checks"]["migrations"]
    assert migrations["ok"] and "ahead" in migrations["note"]


def test_not_ready_when_the_database_is_behind(client, db, no_redis, monkeypatch):
    _job_run(db, timedelta(seconds=30))
    monkeypatch.setattr(readiness, "database_revisions", lambda: frozenset({"0001_foundation"}))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "head revision" in response.get_json()["checks"]["migrations"]["error"]


def test_not_ready_when_the_scheduler_is_silent(client, db, no_redis, app):
    _job_run(db, timedelta(seconds=app.config["SCHEDULER_HEARTBEAT_MAX_AGE"] + 60))
    response = client.get("/readyz")
    assert response.status_code == 503
    scheduler = response.get_json()["checks"]["scheduler"]
    assert not scheduler["ok"] and "flask jobs run" in scheduler["error"]


def test_healthz_stays_a_liveness_check(client, db, no_redis):
    assert client.get("/healthz").status_code == 200  # no scheduler, still alive


@pytest.fixture
def redis_url(app, monkeypatch):
    try:
        Redis.from_url(REDIS).delete(heartbeat.KEY)
    except RedisConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS)
    yield REDIS
    Redis.from_url(REDIS).delete(heartbeat.KEY)


def test_the_scheduler_heartbeat_in_redis(app, client, db, redis_url):
    from marketplace.jobs.scheduler import heartbeat_in_app

    response = client.get("/readyz")
    assert response.status_code == 503
    assert not response.get_json()["checks"]["scheduler"]["ok"]  # no beat yet
    heartbeat_in_app(app)()  # what the scheduler process runs each minute
    assert 0 < Redis.from_url(redis_url).ttl(heartbeat.KEY) <= app.config["SCHEDULER_HEARTBEAT_MAX_AGE"]
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    checks = response.get_json()["checks"]
    assert checks["redis"] == {"ok": True} and checks["scheduler"]["source"] == "redis heartbeat"


def test_not_ready_when_redis_does_not_answer(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert not checks["redis"]["ok"] and "ConnectionError" in checks["redis"]["error"]
    assert checks["database"]["ok"]
