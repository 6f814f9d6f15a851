"""Logs: a request id on every request and every log record it makes, one JSON object per line in
production (``LOG_FORMAT=json``), and one line per request (method, path with its secrets redacted,
status, duration, user).

The id is the incoming ``X-Request-ID`` when it is a short safe token (a proxy's), else a new one; it
is returned in the ``X-Request-ID`` response header. Paths never carry a link's secret (ASVS 7.1.1):
a route argument named in ``SECRET_ARGS`` is written as ``[redacted]``, and the query string is left out.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

log = logging.getLogger("marketplace.request")

HEADER = "X-Request-ID"
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")
# Route arguments that are secrets: /auth/verify/<token>, /auth/reset/<token>, invitation links.
SECRET_ARGS = frozenset({"token", "invitation_token", "invite_token", "key"})
REDACTED = "[redacted]"
JSON_FIELDS = {"asctime": "time", "levelname": "level", "name": "logger"}
_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d"


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


def _install_record_factory() -> None:
    """Every log record gets ``request_id`` (None outside a request), whichever logger makes it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_marketplace_request_id", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return record

    factory._marketplace_request_id = True
    logging.setLogRecordFactory(factory)


def json_formatter() -> logging.Formatter:
    return JsonFormatter(_FORMAT, rename_fields=JSON_FIELDS, timestamp=False)


def configure_logging(app: Flask) -> None:
    level = getattr(logging, str(app.config["LOG_LEVEL"]).upper(), logging.INFO)
    _install_record_factory()
    root = logging.getLogger()
    if app.config.get("LOG_FORMAT") == "json":
        # One handler of ours on the root logger, writing JSON lines to stderr (gunicorn collects it).
        for handler in list(root.handlers):
            if getattr(handler, "_marketplace_json", False):
                root.removeHandler(handler)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(json_formatter())
        handler._marketplace_json = True
        root.addHandler(handler)
        root.setLevel(level)
    else:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("marketplace").setLevel(level)


def request_id_from(header: str | None) -> str:
    if header and SAFE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def logged_path() -> str:
    """The request's path with any secret route argument replaced, never its query string."""
    path = request.path
    for name, value in (request.view_args or {}).items():
        if name in SECRET_ARGS and value:
            path = path.replace(str(value), REDACTED)
    return path


def init_app(app: Flask) -> None:
    @app.before_request
    def _start():
        g._started = time.perf_counter()
        g.request_id = request_id_from(request.headers.get(HEADER))

    @app.after_request
    def _log_request(response):
        request_id = g.get("request_id") or request_id_from(None)
        response.headers[HEADER] = request_id
        started = g.pop("_started", None)
        if started is not None and not request.path.startswith("/static/"):
            from flask_login import current_user

            user = current_user.get_id() if current_user and current_user.is_authenticated else None
            elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
            path = logged_path()
            log.info(
                "%s %s %s %.1fms user=%s",
                request.method,
                path,
                response.status_code,
                elapsed_ms,
                user or "-",
                extra={
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": elapsed_ms,
                    "user_id": user,
                },
            )
        return response
