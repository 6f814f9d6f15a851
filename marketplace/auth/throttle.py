"""Per-account sign-in throttling with exponential backoff (ASVS 2.2.1), beside Flask-Limiter's
per-address limit.

After ``LOGIN_FAILURES_BEFORE_BACKOFF`` failed sign-ins for one email (from any address), the account
refuses attempts for 2, 4, 8 ... seconds (``2 ** (failures - N + 1)``), at most
``LOGIN_BACKOFF_MAX_SECONDS``; a successful sign-in clears the count. The count lives in the database
(``login_throttles``), so every web process sees it. Rows are keyed by a hash of the normalised
email, known account or not: a lock says nothing about whether the account exists.

Writes happen only in a sign-in POST, as the request's committed work (auth.views.login).
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from marketplace import clock
from marketplace.auth.models import LoginThrottle
from marketplace.extensions import db


def _key(email: str) -> str:
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()


def seconds_locked(email: str) -> int:
    """How many seconds this account still refuses sign-ins (0: not locked)."""
    row = db.session.get(LoginThrottle, _key(email))
    if row is None or row.locked_until is None:
        return 0
    left = (row.locked_until - clock.now()).total_seconds()
    return math.ceil(left) if left > 0 else 0


def backoff_seconds(failures: int) -> int:
    """The lock after ``failures`` consecutive failures (0 below the threshold)."""
    threshold = current_app.config["LOGIN_FAILURES_BEFORE_BACKOFF"]
    if failures < threshold:
        return 0
    cap = current_app.config["LOGIN_BACKOFF_MAX_SECONDS"]
    exponent = failures - threshold + 1
    return cap if exponent >= cap.bit_length() else min(cap, 2**exponent)


def record_failure(email: str) -> int:
    """Count one more failure (atomically: concurrent failures all count); returns the lock it set, in
    seconds."""
    now = clock.now()
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    table = LoginThrottle.__table__
    stmt = dialect.insert(table).values(key=_key(email), failures=1, last_failure_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"failures": table.c.failures + 1, "last_failure_at": now},
    ).returning(table.c.failures)
    failures = db.session.execute(stmt).scalar_one()
    lock = backoff_seconds(failures)
    row = db.session.get(LoginThrottle, _key(email), populate_existing=True)
    row.locked_until = now + timedelta(seconds=lock) if lock else None
    return lock


def clear(email: str) -> None:
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == _key(email)))
