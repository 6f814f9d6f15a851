"""In-app notifications (an inbox per user), and the same text by email when SMTP is configured.

Subjects and bodies are stored as message ids with parameters (:mod:`marketplace.core.messages`):
the inbox shows them in the reader's language; a mail is rendered when it is queued, in the
recipient's language when the account keeps one (:func:`recipient_locale`), else in the platform's
default language (Chinese). A text is never doubled into both languages.

Email follows the transaction: :func:`notify` renders the mail and enqueues it as a task
(:mod:`marketplace.core.tasks`), handed over by that module's ``after_commit`` listener (to RQ with
retries when ``REDIS_URL`` is set, else sent in this process); a rollback discards it. A mail never
announces a change that was rolled back, and a slow or broken mail server never undoes one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import JSON, ForeignKey, String, Text, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from marketplace import clock
from marketplace.core import mail, tasks
from marketplace.core.db import UTCDateTime
from marketplace.core.messages import render_in
from marketplace.extensions import db
from marketplace.extensions import mail as mailer

log = logging.getLogger("marketplace.mail")


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    link: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    params: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def notify(
    users: Iterable, kind: str, subject: str, body: str = "", link: str = "", params: dict | None = None
) -> int:
    """Queue one notification per user in the current transaction (and its email); returns how many.

    ``subject`` and ``body`` are message ids (marked ``N_``); ``params`` fills their placeholders."""
    n = 0
    for user in users:
        db.session.add(
            Notification(
                user_id=user.id,
                kind=kind,
                subject=subject[:300],
                body=body,
                link=link,
                params=params or None,
                created_at=clock.now(),
            )
        )
        queue_mail(user.email, subject, body, link, params, locale=recipient_locale(user))
        n += 1
    return n


def notify_rows(rows: list[dict]) -> int:
    """Many notifications in one INSERT (the scheduled jobs' path). Each row: user_id, email, kind,
    subject, body, link and optionally params. Returns how many."""
    if not rows:
        return 0
    now = clock.now()
    db.session.execute(
        insert(Notification),
        [
            {
                "user_id": r["user_id"],
                "kind": r["kind"],
                "subject": r["subject"][:300],
                "body": r.get("body", ""),
                "link": r.get("link", ""),
                "params": r.get("params") or None,
                "created_at": now,
            }
            for r in rows
        ],
    )
    for r in rows:
        body, link, params = r.get("body", ""), r.get("link", ""), r.get("params")
        queue_mail(r.get("email"), r["subject"], body, link, params, locale=r.get("locale"))
    return len(rows)


MAIL_TASK = "marketplace.core.notifications:deliver"
MAIL_RETRY = (10, 60, 300)  # seconds before each retry of a mail the server did not take (RQ)


def queue_mail(
    to: str | None,
    subject: str,
    body: str = "",
    link: str = "",
    params: dict | None = None,
    headers: tuple = (),
    locale: str | None = None,
) -> None:
    """Hold an email until the current transaction commits (nothing when mail is not configured).

    It is rendered now and handed to the task queue (:mod:`marketplace.core.tasks`) as plain strings:
    on Redis one task per mail, retried; without it sent in this process right after the commit."""
    if not to or not has_app_context() or not mail.enabled():
        return
    if locale not in current_app.config["LANGUAGES"]:  # no preference: the platform's language (Chinese)
        locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    tasks.enqueue(
        MAIL_TASK,
        to,
        render_in(locale, subject, params),
        render_in(locale, body, params),
        link,
        tuple(tuple(pair) for pair in headers),  # (name, value) pairs: List-Unsubscribe ...
        queue=current_app.config["EXPORT_QUEUE"],  # the queue the task worker reads
        timeout=120,
        retry=MAIL_RETRY,
        local="marketplace.core.notifications:send_batch",
    )


def recipient_locale(user) -> str | None:
    """The language a user asked for their mail in (``user.locale`` where accounts keep one), or None."""
    return getattr(user, "locale", None) or None


def pending_mail(session: Session | None = None) -> list[mail.OutgoingMail]:
    """The mails waiting for the commit of ``session`` (default: the current one)."""
    return [mail.OutgoingMail(*task.args) for task in tasks.pending(session, MAIL_TASK)]


def deliver(to: str, subject: str, body: str = "", link: str = "", headers: tuple = ()) -> int:
    """The queued task (a worker, inside the app): send one rendered mail. Raises when the server does
    not take it, so that RQ retries it."""
    if not mail.enabled():
        log.warning("mail to %s dropped: MAIL_SERVER is not set in the worker", to)
        return 0
    with mailer.get_connection() as connection:
        message = mail.build_message(mail.OutgoingMail(to, subject, body, link, tuple(map(tuple, headers))))
        return connection.send_messages([message])


def send_batch(batch: list[tuple]) -> int:
    """Without Redis, right after the commit: the committed mails over one connection. Never raises."""
    return mail.send([mail.OutgoingMail(*args) for args in batch])


def install_mail_hooks() -> None:
    """Listen on every ORM session: mail is handed over by the task queue's commit hook. Idempotent."""
    tasks.install_hooks()


def unread_count(user) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def inbox_query(user):
    return select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc())


def mark_read(user, notification_id: int | None = None) -> int:
    stmt = select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    items = db.session.scalars(stmt).all()
    for item in items:
        item.read_at = clock.now()
    return len(items)
