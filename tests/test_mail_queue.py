"""Mail through the task queue (issue 18): with REDIS_URL, one RQ task per committed mail, retried;
nothing for a rolled-back transaction. Without it, mail is still sent in-process (test_mail)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from marketplace.core import notifications, tasks
from marketplace.core.notifications import notify
from marketplace.extensions import mail

REDIS_TEST_URL = "redis://127.0.0.1:6379/14"  # a db of its own, emptied before and after


@contextmanager
def mail_settings(app, **settings):
    """Flask-Mailman reads its settings in ``init_app``: change them there, and put them back."""
    saved = {k: app.config[k] for k in settings}
    app.config.update(settings)
    mail.init_app(app)
    try:
        yield app.extensions["mailman"]
    finally:
        app.config.update(saved)
        mail.init_app(app)


class FakeQueue:
    def __init__(self, name, calls):
        self.name, self.calls = name, calls

    def enqueue(self, func, *args, **kwargs):
        self.calls.append((self.name, func, args, kwargs))


@pytest.fixture
def fake_queue(app, monkeypatch):
    calls: list = []
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://fake.invalid/0")
    monkeypatch.setattr(tasks, "redis_connection", lambda: None)
    monkeypatch.setattr(tasks, "rq_queue", lambda name, connection=None: FakeQueue(name, calls))
    with mail_settings(app, MAIL_SERVER="smtp.invalid", MAIL_BACKEND="locmem") as mailman:
        yield calls, mailman


def test_a_committed_transaction_enqueues_one_task_per_mail(fake_queue, world, db, app):
    calls, mailman = fake_queue
    notify([world["officer"], world["org_member"]], "test", "队列 / Queued", "正文", "/contracts/7")
    assert calls == [] and len(notifications.pending_mail()) == 2  # nothing before the commit
    db.session.commit()
    assert [(q, f, a[0]) for q, f, a, _k in calls] == [
        (app.config["EXPORT_QUEUE"], "marketplace.core.notifications.deliver", "officer@test.org"),
        (app.config["EXPORT_QUEUE"], "marketplace.core.notifications.deliver", world["org_member"].email),
    ]
    _q, _f, args, kwargs = calls[0]
    # Rendered strings only (and the mail's extra headers, none here).
    assert args == ("officer@test.org", "队列 / Queued", "正文", "/contracts/7", ())
    assert kwargs["retry"].max == 3 and kwargs["retry"].intervals == [10, 60, 300]
    assert getattr(mailman, "outbox", []) == []  # the worker sends it, not the request
    assert notifications.pending_mail() == []


def test_a_rolled_back_transaction_enqueues_nothing(fake_queue, world, db):
    calls, _mailman = fake_queue
    db.session.commit()
    notify([world["officer"]], "test", "不会发送 / Never sent")
    savepoint = db.session.begin_nested()
    notify([world["admin"]], "test", "撤销 / Undone")
    savepoint.rollback()
    assert len(notifications.pending_mail()) == 1
    db.session.rollback()
    db.session.commit()
    assert calls == [] and notifications.pending_mail() == []


def test_an_unreachable_queue_sends_the_mail_in_process(app, world, db, monkeypatch):
    def broken(name, connection=None):
        raise ConnectionError("redis down")

    monkeypatch.setitem(app.config, "REDIS_URL", "redis://fake.invalid/0")
    monkeypatch.setattr(tasks, "redis_connection", lambda: None)
    monkeypatch.setattr(tasks, "rq_queue", broken)
    with mail_settings(app, MAIL_SERVER="smtp.invalid", MAIL_BACKEND="locmem") as mailman:
        notify([world["officer"]], "test", "兜底 / Fallback")
        db.session.commit()
        assert [m.to for m in mailman.outbox] == [["officer@test.org"]]


@pytest.fixture
def redis_queue(app, monkeypatch):
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    connection.flushdb()
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_TEST_URL)
    try:
        with mail_settings(app, MAIL_SERVER="smtp.invalid", MAIL_BACKEND="locmem") as mailman:
            mailman.outbox = []
            yield mailman
    finally:
        connection.flushdb()
        connection.close()


def test_a_worker_sends_the_queued_mail(redis_queue, world, db, app):
    notify([world["officer"]], "test", "经队列 / Via the queue", "正文 body", "/contracts/7")
    db.session.commit()
    assert redis_queue.outbox == []  # queued, not sent by the request
    assert tasks.rq_queue(app.config["EXPORT_QUEUE"]).count == 1
    tasks.work([app.config["EXPORT_QUEUE"]], burst=True)
    (message,) = redis_queue.outbox
    assert message.to == ["officer@test.org"] and message.subject == "经队列 / Via the queue"
    assert "正文 body" in message.body and "/contracts/7" in message.body


def test_a_failing_send_is_retried(redis_queue, world, db, app, monkeypatch):
    monkeypatch.setattr(notifications, "MAIL_RETRY", (0, 0, 0))  # retry at once, in the same burst
    real = notifications.mailer.get_connection
    attempts = []

    def flaky(*args, **kwargs):
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionRefusedError("mail server down")
        return real(*args, **kwargs)

    monkeypatch.setattr(notifications.mailer, "get_connection", flaky)
    notify([world["officer"]], "test", "重试 / Retried")
    db.session.commit()
    tasks.work([app.config["EXPORT_QUEUE"]], burst=True)
    assert len(attempts) == 3
    assert [m.subject for m in redis_queue.outbox] == ["重试 / Retried"]
