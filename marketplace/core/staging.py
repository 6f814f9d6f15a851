"""Staged uploads: files kept across a form that is shown again with errors (issue 20).

A file that passed the upload checks (``core.filetypes``, ``core.documents``, the antivirus) is stored
at once, as every upload is; when the form then fails on another field, the page is shown again with
a signed token per stored file ("already uploaded: name"), so the user does not choose the file again.
A later successful submission adopts the files of the tokens it carries (their rows then refer to the
stored files). A staged file that is never adopted is referred to by no row: the ``sweep-uploads`` job
(``core.orphans``) deletes it once older than ``UPLOAD_ORPHAN_HOURS``. A token is accepted for half
that time only, so the file of a valid token is always still there.

A token is signed with the app's secret (it cannot be forged or changed) and bound to its owner (the
signed-in user, or the browser session of an anonymous registration) and to its purpose (the form, and
the tender for a bid's attachment, which is encrypted with that tender's context).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from flask import current_app, request, session
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from marketplace.core.documents import StoredFile, path_for
from marketplace.core.errors import RuleViolation

_SALT = "marketplace.staged-upload"
_SESSION_OWNER = "_staging_owner"
FIELD_PREFIX = "staged-"  # the form field that carries a file field's tokens: staged-<field name>


@dataclass(frozen=True)
class Staged:
    token: str
    stored: StoredFile


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def max_age_seconds() -> int:
    """How long a token is accepted: half the time after which the sweep may delete an unadopted file."""
    return max(60, int(current_app.config["UPLOAD_ORPHAN_HOURS"]) * 3600 // 2)


def _owner() -> str:
    if getattr(current_user, "is_authenticated", False):
        return f"user:{current_user.get_id()}"
    owner = session.get(_SESSION_OWNER)
    if not owner:
        owner = session[_SESSION_OWNER] = secrets.token_urlsafe(16)
    return f"session:{owner}"


def token_for(stored: StoredFile, purpose: str) -> str:
    return _serializer().dumps({"owner": _owner(), "purpose": purpose, "file": asdict(stored)})


def read_token(token: str, purpose: str) -> Staged | None:
    """The staged file of a token, or None when it is not valid for this owner and purpose (forged,
    changed, expired, another user's or another form's) or its file is gone."""
    try:
        payload = _serializer().loads(token, max_age=max_age_seconds())
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(payload, dict) or payload.get("purpose") != purpose or payload.get("owner") != _owner():
        return None
    try:
        stored = StoredFile(**payload["file"])
    except (KeyError, TypeError):
        return None
    if not path_for(stored.storage_key).is_file():
        return None
    return Staged(token, stored)


def collect(
    field, purpose: str, store: Callable[[object], StoredFile], limit: int = 20
) -> tuple[list[Staged], list[str]]:
    """A file field's staged files: those of the tokens the form carried back (still ticked), then the
    new uploads, each checked and stored now. Returns them and the messages of refused uploads (a
    refused file is not staged: the user chooses another)."""
    staged: list[Staged] = []
    seen: set[str] = set()
    for token in request.form.getlist(FIELD_PREFIX + field.name)[:limit]:
        item = read_token(token, purpose)
        if item is not None and item.stored.storage_key not in seen:
            seen.add(item.stored.storage_key)
            staged.append(item)
    errors: list[str] = []
    data = field.data if isinstance(field.data, list) else [field.data]
    for upload in _uploads(data):
        try:
            stored = store(upload)
        except RuleViolation as exc:
            errors.append(exc.message)
            continue
        if stored.storage_key not in seen:
            seen.add(stored.storage_key)
            staged.append(Staged(token_for(stored, purpose), stored))
    if len(staged) > limit:
        errors.append(_("At most %(n)d files at a time.", n=limit))
        staged = staged[:limit]
    return staged, errors


def collect_posted(
    form, field, purpose: str, store: Callable[[object], StoredFile], limit: int = 20
) -> list[Staged]:
    """:func:`collect` for a form already validated: nothing on a GET or a request that failed its
    CSRF check (no file of a forged request is stored); a refused upload's message goes on ``field``."""
    if request.method != "POST" or "csrf_token" in form.errors:
        return []
    staged, errors = collect(field, purpose, store, limit)
    if errors:
        if isinstance(field.errors, tuple):
            field.errors = list(field.errors)
        field.errors.extend(errors)
    return staged


def _uploads(files: Iterable) -> list:
    return [f for f in files if getattr(f, "filename", "")]


def stored_files(staged: Iterable[Staged]) -> list[StoredFile]:
    return [s.stored for s in staged]
