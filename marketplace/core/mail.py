"""Email over SMTP: a notification's subject and body, sent only after its transaction commits.

Nothing is sent when ``MAIL_SERVER`` is unset (development, tests). A failing server is logged and
never breaks the request or job that caused the mail: the in-app notification is the record.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app

log = logging.getLogger("marketplace.mail")


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    body: str
    link: str = ""


def enabled() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def absolute_link(link: str) -> str:
    """``/contracts/3`` as an absolute URL when the public address is configured, else as given."""
    if not link or "://" in link:
        return link
    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    if not base and current_app.config.get("SERVER_NAME"):
        scheme = current_app.config.get("PREFERRED_URL_SCHEME", "http")
        base = f"{scheme}://{current_app.config['SERVER_NAME']}"
    return f"{base.rstrip('/')}{link}" if base else link


def build_message(mail: OutgoingMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.to
    # Header folding keeps subjects on one line; the notification's subject may contain newlines.
    message["Subject"] = " ".join(mail.subject.split())
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=current_app.config["MAIL_FROM"].rpartition("@")[2] or None)
    body = mail.body or ""
    link = absolute_link(mail.link)
    if link:
        body = f"{body}\n\n{link}" if body else link
    message.set_content(body, charset="utf-8")
    return message


def send(mails: list[OutgoingMail]) -> int:
    """Send ``mails`` over one SMTP connection; returns how many were accepted. Never raises."""
    if not mails or not enabled():
        return 0
    config = current_app.config
    sent = 0
    try:
        smtp_class = smtplib.SMTP_SSL if config.get("MAIL_USE_SSL") else smtplib.SMTP
        with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]) as smtp:
            if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            for mail in mails:
                try:
                    smtp.send_message(build_message(mail))
                    sent += 1
                except smtplib.SMTPException:
                    log.exception("mail to %s refused", mail.to)
    except (OSError, smtplib.SMTPException):
        server = f"{config['MAIL_SERVER']}:{config['MAIL_PORT']}"
        log.exception("could not send %d mail(s) via %s", len(mails) - sent, server)
    return sent
