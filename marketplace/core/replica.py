"""Reads from a PostgreSQL read replica, when ``DATABASE_REPLICA_URL`` is set (docs/deployment.md).

The replica is the second engine of Flask-SQLAlchemy (bind key ``replica``). The session routes a
statement to it only while :data:`ROUTED` is set, which happens in two places:

- anonymous GET and HEAD requests to the public blueprints (``REPLICA_BLUEPRINTS``: the tender search
  and pages, transparency, open data). An anonymous visitor may see a page a second behind; a signed-in
  user, who may just have changed something, always reads the primary;
- exports, once their request or task has recorded what it exports (the rows are read from the
  replica; the audit event and the task's state are written to the primary).

Anything that would write (a flush, pending changes) goes to the primary whatever the flag says, and
without ``DATABASE_REPLICA_URL`` everything goes to the primary.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, current_app, request
from flask_login import current_user
from flask_sqlalchemy.session import Session

BIND = "replica"
ROUTED: ContextVar[bool] = ContextVar("marketplace_replica_reads", default=False)


class RoutingSession(Session):
    """Flask-SQLAlchemy's session, sending reads to the replica while :data:`ROUTED` is set."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and ROUTED.get() and not (self._flushing or self.new or self.dirty or self.deleted):
            engine = self._db.engines.get(BIND)
            if engine is not None:
                return engine
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def configured(app: Flask) -> bool:
    return BIND in (app.config.get("SQLALCHEMY_BINDS") or {})


@contextmanager
def reads() -> Iterator[None]:
    """Route the reads of this block to the replica (the primary when there is none)."""
    token = ROUTED.set(True)
    try:
        yield
    finally:
        ROUTED.reset(token)


def routed(chunks: Iterator) -> Iterator:
    """A streamed response's chunks, read from the replica (the generator runs after the view returned)."""
    with reads():
        yield from chunks


def _route_public_reads() -> None:
    if (
        request.method in ("GET", "HEAD")
        and request.blueprint in current_app.config["REPLICA_BLUEPRINTS"]
        and not current_user.is_authenticated
    ):
        ROUTED.set(True)


def _unroute(_exc=None) -> None:
    ROUTED.set(False)


def init_app(app: Flask) -> None:
    if configured(app):
        app.before_request(_route_public_reads)
        app.teardown_request(_unroute)
