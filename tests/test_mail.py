"""Email delivery to a real (local) SMTP server: sent after the commit, never after a rollback.

The ``db`` fixture turns the session's commits into savepoint releases on one outer transaction;
for the session that is still its own (outermost) commit, so ``after_commit`` fires as in production.
"""

from __future__ import annotations

import email
import logging
import socket
import time
from datetime import UTC, date, datetime, timedelta
from email import policy

import pytest

from marketplace import jobs
from marketplace.core import notifications
from marketplace.core.notifications import notify
from tests import contract_factories as cf

aiosmtpd = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is in the test extra")


class Collector:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    handler = Collector()
    controller = aiosmtpd.Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    saved = {k: app.config[k] for k in ("MAIL_SERVER", "MAIL_PORT", "PUBLIC_BASE_URL", "MAIL_TIMEOUT")}
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=controller.port,
        PUBLIC_BASE_URL="https://gov.example.cn",
        MAIL_TIMEOUT=5,
    )
    try:
        yield handler
    finally:
        app.config.update(saved)
        controller.stop()


def _wait_for(handler, n: int) -> list:
    for _ in range(50):  # the server stores the message just after answering 250
        if len(handler.messages) >= n:
            break
        time.sleep(0.02)
    return handler.messages


def test_a_committed_notification_is_mailed_with_its_chinese_subject(smtp, world, db):
    notify([world["officer"]], "test", "合同已生效 / Contract active", "正文 body", "/contracts/7")
    assert smtp.messages == [] and len(notifications.pending_mail()) == 1  # nothing before the commit
    db.session.commit()
    (rcpt, message), *rest = _wait_for(smtp, 1)
    assert rest == [] and rcpt == ["officer@test.org"] and message["To"] == "officer@test.org"
    assert message["Subject"] == "合同已生效 / Contract active"
    body = message.get_content()
    assert "正文 body" in body and "https://gov.example.cn/contracts/7" in body
    assert notifications.pending_mail() == []


def test_a_rolled_back_notification_is_never_mailed(smtp, world, db):
    db.session.commit()
    notify([world["officer"], world["org_member"]], "test", "不会发送 / Never sent")
    assert len(notifications.pending_mail()) == 2
    db.session.rollback()
    assert notifications.pending_mail() == []
    db.session.commit()
    time.sleep(0.1)
    assert smtp.messages == []


def test_a_rolled_back_savepoint_takes_only_its_own_mail(smtp, world, db):
    notify([world["officer"]], "test", "保留 / Kept")
    savepoint = db.session.begin_nested()
    notify([world["org_member"]], "test", "撤销 / Undone")
    savepoint.rollback()
    with db.session.begin_nested():  # a savepoint that commits sends nothing yet
        notify([world["admin"]], "test", "内层 / Inner")
    assert smtp.messages == [] and len(notifications.pending_mail()) == 2
    db.session.commit()
    messages = _wait_for(smtp, 2)
    assert sorted(m["Subject"] for _r, m in messages) == ["保留 / Kept", "内层 / Inner"]


def test_a_job_mails_both_parties_after_its_commit(smtp, world, db):
    today = date(2026, 10, 21)
    contract, _org, member = cf.contract_rows(
        world, milestones=[("逾期里程碑", today - timedelta(days=1), "280000.00")]
    )
    db.session.commit()  # the award's own notices go out here
    _wait_for(smtp, 1)
    time.sleep(0.1)
    smtp.messages.clear()
    from marketplace import clock

    clock.set_now(datetime(2026, 10, 21, 2, 0, tzinfo=UTC))
    run = jobs.run_job("flag-overdue")
    assert run.status == "ok"
    messages = _wait_for(smtp, 2)
    to = {r[0] for r, _m in messages}
    assert {"officer@test.org", member.email} <= to
    assert all(m["Subject"].startswith("里程碑已逾期1天") for _r, m in messages)
    assert jobs.run_job("flag-overdue").changed == 0
    time.sleep(0.1)
    assert len(smtp.messages) == len(messages)  # the second run sends nothing


def test_no_mail_server_configured_queues_nothing(app, world, db):
    assert not app.config["MAIL_SERVER"]
    notify([world["officer"]], "test", "无邮件 / No mail")
    assert notifications.pending_mail() == []


def test_a_dead_mail_server_never_breaks_the_commit(app, world, db, caplog, monkeypatch):
    # Alembic's fileConfig (the session's migrations) disables loggers that existed before it ran.
    monkeypatch.setattr(logging.getLogger("marketplace.mail"), "disabled", False)
    saved = app.config["MAIL_SERVER"], app.config["MAIL_PORT"]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port())  # nobody listens there
    try:
        notify([world["officer"]], "test", "发不出去 / Undeliverable")
        db.session.commit()  # no exception
    finally:
        app.config["MAIL_SERVER"], app.config["MAIL_PORT"] = saved
    assert "could not send 1 mail" in caplog.text
    assert notifications.pending_mail() == []
