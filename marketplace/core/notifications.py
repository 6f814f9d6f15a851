"""In-app notifications (an inbox per user). Email delivery comes with the scheduled-jobs work.

Texts are stored in both languages ("中文 / English"): the recipient's language is not known when
the notification is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from marketplace import clock
from marketplace.core.db import UTCDateTime
from marketplace.extensions import db


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    link: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def notify(users: Iterable, kind: str, subject: str, body: str = "", link: str = "") -> int:
    """Queue one notification per user in the current transaction; returns how many."""
    n = 0
    for user in users:
        db.session.add(
            Notification(
                user_id=user.id,
                kind=kind,
                subject=subject[:300],
                body=body,
                link=link,
                created_at=clock.now(),
            )
        )
        n += 1
    return n


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
