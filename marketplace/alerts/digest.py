"""The daily alerts of saved searches: the job ``saved-search-alerts`` (jobs.registry), one item per
user with a search that is not paused.

An item finds each search's new matching tenders (``matching.new_matches``, one query per search,
at most ``services.MAX_PER_ORGANIZATION``), records them as alerted and moves every watermark (two
statements), and sends the user one notification in the inbox and, for the searches whose email is
on, one email digest with a one-click unsubscribe (``List-Unsubscribe`` and
``List-Unsubscribe-Post``, RFC 8058, and the link in the text). The runner commits the item; the mail
leaves after the commit. Tenders no longer open for bids when the item runs are left out, and a
tender is never alerted twice by the same search (nor listed twice in one digest).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from marketplace.alerts import matching, tokens
from marketplace.alerts.models import SavedSearch, SavedSearchHit
from marketplace.auth.models import User
from marketplace.core import mail, notifications
from marketplace.core.messages import N_
from marketplace.core.permissions import ORG_MEMBER
from marketplace.core.timeutil import to_local
from marketplace.extensions import db

KIND = "saved_search.alert"
# Tenders listed in one digest; the rest are counted, and listed on each search's page.
DIGEST_LINES = 20
SUBJECT = N_("%(count)s new tender(s) match your saved searches")
BODY = N_("New tenders matching your saved searches (bid deadline, budget ceiling in yuan):\n%(list)s")
BODY_MORE = N_(
    "New tenders matching your saved searches (bid deadline, budget ceiling in yuan):\n%(list)s\n"
    "… and %(more)s more: see My saved searches."
)
MAIL_BODY = N_(
    "New tenders matching your saved searches (bid deadline, budget ceiling in yuan):\n%(list)s\n\n"
    "To stop these emails (the alerts in your inbox go on), open: %(unsubscribe)s"
)
MAIL_BODY_MORE = N_(
    "New tenders matching your saved searches (bid deadline, budget ceiling in yuan):\n%(list)s\n"
    "… and %(more)s more: see My saved searches.\n\n"
    "To stop these emails (the alerts in your inbox go on), open: %(unsubscribe)s"
)
SEARCHES_PATH = "/saved-searches"


def users_due(now: datetime, after: int | None, limit: int) -> tuple[list[int], int | None]:
    """The next ``limit`` users (by id, after ``after``) with a saved search that is not paused."""
    stmt = select(SavedSearch.user_id).where(SavedSearch.paused.is_(False)).distinct()
    if after is not None:
        stmt = stmt.where(SavedSearch.user_id > after)
    ids = list(db.session.scalars(stmt.order_by(SavedSearch.user_id).limit(limit)))
    return ids, (ids[-1] if len(ids) == limit else None)


def _receives(user: User | None, saved: SavedSearch) -> bool:
    """Still a member of the search's organization, with an active account."""
    return (
        user is not None
        and user.is_active
        and user.role == ORG_MEMBER
        and user.organization_id == saved.organization_id
    )


def send_alerts(now: datetime, user_id: int) -> bool:
    """Alert one user of the new tenders of their searches; True when there was something to send.
    Idempotent: a second run finds every tender already alerted."""
    user = db.session.get(User, user_id)
    searches = list(
        db.session.scalars(
            select(SavedSearch)
            .where(SavedSearch.user_id == user_id, SavedSearch.paused.is_(False))
            .order_by(SavedSearch.id)
        )
    )
    if not searches:
        return False
    found: dict[int, tuple] = {}  # tender id -> row, in the order first found
    emailed: set[int] = set()
    hits = []
    for saved in searches:
        if not _receives(user, saved):
            continue
        for row in db.session.execute(matching.new_matches(saved)):
            hits.append({"search_id": saved.id, "tender_id": row.id, "alerted_at": now})
            found.setdefault(row.id, row)
            if saved.email_digest:
                emailed.add(row.id)
    ids = [s.id for s in searches]
    db.session.execute(update(SavedSearch).where(SavedSearch.id.in_(ids)).values(alerted_until=now))
    if not hits:
        return False
    db.session.execute(insert(SavedSearchHit), hits)
    db.session.execute(
        update(SavedSearch)
        .where(SavedSearch.id.in_(sorted({h["search_id"] for h in hits})))
        .values(last_alert_at=now)
    )
    rows = list(found.values())
    notifications.notify_rows([_notification(user, rows)])
    mailed = [row for row in rows if row.id in emailed]
    if mailed:
        _queue_digest(user, mailed)
    return True


def _line(row, link: str) -> str:
    deadline = to_local(row.bid_deadline).strftime("%Y-%m-%d %H:%M")
    reference = f" ({row.reference})" if row.reference else ""
    return f"- {row.title}{reference} · {deadline} · ¥{row.budget_ceiling:,.2f}\n  {link}"


def _listing(rows: list, absolute: bool) -> dict:
    """The message's parameters: the count, the list (at most DIGEST_LINES) and, past it, ``more``."""

    def link(path: str) -> str:
        return mail.absolute_link(path) if absolute else path

    shown = rows[:DIGEST_LINES]
    params = {
        "count": len(rows),
        "list": "\n".join(_line(row, link(f"/tenders/{row.id}")) for row in shown),
    }
    if len(rows) > len(shown):
        params["more"] = len(rows) - len(shown)
    return params


def _notification(user: User, rows: list) -> dict:
    params = _listing(rows, absolute=False)
    body = BODY_MORE if "more" in params else BODY
    return {
        "user_id": user.id,
        "email": None,  # the email is the digest (``_queue_digest``), of the searches whose email is on
        "kind": KIND,
        "subject": SUBJECT,
        "body": body,
        "link": SEARCHES_PATH,
        "params": params,
    }


def _queue_digest(user: User, rows: list) -> None:
    """The email digest, sent after the commit through the mail queue."""
    params = _listing(rows, absolute=True)
    body = MAIL_BODY_MORE if "more" in params else MAIL_BODY
    unsubscribe = mail.absolute_link(tokens.unsubscribe_path(user))
    params["unsubscribe"] = unsubscribe
    headers = ()
    if "://" in unsubscribe:  # the headers need an absolute address (PUBLIC_BASE_URL or SERVER_NAME)
        headers = (
            ("List-Unsubscribe", f"<{unsubscribe}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        )
    notifications.queue_mail(
        user.email,
        SUBJECT,
        body,
        mail.absolute_link(SEARCHES_PATH),
        params,
        headers=headers,
        locale=notifications.recipient_locale(user),
    )
