"""When a request reached the server: the time a sealed bid is judged by.

A bid counts as received when its request reaches the platform, not when a worker gets round to it
(docs/bidding.md). :class:`ReceivedAt` is the outermost WSGI layer: it stamps each request with the
moment the web server noted its arrival (:mod:`marketplace.serving`: gunicorn's thread worker notes
when the request's first bytes were readable, before it waits for a free thread) or, under any other
server, the platform clock as it enters the application. When the deployment's own reverse proxy records the
arrival in a header (``TRUSTED_PROXY_TIME_HEADER``, e.g. nginx ``X-Request-Start: t=$msec``), that
earlier time is used instead — but only if it is plausible: not in the future and not older than
``TRUSTED_PROXY_TIME_MAX_AGE`` seconds before our own stamp (a forged or stale header cannot move a
bid back in time by more than that, and the header is only trusted when it is configured, i.e. set
by our proxy, which must overwrite any client-sent value).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from flask import has_request_context, request

from marketplace import clock

ENVIRON_KEY = "marketplace.received_at"
_arrival = threading.local()  # the web server's note of the current request's arrival, per thread


def note_arrival(at: datetime | None) -> None:
    """The web server (marketplace.serving) tells the thread that handles a request when it arrived;
    None after the request."""
    _arrival.at = at


def parse_request_start(value: str | None) -> datetime | None:
    """``t=1700000000.123`` or ``1700000000.123`` (seconds; milli- and microseconds are recognised
    by their size) as an aware UTC datetime, or None when it is not such a number."""
    if not value:
        return None
    text = value.strip()
    if text.startswith("t="):
        text = text[2:]
    if not text or len(text) > 24 or not text.replace(".", "", 1).isdigit():
        return None
    number = float(text)
    if number > 1e14:  # microseconds
        number /= 1e6
    elif number > 1e11:  # milliseconds
        number /= 1e3
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        return None


class ReceivedAt:
    """WSGI middleware: ``environ["marketplace.received_at"]``, the moment the request arrived."""

    def __init__(self, wsgi_app, header: str | None = None, max_age_seconds: float = 30.0):
        self.wsgi_app = wsgi_app
        self.environ_header = "HTTP_" + header.upper().replace("-", "_") if header else None
        self.max_age = timedelta(seconds=max_age_seconds)

    def __call__(self, environ, start_response):
        ours = clock.now()
        noted = getattr(_arrival, "at", None)
        if noted is not None and ours - self.max_age <= noted <= ours:
            ours = noted
        received = ours
        if self.environ_header:
            proxy = parse_request_start(environ.get(self.environ_header))
            if proxy is not None and ours - self.max_age <= proxy <= ours:
                received = proxy
        environ[ENVIRON_KEY] = received
        return self.wsgi_app(environ, start_response)


def received_at() -> datetime:
    """When the current request arrived (the platform clock outside a request)."""
    if has_request_context():
        stamped = request.environ.get(ENVIRON_KEY)
        if stamped is not None:
            return stamped
    return clock.now()
