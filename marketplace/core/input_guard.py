"""Control characters are refused at the edge, before any view, form or query sees them.

A NUL byte cannot be stored in a PostgreSQL text column (and on SQLite it would be stored, then
break every export and page that shows it); the other C0 and C1 controls have no place in a form
either. Every request's path, query string, form fields (names and values, uploaded files' names)
and JSON strings are checked; tab, CR and LF are allowed in values (multi-line text), and the
single-line text fields refuse them in their own schemas (``core.schemas.Text``). The answer is a
400 with a clear message, and nothing is changed.
"""

from __future__ import annotations

import re

from flask import Flask, request
from flask_babel import gettext as _

from marketplace.core.errors import render_error

# C0 controls but tab, LF and CR; DEL; C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# In a path, a query-string key or a form field name no control character at all.
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MAX_DEPTH = 32


def _json_strings(value, depth: int = 0):
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _json_strings(key, depth + 1)
            yield from _json_strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item, depth + 1)


def hostile_part() -> str | None:
    """Where the current request holds a control character ("path", "query", "form", "json")."""
    if _ANY_CONTROL.search(request.path):
        return "path"
    for key, value in request.args.items(multi=True):
        if _ANY_CONTROL.search(key) or _CONTROL.search(value):
            return "query"
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in request.form.items(multi=True):
                if _ANY_CONTROL.search(key) or _CONTROL.search(value):
                    return "form"
            for key, upload in request.files.items(multi=True):
                if _ANY_CONTROL.search(key) or _ANY_CONTROL.search(upload.filename or ""):
                    return "form"
        elif request.is_json:
            payload = request.get_json(silent=True)
            if any(_CONTROL.search(text) for text in _json_strings(payload)):
                return "json"
    return None


def refuse_control_characters():
    if hostile_part() is None:
        return None
    return render_error(
        400,
        _(
            "The request contains control characters (such as a NUL byte), which no field accepts. "
            "Remove them and try again."
        ),
    )


def init_app(app: Flask) -> None:
    app.before_request(refuse_control_characters)
