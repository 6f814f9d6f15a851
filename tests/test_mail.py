"""Email delivery to a real (local) SMTP server: sent after the commit, never after a rollback.

The ``db`` fixture turns the session's commits into savepoint releases on one outer transaction;
for the session that is still its own (outermost) commit, so ``after_commit`` fires as in production.
"""

from __future__ import annotations

import email
import logging
import socket
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from email import policy

import pytest

from marketplace.config import load_config
from marketplace.contracts import schedule
from marketplace.core import notifications
from marketplace.core.messages import render_in
from marketplace.core.notifications import notify
from marketplace.extensions import mail
from marketplace.jobs import runner
from tests import contract_factories as cf

aiosmtpd = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is in the test extra")


class Collector:
    def __init__(self):
        self.messages: list = []
        self.peers: list = []  # the client end of each message's connection
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.peers.append(session.peer)
        self.messages.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def mail_settings(app, **settings):
    """Flask-Mailman takes its settings once, in ``init_app``: change the config, initialise it again,
    and put both back afterwards."""
    saved = {k: app.config[k] for k in settings}
    app.config.update(settings)
    mail.init_app(app)
    try:
        yield
    finally:
        app.config.update(saved)
        mail.init_app(app)


@pytest.fixture
def smtp(app):
    handler = Collector()
    controller = aiosmtpd.Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        with mail_settings(
            app,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=controller.port,
            PUBLIC_BASE_URL="https://gov.example.cn",
            MAIL_TIMEOUT=5,
        ):
            yield handler
    finally:
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
    assert message["From"] == "noreply@marketplace.local"
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


def test_a_job_mails_both_parties_after_its_commit(smtp, world, db, app, monkeypatch):
    # Mails are rendered in the platform's language (BABEL_DEFAULT_LOCALE, zh_CN in production).
    monkeypatch.setitem(app.config, "BABEL_DEFAULT_LOCALE", "zh_CN")
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
    run = runner.run_job("flag-overdue")
    assert run.status == "ok"
    messages = _wait_for(smtp, 2)
    to = {r[0] for r, _m in messages}
    assert {"officer@test.org", member.email} <= to
    # One digest each, its subject in the platform's language (English until translated).
    subject = render_in("zh_CN", schedule.OVERDUE_DIGEST.subject, {"items": "1", "contracts": "1"})
    assert subject and all(m["Subject"] == subject for _r, m in messages)
    assert runner.run_job("flag-overdue").changed == 0
    time.sleep(0.1)
    assert len(smtp.messages) == len(messages)  # the second run sends nothing


def test_no_mail_server_configured_queues_nothing(app, world, db):
    assert not app.config["MAIL_SERVER"]
    notify([world["officer"]], "test", "无邮件 / No mail")
    assert notifications.pending_mail() == []


def test_mail_suppressed_sends_nothing_even_with_a_server(smtp, app, world, db):
    """MAIL_SUPPRESS_SEND (a trial or a bench in production mode) means no mail at all."""
    with mail_settings(app, MAIL_SUPPRESS_SEND=True):
        notify([world["officer"]], "test", "不发送 / Suppressed")
        assert notifications.pending_mail() == []
        db.session.commit()
    time.sleep(0.1)
    assert smtp.messages == []


def test_a_dead_mail_server_never_breaks_the_commit(app, world, db, caplog, monkeypatch):
    # Alembic's fileConfig (the session's migrations) disables loggers that existed before it ran.
    monkeypatch.setattr(logging.getLogger("marketplace.mail"), "disabled", False)
    with mail_settings(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port()):  # nobody listens there
        notify([world["officer"]], "test", "发不出去 / Undeliverable")
        db.session.commit()  # no exception
    assert "could not send 1 mail" in caplog.text
    assert notifications.pending_mail() == []


def test_a_batch_goes_over_one_connection_and_a_refused_address_stops_nothing(
    smtp, world, db, caplog, monkeypatch
):
    monkeypatch.setattr(logging.getLogger("marketplace.mail"), "disabled", False)
    smtp.refused = {"member@test.org"}
    notify([world["officer"], world["org_member"], world["admin"]], "test", "批量 / Batch")
    db.session.commit()
    messages = _wait_for(smtp, 2)
    assert sorted(r for r, _m in messages) == [["admin@test.org"], ["officer@test.org"]]
    assert len(set(smtp.peers)) == 1
    assert "mail to member@test.org refused" in caplog.text
    assert notifications.pending_mail() == []


def test_the_sender_may_have_a_chinese_name(smtp, app, world, db):
    with mail_settings(app, MAIL_DEFAULT_SENDER="政府购买服务平台 <notices@gov.example.cn>"):
        notify([world["officer"]], "test", "发件人 / Sender")
        db.session.commit()
    ((_rcpt, message),) = _wait_for(smtp, 1)
    assert message["From"].addresses[0].display_name == "政府购买服务平台"
    assert message["From"].addresses[0].addr_spec == "notices@gov.example.cn"
    assert message["Message-ID"].endswith("@gov.example.cn>")


def test_mail_settings_map_to_flask_mailman(monkeypatch, tmp_path):
    monkeypatch.setenv("MAIL_FROM", "政府采购 <notices@gov.example.cn>")
    monkeypatch.setenv("MAIL_USE_SSL", "1")
    monkeypatch.setenv("MAIL_USE_TLS", "1")
    config = load_config(str(tmp_path), {"TESTING": True})
    assert config["MAIL_DEFAULT_SENDER"] == "政府采购 <notices@gov.example.cn>"
    assert config["MAIL_USE_SSL"] and not config["MAIL_USE_TLS"]  # Flask-Mailman refuses both
    assert config["MAIL_BACKEND"] == "smtp"  # not the in-memory outbox Flask-Mailman picks for TESTING
