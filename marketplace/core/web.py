"""Small helpers every blueprint's views share."""

from __future__ import annotations

from flask import abort, current_app, flash, request
from werkzeug.exceptions import default_exceptions

from marketplace.core.errors import RuleViolation
from marketplace.core.schemas import InputErrors, apply_to_form
from marketplace.extensions import db


def form_status(form) -> int:
    """400 when the form shows errors (so clients and tests can tell), else 200."""
    return 400 if getattr(form, "form_errors", None) or any(field.errors for field in form) else 200


def apply_violation(form, exc: RuleViolation, default_field: str | None = None) -> None:
    """Show a service-layer rule violation next to the field it concerns (or as a form error); an
    input schema's :class:`~marketplace.core.schemas.InputErrors` shows every field's messages."""
    if isinstance(exc, InputErrors):
        apply_to_form(form, exc)
        return
    name = exc.field if exc.field and hasattr(form, exc.field) else default_field
    if name and hasattr(form, name):
        field = getattr(form, name)
        if isinstance(field.errors, tuple):
            field.errors = list(field.errors)
        field.errors.append(exc.message)
    else:
        form.form_errors.append(exc.message)


def abort_with(code: int, message: str):
    """Abort with an error page that shows ``message`` instead of the generic explanation."""
    exc = default_exceptions[code](message)
    exc._marketplace_message = True  # core.errors shows it
    raise exc


def get_or_404(model, ident):
    """Load by primary key; malformed or unknown ids are a 404, never a 500."""
    try:
        pk = int(ident) if not isinstance(ident, str) or ident.isdigit() else ident
    except (TypeError, ValueError):
        abort(404)
    obj = db.session.get(model, pk)
    if obj is None:
        abort(404)
    return obj


def page_args() -> tuple[int, int]:
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    try:
        per_page = int(request.args.get("per_page", current_app.config["PER_PAGE"]))
    except ValueError:
        per_page = current_app.config["PER_PAGE"]
    per_page = max(1, min(per_page, current_app.config["MAX_PER_PAGE"]))
    return min(page, 100000), per_page


def paginate(query):
    """One page of ``query``, as the request's ``page`` and ``per_page`` arguments ask."""
    page, per_page = page_args()
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def flash_form_errors(form) -> None:
    for errors in form.errors.values():
        for message in errors:
            flash(message, "danger")
