"""The arrival stamp a bid is judged by (marketplace.core.received; docs/bidding.md)."""

from __future__ import annotations

import socket
import sys
from datetime import UTC, datetime, timedelta

import pytest

from marketplace import clock
from marketplace.core.received import ENVIRON_KEY, ReceivedAt, parse_request_start

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("t=1773108000.123", datetime(2026, 3, 10, 2, 0, 0, 123000, tzinfo=UTC)),
        ("1773108000", datetime(2026, 3, 10, 2, 0, tzinfo=UTC)),
        ("1773108000123", datetime(2026, 3, 10, 2, 0, 0, 123000, tzinfo=UTC)),  # milliseconds
        ("1773108000123456", datetime(2026, 3, 10, 2, 0, 0, 123456, tzinfo=UTC)),  # microseconds
        ("", None),
        ("t=", None),
        ("yesterday", None),
        ("-5", None),
        ("1e30", None),
        ("9" * 30, None),
        ("t=1.2.3", None),
    ],
)
def test_parse_request_start(value, expected):
    assert parse_request_start(value) == expected


def _stamp(header_name, header_value, max_age=30):
    seen = {}

    def app(environ, start_response):
        seen["at"] = environ[ENVIRON_KEY]
        return []

    environ = {}
    if header_value is not None:
        environ["HTTP_X_REQUEST_START"] = header_value
    ReceivedAt(app, header=header_name, max_age_seconds=max_age)(environ, lambda *a: None)
    return seen["at"]


def test_own_stamp_without_a_configured_header():
    with clock.frozen(NOW):
        # A client-sent header is ignored when no proxy header is configured.
        assert _stamp(None, "t=1000000000") == NOW


def test_the_proxy_header_is_used_when_plausible():
    earlier = NOW - timedelta(seconds=2)
    with clock.frozen(NOW):
        assert _stamp("X-Request-Start", f"t={earlier.timestamp():.3f}") == earlier


@pytest.mark.parametrize("offset", [timedelta(seconds=31), timedelta(days=1), -timedelta(seconds=1)])
def test_a_stale_or_future_proxy_header_is_ignored(offset):
    with clock.frozen(NOW):
        assert _stamp("X-Request-Start", f"t={(NOW - offset).timestamp():.3f}") == NOW
        assert _stamp("X-Request-Start", "garbage") == NOW
        assert _stamp("X-Request-Start", None) == NOW


def test_requests_carry_the_stamp(app, client):
    from flask import request

    from marketplace.core.received import received_at

    with app.test_request_context(environ_base={ENVIRON_KEY: NOW}):
        assert request.environ[ENVIRON_KEY] == NOW and received_at() == NOW
    with clock.frozen(NOW + timedelta(hours=1)):
        assert received_at() == NOW + timedelta(hours=1)  # outside a request: the clock


def test_the_servers_note_of_the_arrival_is_used_when_plausible():
    from marketplace.core.received import note_arrival

    arrived = NOW - timedelta(milliseconds=800)  # waited in the worker's queue for a thread
    try:
        with clock.frozen(NOW):
            note_arrival(arrived)
            assert _stamp(None, None) == arrived
            note_arrival(NOW + timedelta(seconds=1))  # never later than our own clock
            assert _stamp(None, None) == NOW
            note_arrival(NOW - timedelta(minutes=5))  # nor older than the bound
            assert _stamp(None, None) == NOW
    finally:
        note_arrival(None)
    with clock.frozen(NOW):
        assert _stamp(None, None) == NOW


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kernel receive timestamps are Linux only")
def test_the_kernel_stamps_when_the_request_bytes_arrived():
    """The gunicorn worker (marketplace.serving) reads the arrival from the kernel, not from its own
    clock when it gets round to the connection; peeking leaves the bytes for the HTTP parser."""
    import time

    from marketplace.serving import SO_TIMESTAMPNS, kernel_arrival

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)  # as the worker does; accepted ones inherit it
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    # The kernel turns receive timestamps on a moment after the first socket asks for them (a deferred
    # static key): the worker sets the option at start, long before requests; here a few connections
    # may pass before the stamps appear.
    with listener:
        for _attempt in range(50):
            with socket.create_connection(listener.getsockname()) as client:
                conn, _ = listener.accept()
                with conn:
                    assert kernel_arrival(conn) is None  # nothing has arrived yet
                    sent = time.time()
                    client.sendall(b"POST /bids/1/submit HTTP/1.1\r\n\r\n")
                    time.sleep(0.3)  # the worker is busy
                    peeked_at = time.time()
                    arrived = kernel_arrival(conn)
                    if arrived is None:
                        continue
                    assert sent - 0.01 <= arrived.timestamp() < peeked_at - 0.2
                    assert conn.recv(100).startswith(b"POST /bids/1/submit")  # still there for the parser
                    return
    pytest.fail("the kernel never stamped the arrival")
