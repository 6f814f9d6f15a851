"""The transaction edge: one commit per request, per job item and per CLI command.

Services never commit (STYLE.md rule 2); they change rows and record audit events inside whatever
transaction is open. The edge decides its fate:

- **a request** commits once, after the view returned a response below 400, unless something doomed
  it (a rule violation shown on the page); any error response or exception rolls it back. GET, HEAD
  and OPTIONS always roll back: reading a page never changes the procurement.
- **a job item** (see :mod:`marketplace.jobs.runner`) commits after the item and rolls back alone
  when it fails, so one bad tender neither undoes nor blocks the others.
- **a CLI command** decorated with :func:`command` commits when it returns and rolls back when it
  raises.

Mail and other side effects queued during the transaction leave only after its commit (the
``after_commit`` hooks in :mod:`marketplace.core.notifications`); a rollback discards them.

A record that must be kept whatever became of the request (an API token's use, docs/api.md) is
registered with :func:`afterwards`: the edge runs it once the request's own transaction has ended
(committed or rolled back), in a short transaction of its own, and commits that. So a GET still
changes nothing in its own transaction, and the record survives a refused or failed request.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, flash, g, has_request_context, request
from sqlalchemy.exc import IntegrityError

from marketplace.core.errors import RuleViolation
from marketplace.core.web import apply_violation
from marketplace.extensions import db

log = logging.getLogger(__name__)

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DOOMED = "_transaction_doomed"
_AFTERWARDS = "_transaction_afterwards"
# Whether the transactions begun now may write: False only while a read-only request is served. On
# SQLite a writing transaction begins IMMEDIATE (it queues for the write lock at BEGIN, under the busy
# timeout, instead of failing when it upgrades a read lock later).
_WRITES_EXPECTED: ContextVar[bool] = ContextVar("writes_expected", default=True)


def writes_expected() -> bool:
    return _WRITES_EXPECTED.get()


def flush_unique(message: str, field: str | None = None) -> None:
    """Flush the pending inserts in a savepoint; a unique constraint lost to a concurrent request (the
    same row inserted at the same moment) becomes a :class:`RuleViolation` with ``message`` instead of
    a 500. Only that savepoint is undone; the rule violation dooms the rest of the request."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise RuleViolation(message, field=field) from None


def begin_request() -> None:
    """``before_request``: note whether this request may write (see :func:`writes_expected`)."""
    _WRITES_EXPECTED.set(request.method not in READ_ONLY_METHODS)


def doom() -> None:
    """Make this request end in a rollback whatever its response (a rule violation was shown)."""
    if has_request_context():
        setattr(g, _DOOMED, True)


def abandon() -> None:
    """Roll back now, and keep the request from committing anything done after this point."""
    db.session.rollback()
    doom()


def run_verb(form, verb: Callable[[], object], default_field: str | None = None) -> bool:
    """Run a service verb as part of this request's transaction.

    True when it succeeded (the edge commits it with the response). On a rule violation nothing is
    kept: the transaction is abandoned, the message goes next to its field (or is flashed when there
    is no form) and the result is False.
    """
    try:
        verb()
    except RuleViolation as exc:
        abandon()
        if form is None:
            flash(exc.message, "danger")
        else:
            apply_violation(form, exc, default_field)
        return False
    return True


def afterwards(record: Callable[[int], None]) -> None:
    """Run ``record(status)`` after this request's transaction ended, in a transaction of its own that the
    edge commits (``status``: the response's). For a record kept whatever became of the request."""
    if has_request_context():
        g.setdefault(_AFTERWARDS, []).append(record)


def end_request(response):
    """``after_request``: commit a successful writing request, roll back everything else."""
    if request.method in READ_ONLY_METHODS or response.status_code >= 400 or getattr(g, _DOOMED, False):
        db.session.rollback()
    else:
        db.session.commit()
    _run_afterwards(response.status_code)
    return response


def _run_afterwards(status: int) -> None:
    pending = g.pop(_AFTERWARDS, None)
    if not pending:
        return
    token = _WRITES_EXPECTED.set(True)  # SQLite: BEGIN IMMEDIATE, wait for the write lock at the start
    try:
        for record in pending:
            record(status)
        db.session.commit()
    except Exception:  # noqa: BLE001 - the response stands; the record is lost and said so
        db.session.rollback()
        log.warning("could not keep a record after the request", exc_info=True)
    finally:
        _WRITES_EXPECTED.reset(token)


def command(fn: Callable) -> Callable:
    """A CLI command's edge: commit when the command returns, roll back when it raises.

    ``SystemExit`` with a non-zero code (``sys.exit(2)`` after an error message) rolls back too.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except SystemExit as exc:
            if exc.code in (None, 0):
                db.session.commit()
            else:
                db.session.rollback()
            raise
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return result

    return wrapper


def init_app(app: Flask) -> None:
    app.before_request(begin_request)
    app.after_request(end_request)


# --- a background task's edges (audit/export_worker.py) ------------------------------------------------


@contextmanager
def reading():
    """Begin the transaction as a read-only request would (SQLite: deferred, no write lock)."""
    token = _WRITES_EXPECTED.set(False)
    try:
        yield
    finally:
        _WRITES_EXPECTED.reset(token)


def commit_task_step() -> None:
    """A background task's unit of work is done: commit it (each step of a task is its own edge, as a
    job item is)."""
    db.session.commit()


def commit_beside(statement) -> None:
    """Run one statement on a connection of its own and commit it at once, outside the current
    transaction (a long task's progress, which its own transaction would only show at the end)."""
    with db.engine.connect() as connection:
        connection.execute(statement)
        connection.commit()
