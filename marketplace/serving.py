"""The gunicorn worker of the production setup (deploy/gunicorn.conf.py): threaded, and it notes when
each request reached the server.

With threaded workers a burst is accepted at once, but a request still waits in the worker's queue
until one of its threads is free, and the application only sees it then. This worker asks the kernel
for the moment the request's first bytes arrived on the connection (``SO_TIMESTAMPNS``, set on the
listening sockets and inherited by every accepted one; read with a ``MSG_PEEK`` that leaves the bytes
for the parser) and hands it to the thread that handles the request, for
:class:`marketplace.core.received.ReceivedAt` to stamp the request with. The kernel's stamp does not
depend on when the worker's Python threads get to run: on a busy two-core machine the worker's own
clock reading lagged the arrival by up to 50 ms. Where the kernel gives no stamp (another platform, a
Unix socket), the worker's clock at that moment is used. A bid that reached the server before the
deadline thus counts as received before it, however long the queue (docs/bidding.md).
"""

from __future__ import annotations

import socket
import struct
import sys
from datetime import UTC, datetime

from gunicorn.workers.gthread import ThreadWorker

from marketplace import clock
from marketplace.core.received import note_arrival

# Python does not export the constant; 35 is Linux's SO_TIMESTAMPNS on x86 and ARM (and the SCM_ type
# of the control message it adds). Elsewhere the worker's clock is used.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform.startswith("linux") else None)
_TIMESPEC = struct.Struct("qq")
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 0


def kernel_arrival(sock) -> datetime | None:
    """When the first unread bytes on ``sock`` reached this host (kernel timestamp), or None."""
    if not SO_TIMESTAMPNS or not _ANCILLARY:
        return None
    try:
        _data, ancillary, _flags, _addr = sock.recvmsg(1, _ANCILLARY, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except (OSError, ValueError, AttributeError):
        return None
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack(data[: _TIMESPEC.size])
            if seconds > 0:
                return datetime.fromtimestamp(seconds + nanoseconds / 1e9, UTC)
    return None


class ArrivalStampingWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker, noting each request's arrival."""

    def init_process(self):
        if SO_TIMESTAMPNS:
            for listener in self.sockets:
                try:
                    listener.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                except OSError:  # not a socket that supports it (e.g. a Unix socket on some systems)
                    pass
        super().init_process()

    def enqueue_req(self, conn):
        # Called by the main thread when the connection is readable: a request's first bytes are here
        # (on a new connection, or the next request on a kept-alive one).
        conn.marketplace_arrived_at = kernel_arrival(conn.sock) or clock.now()
        super().enqueue_req(conn)

    def handle(self, conn):
        note_arrival(getattr(conn, "marketplace_arrived_at", None))
        try:
            return super().handle(conn)
        finally:
            note_arrival(None)
