"""The embedded default (SQLite, scheduler in the server) under normal use never says "database is
locked": WAL, ``BEGIN IMMEDIATE`` for every transaction that may write, a busy timeout
(marketplace/__init__.py ``_configure_sqlite``; core/transaction.py ``writes_expected``).

Threads post logins, registrations and bids in a loop while another runs every scheduled job in a
loop, on one SQLite file, for ``SQLITE_BUSY_SECONDS`` (about 20 s): no response is a 500 and no job
run fails. Before the fix, a transaction that had read and then wrote got SQLITE_BUSY at once (the
busy timeout does not apply to a lock upgrade) and the request answered 500.
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
from datetime import timedelta
from itertools import count

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from marketplace import clock, create_app
from marketplace.core.jobruns import JobRun
from marketplace.extensions import db as _db
from marketplace.jobs.registry import JOBS
from marketplace.jobs.runner import run_job
from tests.conftest import PG_URL
from tests.factories import PASSWORD

SECONDS = float(os.environ.get("SQLITE_BUSY_SECONDS", "20"))
pytestmark = pytest.mark.skipif(
    bool(PG_URL), reason="SQLite's locking: the PostgreSQL run covers concurrency"
)


class _Client(FlaskClient):
    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def busy_app(tmp_path):
    from flask_migrate import upgrade

    from marketplace.extensions import limiter

    was_enabled = limiter.enabled
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'busy.sqlite3'}",
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "UPLOAD_FOLDER": str(tmp_path / "uploads"),
            "BABEL_DEFAULT_LOCALE": "en",
            "LOG_LEVEL": "ERROR",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    app.test_client_class = _Client
    with app.app_context():
        upgrade()
        yield app
        _db.session.remove()
        _db.engine.dispose()
    # The limiter is one object shared by every app of the process: give the suite's app its own back.
    limiter.enabled = was_enabled


def _scene():
    from marketplace.core.calendar import WorkingCalendar
    from marketplace.core.timeutil import local_date, start_of_local_day
    from tests import bid_factories as bf
    from tests import factories

    world = factories.world()
    # Real time here: the default deadline (30 days on) may fall on a weekend or a holiday.
    day = WorkingCalendar.load().next_working_day(local_date(clock.now()) + timedelta(days=30))
    tender = factories.published(world["officer"], bid_deadline=start_of_local_day(day) + timedelta(hours=9))
    org, member = bf.organization("压力测试社工中心")
    _db.session.commit()
    return world, tender, member


def test_writers_and_jobs_together_never_hit_database_is_locked(busy_app):
    from tests.test_bid_pages import _form
    from tests.test_orgs import code, form_data

    clock.reset()  # real time: the threads and the jobs run concurrently for real
    world, tender, member = _scene()
    bid_form = _form(tender, submit=False)
    tender_id, member_id, officer_email = tender.id, member.id, world["officer"].email
    _db.session.remove()

    stop = time.monotonic() + SECONDS
    errors: list[str] = []
    counts = {"requests": 0, "job_runs": 0}
    serial = count()

    def post_loop(kind: str):
        client = busy_app.test_client()
        try:
            while time.monotonic() < stop:
                n = next(serial)
                if kind == "login":
                    password = "a-wrong-password" if n % 2 else PASSWORD
                    r = client.post("/auth/login", data={"email": officer_email, "password": password})
                    client.post("/auth/logout", data={})
                elif kind == "register":
                    data = form_data(
                        uscc=code("52"),
                        name=f"压力测试机构{n}",
                        email=f"o{n}@busy.cn",
                        account_email=f"m{n}@busy.cn",
                    )
                    r = client.post("/orgs/register", data=data, content_type="multipart/form-data")
                else:
                    with client.session_transaction() as sess:
                        sess["_user_id"] = str(member_id)
                        sess["_fresh"] = True
                    r = client.post(
                        f"/bids/tender/{tender_id}", data={**bid_form, "price": f"{290000 + n % 999}.00"}
                    )
                counts["requests"] += 1
                if r.status_code >= 500:
                    errors.append(f"{kind}: HTTP {r.status_code}")
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(f"{kind}: {exc!r}")

    def job_loop():
        try:
            with busy_app.app_context():
                while time.monotonic() < stop:
                    for name in JOBS:
                        run = run_job(name)
                        counts["job_runs"] += 1
                        if run.status == "error":
                            errors.append(f"job {name}: {run.error}")
                    _db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(f"jobs: {exc!r}")

    threads = [threading.Thread(target=post_loop, args=(k,)) for k in ("login", "register", "bid")]
    threads.append(threading.Thread(target=job_loop))
    for t in threads:
        t.start()
    for t in threads:
        t.join(SECONDS + 120)
    assert errors == []
    assert counts["requests"] > 30 and counts["job_runs"] > 10, counts
    failed = _db.session.scalars(select(JobRun).where(JobRun.status == "error")).all()
    assert failed == []
