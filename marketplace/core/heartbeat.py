"""The scheduler's heartbeat: a Redis key the job process writes each minute, with a time to live, so
``/readyz`` can tell a running scheduler from a dead one (without Redis, the newest job run's time)."""

from __future__ import annotations

import time

from redis import Redis

KEY = "marketplace:scheduler:heartbeat"
INTERVAL_SECONDS = 60


def connect(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def beat(url: str, ttl_seconds: int) -> None:
    """Written by the scheduler: the time now, kept ``ttl_seconds``."""
    connect(url).set(KEY, str(time.time()), ex=max(int(ttl_seconds), 1))


def age_seconds(url: str) -> float | None:
    """Seconds since the last beat; None when there is none (never written, or expired)."""
    value = connect(url).get(KEY)
    if value is None:
        return None
    try:
        return max(time.time() - float(value), 0.0)
    except ValueError:
        return None
