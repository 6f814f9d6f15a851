"""The single source of "now". Tests move it with :func:`frozen` or :func:`set_now`.

Everything is UTC and timezone-aware; conversion to the display zone happens at the edges.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

_fixed: datetime | None = None
_offset: timedelta = timedelta(0)


def now() -> datetime:
    if _fixed is not None:
        return _fixed
    return datetime.now(UTC) + _offset


def today_local(tz) -> date:
    return now().astimezone(tz).date()


def set_now(moment: datetime | None) -> None:
    """Freeze the clock at ``moment`` (aware), or unfreeze with ``None``."""
    global _fixed
    if moment is not None and moment.tzinfo is None:
        raise ValueError("set_now needs a timezone-aware datetime")
    _fixed = moment


def advance(delta: timedelta) -> None:
    """Move the clock forward (frozen or running) by ``delta``."""
    global _fixed, _offset
    if _fixed is not None:
        _fixed = _fixed + delta
    else:
        _offset = _offset + delta


def reset() -> None:
    global _fixed, _offset
    _fixed = None
    _offset = timedelta(0)


@contextlib.contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    previous = _fixed
    set_now(moment)
    try:
        yield
    finally:
        set_now(previous)
