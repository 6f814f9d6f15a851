"""The single source of "now". Tests move it with :func:`frozen` or :func:`set_now`.

Everything is UTC and timezone-aware; conversion to the display zone happens at the edges.

A training deployment (``training.clock``) may move the platform's time forward: the offset lives in the
database, so every process (web workers, scheduler) sees it, and is read through the source the app
installs with :func:`set_training_source`, at most once per ``ttl`` seconds per process.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

_fixed: datetime | None = None
_offset: timedelta = timedelta(0)
# The training clock: where its offset is read, how long a read is trusted, the last read and its expiry.
_training_source: Callable[[], timedelta] | None = None
_training_ttl: float = 2.0
_training_cached: timedelta = timedelta(0)
_training_expires: float = float("-inf")


def now() -> datetime:
    base = _fixed if _fixed is not None else datetime.now(UTC) + _offset
    if _training_source is None:
        return base
    return base + training_offset()


def training_offset() -> timedelta:
    """How far a training deployment moved the clock forward (zero when no source is installed)."""
    global _training_cached, _training_expires
    if _training_source is None:
        return timedelta(0)
    moment = time.monotonic()
    if moment >= _training_expires:
        try:
            _training_cached = _training_source()
        except RuntimeError:  # outside an application context: keep the last offset read
            pass
        else:
            _training_expires = moment + _training_ttl
    return _training_cached


def set_training_source(source: Callable[[], timedelta] | None, ttl: float = 2.0) -> None:
    """Install (or remove, with ``None``) the function that reads the training clock's offset."""
    global _training_source, _training_ttl
    _training_source, _training_ttl = source, ttl
    forget_training_offset()


def forget_training_offset() -> None:
    """Read the offset again at the next :func:`now` (this process just moved it)."""
    global _training_cached, _training_expires
    _training_cached, _training_expires = timedelta(0), float("-inf")


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
    forget_training_offset()


@contextlib.contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    previous = _fixed
    set_now(moment)
    try:
        yield
    finally:
        set_now(previous)
