"""Domain errors and the HTTP error handlers.

Services raise :class:`RuleViolation` when a request breaks a procurement rule; views turn it into a
flashed message or a 4xx JSON body. Nothing a user can type reaches a 500.
"""

from __future__ import annotations

import logging

from flask import jsonify, render_template, request
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


def _titles():
    return {
        400: _("Bad request"),
        403: _("Forbidden"),
        404: _("Not found"),
        405: _("Method not allowed"),
        413: _("Upload too large"),
        429: _("Too many requests"),
        500: _("Internal server error"),
    }


def _explanations():
    return {
        400: _("The request could not be understood. Please check what you entered and try again."),
        403: _("You do not have permission to do this."),
        404: _("The page or record you asked for does not exist."),
        405: _("This address does not accept that kind of request."),
        413: _("The uploaded file is larger than the limit."),
        429: _("Too many attempts. Please wait a minute and try again."),
        500: _("Something went wrong on our side. The error has been logged."),
    }


def render_error(code: int, message: str | None = None):
    title = _titles().get(code, _("Error"))
    message = message or _explanations().get(code, "")
    if _wants_json():
        return jsonify(error={"code": code, "title": title, "message": message}), code
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
        return render_error(exc.code, custom)

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
