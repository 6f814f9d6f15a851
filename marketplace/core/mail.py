"""Email through Flask-Mailman's SMTP backend: a notification's subject and body, sent only after its
transaction commits (``notifications`` holds them until then).

Nothing is sent when ``MAIL_SERVER`` is unset (development, tests). A failing server is logged and
never breaks the request or job that caused the mail: the in-app notification is the record.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.header import Header
from email.utils import make_msgid, parseaddr

from flask import current_app
from flask_mailman import EmailMessage

from marketplace.extensions import mail as mailer

log = logging.getLogger("marketplace.mail")


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    body: str
    link: str = ""
    # Extra headers as (name, value) pairs, e.g. List-Unsubscribe (RFC 8058) on an alert digest.
    headers: tuple = ()


def _settings():
    """The settings Flask-Mailman took from the config in ``create_app``: what a connection uses."""
    return current_app.extensions["mailman"]


def enabled() -> bool:
    """Mail goes out when a server is configured and ``MAIL_SUPPRESS_SEND`` (no mail at all) is off."""
    return bool(_settings().server) and not current_app.config.get("MAIL_SUPPRESS_SEND")


def absolute_link(link: str) -> str:
    """``/contracts/3`` as an absolute URL when the public address is configured, else as given."""
    if not link or "://" in link:
        return link
    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    if not base and current_app.config.get("SERVER_NAME"):
        scheme = current_app.config.get("PREFERRED_URL_SCHEME", "http")
        base = f"{scheme}://{current_app.config['SERVER_NAME']}"
    return f"{base.rstrip('/')}{link}" if base else link


class NotificationMessage(EmailMessage):
    def message(self):
        message = super().message()
        if not self.subject.isascii():
            # Flask-Mailman encodes the subject without counting "Subject: " in the first line, so a long
            # Chinese one would start on a continuation line, which readers show as a leading space.
            message.replace_header("Subject", Header(self.subject, "utf-8", header_name="Subject"))
        return message


def build_message(mail: OutgoingMail) -> NotificationMessage:
    """From ``MAIL_DEFAULT_SENDER``, in UTF-8, the link (absolute) under the body."""
    body = mail.body or ""
    link = absolute_link(mail.link)
    if link:
        body = f"{body}\n\n{link}" if body else link
    sender_domain = parseaddr(_settings().default_sender)[1].rpartition("@")[2]
    return NotificationMessage(
        # One line: a header may not hold a newline, and a notification's subject may.
        subject=" ".join(mail.subject.split()),
        body=body,
        to=[mail.to],
        # The sender's domain, not this host's name (Flask-Mailman's default).
        headers={
            **{str(name): " ".join(str(value).split()) for name, value in mail.headers},
            "Message-ID": make_msgid(domain=sender_domain or None),
        },
    )


def send(mails: list[OutgoingMail]) -> int:
    """Send ``mails`` over one SMTP connection; returns how many were accepted. Never raises."""
    if not mails or not enabled():
        return 0
    sent = 0
    connection = mailer.get_connection()
    try:
        with connection:  # opened once for the batch; send_messages leaves an open connection open
            for mail in mails:
                try:
                    sent += connection.send_messages([build_message(mail)])
                except smtplib.SMTPException:
                    log.exception("mail to %s refused", mail.to)
    except (OSError, smtplib.SMTPException):
        server = f"{connection.host}:{connection.port}"
        log.exception("could not send %d mail(s) via %s", len(mails) - sent, server)
    return sent
