"""``/readyz``: whether this process can serve, each check with its own verdict. Reads only.

The database answers; Redis answers (when REDIS_URL is set); the database is at the head revision of
migrations/ (or ahead of it, during a rolling upgrade); the scheduler is alive: its heartbeat in Redis is
fresh, or (without Redis) the newest job run started within SCHEDULER_HEARTBEAT_MAX_AGE seconds.
"""

from __future__ import annotations

from functools import lru_cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import func, select, text

from marketplace import clock
from marketplace.core import heartbeat, transaction
from marketplace.core.jobruns import JobRun
from marketplace.extensions import db


@lru_cache(maxsize=4)
def _script(directory: str) -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", directory)
    return ScriptDirectory.from_config(config)


def _directory() -> str:
    return str(current_app.extensions["migrate"].directory)


def head_revisions() -> frozenset[str]:
    return frozenset(_script(_directory()).get_heads())


def known_revisions() -> frozenset[str]:
    """Every revision this code's migrations/ knows."""
    return frozenset(r.revision for r in _script(_directory()).walk_revisions())


def database_revisions() -> frozenset[str]:
    """The revisions stamped in the database (Alembic's own table; read directly, which logs nothing)."""
    return frozenset(db.session.scalars(text("SELECT version_num FROM alembic_version")))


def check_database() -> dict:
    db.session.execute(text("SELECT 1"))
    return {"ok": True}


def check_redis() -> dict:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return {"ok": True, "skipped": "REDIS_URL is not set"}
    heartbeat.connect(url).ping()
    return {"ok": True}


def check_migrations() -> dict:
    """At head; or ahead of this code during a rolling upgrade (docs/deployment.md: the migrations run
    first and only add, so the old processes still serve until they are replaced). Behind is not ready."""
    current, heads = database_revisions(), head_revisions()
    result = {"ok": current == heads, "database": sorted(current), "head": sorted(heads)}
    if not result["ok"] and current and not current <= known_revisions():
        result["ok"] = True
        result["note"] = "the database is ahead of this code (an upgrade in progress)"
    elif not result["ok"]:
        result["error"] = "the database is not at the head revision (flask db upgrade)"
    return result


def check_scheduler() -> dict:
    max_age = int(current_app.config["SCHEDULER_HEARTBEAT_MAX_AGE"])
    url = current_app.config.get("REDIS_URL")
    if url:
        age = heartbeat.age_seconds(url)
        source = "redis heartbeat"
    else:
        newest = db.session.scalar(select(func.max(JobRun.started_at)))
        age = None if newest is None else max((clock.now() - newest).total_seconds(), 0.0)
        source = "newest job run"
    result = {"ok": age is not None and age <= max_age, "source": source, "age_seconds": age}
    if not result["ok"]:
        result["error"] = f"no scheduler heartbeat in the last {max_age} s (is `flask jobs run` running?)"
    return result


CHECKS = {
    "database": check_database,
    "redis": check_redis,
    "migrations": check_migrations,
    "scheduler": check_scheduler,
}


def readiness() -> tuple[dict, bool]:
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # noqa: BLE001 - a failing dependency is the answer, not a 500
            transaction.abandon()  # a failed statement leaves the transaction unusable
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    ready = all(r["ok"] for r in results.values())
    return {"status": "ok" if ready else "unavailable", "checks": results}, ready
