"""In-app notifications (an inbox per user), and the same text by email when SMTP is configured.

Subjects and bodies are stored as message ids with parameters (:mod:`marketplace.core.messages`):
the inbox shows them in the reader's language; a mail is rendered in the platform's default
language when it is queued.

Email follows the transaction: :func:`notify` queues the mail in ``session.info``; a session
``after_commit`` listener sends it, a rollback discards it. A mail never announces a change that was
rolled back, and a slow or broken mail server never undoes one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import JSON, ForeignKey, String, Text, event, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from marketplace import clock
from marketplace.core import mail
from marketplace.core.db import UTCDateTime
from marketplace.core.messages import render_in
from marketplace.extensions import db

_OUTBOX = "marketplace.outgoing_mail"


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
        queue_mail(user.email, subject, body, link, params)
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
        queue_mail(r.get("email"), r["subject"], r.get("body", ""), r.get("link", ""), r.get("params"))
    return len(rows)


def queue_mail(
    to: str | None, subject: str, body: str = "", link: str = "", params: dict | None = None
) -> None:
    """Hold an email until the current transaction commits (nothing when mail is not configured)."""
    if not to or not has_app_context() or not mail.enabled():
        return
    locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    outgoing = mail.OutgoingMail(
        to, render_in(locale, subject, params), render_in(locale, body, params), link
    )
    session = db.session()
    # Tagged with the innermost transaction, so a rolled-back savepoint takes its own mails with it.
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_OUTBOX, []).append((transaction, outgoing))


def pending_mail(session: Session | None = None) -> list:
    """The mails waiting for the commit of ``session`` (default: the current one)."""
    return [m for _tx, m in (session or db.session()).info.get(_OUTBOX, [])]


def send_pending(session: Session) -> int:
    """Send and forget the mails queued on ``session``: what the ``after_commit`` listener does."""
    queued = session.info.pop(_OUTBOX, None)
    if not queued or not has_app_context():
        return 0
    return mail.send([m for _tx, m in queued])


def discard_pending(session: Session, rolled_back=None) -> None:
    """Forget the queued mails: all of them, or those queued inside the rolled-back savepoint."""
    queued = session.info.get(_OUTBOX)
    if not queued:
        return
    if rolled_back is None or not rolled_back.nested:
        session.info.pop(_OUTBOX, None)
        return

    def inside(transaction) -> bool:
        while transaction is not None:
            if transaction is rolled_back:
                return True
            transaction = transaction.parent
        return False

    queued[:] = [(tx, m) for tx, m in queued if not inside(tx)]


def _after_commit(session: Session) -> None:
    # Fired for savepoints too: only the outermost commit makes the change (and its mail) real.
    if session.get_nested_transaction() is None:
        send_pending(session)


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    discard_pending(session, previous_transaction)


def install_mail_hooks() -> None:
    """Listen on every ORM session (Flask-SQLAlchemy's and the test fixture's). Idempotent."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)


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
