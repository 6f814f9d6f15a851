"""Domain errors and the HTTP error handlers.

Services raise :class:`RuleViolation` when a request breaks a procurement rule; views turn it into a
flashed message or a 4xx JSON body. Nothing a user can type reaches a 500.

Under ``/api/`` every error is ``application/problem+json`` (RFC 9457): ``type``, ``title``, ``status``,
``detail``, ``instance`` and, for invalid input, ``errors`` (``{"field": ["message", ...]}``). An
``abort(status, message=..., errors=...)`` of flask-smorest (webargs) fills ``detail`` and ``errors``; a
:class:`RuleViolation` (an :class:`~marketplace.core.schemas.InputErrors` too) left to the handler is a 422.
"""

from __future__ import annotations

import json
import logging

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


class RuleViolation(Exception):
    """A rule of the procedure was broken. ``field`` names the form field it concerns, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotPermitted(Exception):
    pass


def _wants_json() -> bool:
    return request.path.startswith("/api/")


PROBLEM_JSON = "application/problem+json"
# webargs names where an input came from; the problem's ``errors`` are keyed by the field alone.
_LOCATIONS = {"json", "query", "querystring", "form", "headers", "cookies", "files", "view_args", "path"}


def _titles():
    return {
        400: _("Bad request"),
        401: _("Authentication required"),
        403: _("Forbidden"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        413: _("Upload too large"),
        415: _("Unsupported media type"),
        422: _("Invalid input"),
        429: _("Too many requests"),
        500: _("Internal server error"),
    }


def _explanations():
    return {
        400: _("The request could not be understood. Please check what you entered and try again."),
        401: _("Send a valid API token in the Authorization header (Bearer)."),
        403: _("You do not have permission to do this."),
        404: _("The page or record you asked for does not exist."),
        405: _("This address does not accept that kind of request."),
        413: _("The uploaded file is larger than the limit."),
        422: _("Some values are not valid: see errors."),
        429: _("Too many attempts. Please wait a minute and try again."),
        500: _("Something went wrong on our side. The error has been logged."),
    }


def field_errors(messages) -> dict[str, list[str]]:
    """Validation messages as ``{"field": ["message", ...]}`` (webargs' location level dropped, nested
    fields dotted: ``"rows.3.service_date"``)."""
    out: dict[str, list[str]] = {}

    def walk(value, prefix: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                key = str(key)
                walk(
                    inner,
                    prefix if not prefix and key in _LOCATIONS else f"{prefix}.{key}" if prefix else key,
                )
        elif isinstance(value, list | tuple) and not all(isinstance(v, str) for v in value):
            for inner in value:
                walk(inner, prefix)
        else:
            items = value if isinstance(value, list | tuple) else [value]
            out.setdefault(prefix or "_schema", []).extend(str(m) for m in items)

    walk(messages, "")
    return out


def problem(code: int, detail: str | None = None, errors=None, headers=None):
    """An RFC 9457 problem response (the API's every error)."""
    body = {
        "type": "about:blank",
        "title": str(_titles().get(code, _("Error"))),
        "status": code,
        "detail": str(detail or _explanations().get(code, "") or _titles().get(code, _("Error"))),
        "instance": request.path,
    }
    if errors:
        body["errors"] = field_errors(errors)
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=code, mimetype=PROBLEM_JSON
    )
    for name, value in (headers or {}).items() if isinstance(headers, dict) else headers or []:
        response.headers[name] = value
    return response


def render_error(code: int, message: str | None = None, errors=None, headers=None):
    if _wants_json():
        return problem(code, message, errors, headers)
    title = _titles().get(code, _("Error"))
    message = message or _explanations().get(code, "")
    return render_template("errors/error.html", code=code, title=title, message=message), code


def _internal_error(exc: InternalServerError):
    """A 500 raised outside a view (an ``after_request`` commit, say): logged with its cause."""
    log.error("internal error on %s %s", request.method, request.path, exc_info=exc.original_exception or exc)
    return render_error(500)


def register_error_handlers(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(
            400, _("The form expired or was not sent from this site. Reload the page and try again.")
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        custom = exc.description if getattr(exc, "_marketplace_message", False) else None
        if not _wants_json():
            return render_error(exc.code, custom)
        data = getattr(exc, "data", None) or {}  # flask-smorest's (webargs') abort
        headers = dict(exc.get_headers())
        headers.pop("Content-Type", None)
        headers.update(data.get("headers") or {})
        errors = data.get("errors") or data.get("messages")
        return problem(exc.code, data.get("message") or custom, errors, headers)

    @app.errorhandler(RuleViolation)
    def rule_violation(exc: RuleViolation):
        if not _wants_json():  # a web view lets no rule violation through; if one did, it is a bug
            return unhandled(exc)
        from marketplace.extensions import db

        db.session.rollback()
        errors = getattr(exc, "errors", None) or {exc.field or "_schema": [exc.message]}
        return problem(422, exc.message, errors)

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):
        from marketplace.extensions import db

        log.exception("unhandled error on %s %s", request.method, request.path)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001, S110 - best effort; we're already failing
            pass
        return render_error(500)

    app.register_error_handler(InternalServerError, _internal_error)
