"""The release feed: every release gets a position once, after it was committed, and the feed lists
positioned releases in position order (docs/ocds.md, "The release feed").

Releases are made from the rows of a process (``releases.py``); they are not rows of their own. The
``ocds-feed`` job (``jobs/registry.py``) looks at each process, one transaction per process
(``jobs/runner.py`` commits it), and gives each release it has not positioned yet the next position.
It takes the counter row's lock first (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite begins every
writing transaction ``IMMEDIATE``, so writers queue anyway), so positions are given and committed one
transaction after the other: whoever sees position n+1 sees position n too. A release whose own
transaction commits late is found by a later pass and gets a later position, so a harvester that
remembers the last position it read (the cursor) never misses it.

Reading the feed never writes: releases the job has not positioned yet are simply not listed.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime

from sqlalchemy import exists, func, insert, select, update

from marketplace import clock
from marketplace.extensions import db
from marketplace.ocds.models import COUNTER_ID, FeedCounter, FeedRelease
from marketplace.ocds.process import is_published
from marketplace.ocds.releases import releases_for
from marketplace.tenders.models import PUBLIC_STATUSES, Tender

CLOSING_TAGS = frozenset({"tenderCancellation", "contractTermination"})
_CURSOR_PREFIX = "ocds-feed:"
_CURSOR_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_POSITION_RE = re.compile(r"(0|[1-9][0-9]{0,17})")


class InvalidCursor(ValueError):
    """A ``since`` value this feed never gave out."""


# --- cursors ------------------------------------------------------------------------------------------


def encode_cursor(position: int) -> str:
    """The opaque cursor that stands after ``position`` (harvesters must not build or read cursors)."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{position}".encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> int:
    """The position a cursor stands after (0: the start). Raises :class:`InvalidCursor`."""
    if raw is None or raw == "":
        return 0
    if not _CURSOR_RE.fullmatch(raw):
        raise InvalidCursor(raw)
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor(raw) from None
    if not text.startswith(_CURSOR_PREFIX) or not _POSITION_RE.fullmatch(text[len(_CURSOR_PREFIX) :]):
        raise InvalidCursor(raw)
    position = int(text[len(_CURSOR_PREFIX) :])
    if position > last_position():
        raise InvalidCursor(raw)  # ahead of the feed: not one of ours (or another database's)
    return position


# --- reading ------------------------------------------------------------------------------------------


def last_position() -> int:
    """The last position given out (0 before the first)."""
    counter = db.session.scalar(select(FeedCounter.position).where(FeedCounter.id == COUNTER_ID))
    if counter is not None:
        return counter
    return db.session.scalar(select(func.coalesce(func.max(FeedRelease.position), 0))) or 0


def last_change() -> datetime | None:
    """When the last position was given out (None before the first)."""
    return db.session.scalar(select(FeedCounter.updated_at).where(FeedCounter.id == COUNTER_ID))


def page_after(position: int, limit: int) -> list[FeedRelease]:
    """At most ``limit`` positioned releases after ``position``, in position order."""
    return list(
        db.session.scalars(
            select(FeedRelease)
            .where(FeedRelease.position > position)
            .order_by(FeedRelease.position)
            .limit(limit)
        )
    )


# --- positioning (the ``ocds-feed`` job) -----------------------------------------------------------------


def _published_ids():
    return select(Tender.id).where(Tender.status.in_(PUBLIC_STATUSES), Tender.published_at.is_not(None))


def live_processes_query():
    """Published tenders whose process has not ended in the feed (no closing release positioned)."""
    closed = exists().where(FeedRelease.tender_id == Tender.id, FeedRelease.closing.is_(True))
    return _published_ids().where(~closed)


def all_processes_query():
    return _published_ids()


def _positioned_ids(tender_id: int) -> set[str]:
    return set(db.session.scalars(select(FeedRelease.release_id).where(FeedRelease.tender_id == tender_id)))


def _lock_counter() -> int:
    """Lock the counter row for the rest of the transaction and return its position (creating the row
    when an emptied database has none)."""
    position = db.session.scalar(
        select(FeedCounter.position).where(FeedCounter.id == COUNTER_ID).with_for_update()
    )
    if position is not None:
        return position
    position = db.session.scalar(select(func.coalesce(func.max(FeedRelease.position), 0))) or 0
    # Two first positioners at once: the second insert fails on the primary key and its item is retried.
    db.session.execute(insert(FeedCounter).values(id=COUNTER_ID, position=position, updated_at=clock.now()))
    return position


def _is_closing(release: dict) -> bool:
    return bool(CLOSING_TAGS & set(release["tag"])) or release["id"].endswith("-unsuccessful")


def position_releases(tender_id: int) -> int:
    """Give the next positions to the releases of one process that have none yet, oldest first; the
    number positioned. Does not commit (the job runner commits each process on its own)."""
    tender = db.session.get(Tender, tender_id)
    if not is_published(tender):
        return 0
    releases = releases_for(tender)
    if not releases or {r["id"] for r in releases} <= _positioned_ids(tender_id):
        return 0  # nothing new: no lock taken
    position = _lock_counter()
    positioned = _positioned_ids(tender_id)  # again, under the lock: another positioner may have run
    new = [r for r in releases if r["id"] not in positioned]
    if not new:
        return 0
    now = clock.now()
    rows = []
    for release in new:
        position += 1
        rows.append(
            {
                "position": position,
                "release_id": release["id"],
                "ocid": release["ocid"],
                "tender_id": tender_id,
                "release": release,
                "closing": _is_closing(release),
                "positioned_at": now,
            }
        )
    db.session.execute(insert(FeedRelease), rows)
    db.session.execute(
        update(FeedCounter).where(FeedCounter.id == COUNTER_ID).values(position=position, updated_at=now)
    )
    return len(rows)


def position_all() -> int:
    """Position every process's new releases in one go (tests). The ``ocds-feed-sweep`` job does the
    same a process per transaction (``flask jobs run-once ocds-feed-sweep``)."""
    ids = list(db.session.scalars(all_processes_query().order_by(Tender.id)))
    return sum(position_releases(tender_id) for tender_id in ids)
