"""Procurement files are kept at least 15 years (GPL 42): the rows of the record are never deleted.

Each domain package lists its retained models (``RETAINED`` in its ``retention.py``) and, for the few
that a user may still take back while they are a draft, the rule that says when (``REMOVABLE``);
``create_app`` registers them (:func:`register`) and installs the guards once (:func:`install`):

- a row of a retained model is deleted only when the verb removing it called :func:`permit_removal`
  first, which asks that model's draft-stage rule; any other ORM delete (``session.delete``, a
  ``delete-orphan`` cascade, an ORM ``delete()`` statement) raises :class:`RetentionError`;
- rows of an append-only model (the audit events) are neither updated nor deleted through the ORM.

What is not removable is marked withdrawn or superseded by its verb instead (docs/audit.md,
"Retention"). Stored files are never deleted by the application. A raw ``TRUNCATE`` or SQL past the
ORM is outside these guards (the hash chain and ``flask audit verify`` are the check there).

This module knows no domain model: domains register theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, object_session

from marketplace.extensions import db

_PERMITTED = "retention.permitted_removals"

_retained: set[type] = set()
_append_only: set[type] = set()
_removable: dict[type, Callable[[object], bool]] = {}


class RetentionError(RuntimeError):
    """A row of the procurement record was about to be deleted (or an audit event changed): a bug."""


def register(
    retained: Iterable[type],
    removable: Mapping[type, Callable[[object], bool]] | None = None,
    append_only: Iterable[type] = (),
) -> None:
    """A package's retained models, the draft-stage rule of those a verb may remove, its append-only
    models. Registering again is harmless (tests build many apps)."""
    _retained.update(retained)
    _append_only.update(append_only)
    _retained.update(_append_only)
    _removable.update(removable or {})


def _registered(cls: type, models: set[type]) -> type | None:
    return next((m for m in cls.__mro__ if m in models), None)


def is_retained(obj_or_cls) -> bool:
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return _registered(cls, _retained) is not None


def removable(obj) -> bool:
    """Whether ``obj`` may still be removed: not retained, or its model's draft-stage rule allows it."""
    model = _registered(type(obj), _retained)
    if model is None:
        return True
    rule = _removable.get(model)
    return rule is not None and bool(rule(obj))


def permit_removal(obj) -> None:
    """Called by the verb that removes ``obj`` before it is deleted (a draft-stage removal): the
    deletion passes the guard. Raises :class:`RetentionError` when ``obj`` is part of the record."""
    if not removable(obj):
        raise RetentionError(f"{type(obj).__name__} {inspect(obj).identity} is retained (GPL 42)")
    session = object_session(obj) or db.session()
    session.info.setdefault(_PERMITTED, set()).add(inspect(obj).identity_key)


def _refuse_delete(mapper, connection, target) -> None:
    if not is_retained(target):
        return
    session = object_session(target)
    permitted = session.info.get(_PERMITTED, set()) if session is not None else set()
    key = inspect(target).identity_key
    if key not in permitted or _registered(type(target), _append_only):
        raise RetentionError(
            f"{type(target).__name__} {inspect(target).identity} is part of the procurement record "
            "and is kept at least 15 years (GPL 42): mark it withdrawn or superseded instead"
        )
    permitted.discard(key)


def _refuse_update(mapper, connection, target) -> None:
    if _registered(type(target), _append_only):
        raise RetentionError(f"{type(target).__name__} rows are append-only")


def _refuse_bulk(state) -> None:
    """ORM ``delete()`` of retained rows and ``update()`` of append-only rows, as statements."""
    if not (state.is_delete or state.is_update):
        return
    mapper = state.bind_mapper
    if mapper is None:
        return
    cls = mapper.class_
    if state.is_delete and is_retained(cls):
        raise RetentionError(f"bulk delete of {cls.__name__} rows: they are kept (GPL 42)")
    if state.is_update and _registered(cls, _append_only):
        raise RetentionError(f"bulk update of {cls.__name__} rows: they are append-only")


def _clear(session, *_args) -> None:
    session.info.pop(_PERMITTED, None)


def install() -> None:
    """The guards, once per process (mapper events on every model, session events on every session)."""
    if event.contains(db.Model, "before_delete", _refuse_delete):
        return
    event.listen(db.Model, "before_delete", _refuse_delete, propagate=True)
    event.listen(db.Model, "before_update", _refuse_update, propagate=True)
    event.listen(Session, "do_orm_execute", _refuse_bulk)
    event.listen(Session, "after_commit", _clear)
    event.listen(Session, "after_rollback", _clear)
