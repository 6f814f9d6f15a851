"""An optional virus scan of every upload through clamd, when ``CLAMD_SOCKET`` is set.

clamd's documented INSTREAM command (clamd(8)): ``zINSTREAM\\0``, then the file in chunks each
prefixed by its length as a 4-byte big-endian integer, then a zero length; clamd answers
``stream: OK`` or ``stream: <signature> FOUND`` (or an ``... ERROR``). No maintained Python client
exists on PyPI (clamd and pyclamd are unmaintained), and the protocol is a few lines.

The scan fails closed: a file is refused when clamd finds something, and also when clamd cannot be
reached or answers anything else, so an outage never lets an unscanned file in.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from flask import current_app

CHUNK = 64 * 1024


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    signature: str | None = None  # what clamd found (clean False, reachable)
    error: str | None = None  # why the file could not be scanned (clean False)


def enabled() -> bool:
    return bool(current_app.config.get("CLAMD_SOCKET"))


def _connect(address: str, timeout: float) -> socket.socket:
    if address.startswith("tcp://"):
        host, _sep, port = address[len("tcp://") :].rpartition(":")
        return socket.create_connection((host, int(port)), timeout=timeout)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(address)
    return sock


def scan(data: bytes) -> ScanResult:
    """Scan ``data`` with clamd at ``CLAMD_SOCKET`` (a unix socket path, or ``tcp://host:port``)."""
    address = current_app.config["CLAMD_SOCKET"]
    timeout = float(current_app.config.get("CLAMD_TIMEOUT", 30))
    try:
        with _connect(address, timeout) as sock:
            sock.sendall(b"zINSTREAM\0")
            for start in range(0, len(data), CHUNK):
                chunk = data[start : start + CHUNK]
                sock.sendall(struct.pack("!L", len(chunk)) + chunk)
            sock.sendall(struct.pack("!L", 0))
            reply = b""
            while not reply.endswith(b"\0") and len(reply) < 4096:
                part = sock.recv(4096)
                if not part:
                    break
                reply += part
    except (OSError, ValueError) as exc:
        return ScanResult(False, error=f"clamd unreachable: {exc}")
    answer = reply.rstrip(b"\0\n").decode("utf-8", "replace")
    if answer.endswith(" OK"):
        return ScanResult(True)
    if answer.endswith(" FOUND"):
        signature = answer.split(":", 1)[-1].strip()[: -len(" FOUND")].strip()
        return ScanResult(False, signature=signature or "?")
    return ScanResult(False, error=f"clamd answered {answer[:200]!r}")
