"""Background tasks: a function run outside the request that asked for it.

:func:`enqueue` hands a task (``"package.module:function"`` and its arguments) over only once the
current transaction commits, so the task finds the rows it is to work on; a rollback drops it, as it
drops queued mail (``core.notifications``). Then:

- with ``REDIS_URL`` set, the task goes on an RQ queue in Redis and a worker process runs it:
  ``flask exports worker`` (RQ's ``SimpleWorker`` inside the app, so tasks have its app context; see
  docs in README), several of them for parallel tasks;
- without it (``make run``, the tests), it runs in this process right after the commit, when the
  request's (or command's) app context ends — the response waits for it.

A task function is its own transaction edge (it commits its own work) and records its own failures.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.utils import import_string

from marketplace.extensions import db

log = logging.getLogger("marketplace.tasks")

_PENDING = "pending_tasks"  # session.info: tasks waiting for the commit
_READY = "_ready_tasks"  # g: committed tasks to run in this process


@dataclass(frozen=True)
class Task:
    path: str  # "package.module:function"
    args: tuple
    queue: str
    timeout: int  # seconds a worker lets it run


def enqueue(path: str, *args, queue: str = "default", timeout: int = 3600) -> None:
    """Run ``path(*args)`` in the background once the current transaction commits."""
    session = db.session()
    # Tagged with the innermost transaction, so a rolled-back savepoint takes its own tasks with it.
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((transaction, Task(path, args, queue, timeout)))


def redis_connection():
    from redis import Redis

    return Redis.from_url(current_app.config["REDIS_URL"])


def rq_queue(name: str, connection=None):
    from rq import Queue

    return Queue(name, connection=connection or redis_connection())


def work(queues: list[str], burst: bool = False) -> bool:
    """Run tasks from the RQ ``queues`` in this process and app context (RQ's ``SimpleWorker``: no
    fork, so each task has the app, its configuration and its database pool) until stopped, or until
    the queues are empty with ``burst``."""
    from rq import SimpleWorker

    connection = redis_connection()
    worker = SimpleWorker([rq_queue(name, connection) for name in queues], connection=connection)
    return worker.work(burst=burst)


def _hand_over(tasks: list[Task]) -> None:
    if not current_app.config.get("REDIS_URL"):
        g.setdefault(_READY, []).extend(tasks)
        return
    connection = redis_connection()
    for task in tasks:
        try:
            rq_queue(task.queue, connection).enqueue(
                task.path.replace(":", "."), *task.args, job_timeout=task.timeout, result_ttl=3600
            )
        except Exception:  # noqa: BLE001 - the request committed; the task stays queued in its table
            log.exception("could not enqueue %s%r", task.path, task.args)


def run_ready() -> int:
    """Run the committed tasks waiting in this app context (no ``REDIS_URL``). Returns how many ran."""
    tasks = g.pop(_READY, []) if has_app_context() else []
    for task in tasks:
        module, _, name = task.path.partition(":")
        try:
            import_string(f"{module}.{name}")(*task.args)
        except Exception:  # noqa: BLE001 - a task records its own failure; this one escaped it
            db.session.rollback()
            log.exception("task %s%r failed", task.path, task.args)
    return len(tasks)


def _after_commit(session: Session) -> None:
    # Fired for savepoints too: only the outermost commit hands the tasks over.
    if session.get_nested_transaction() is not None:
        return
    queued = session.info.pop(_PENDING, None)
    if queued and has_app_context():
        _hand_over([task for _tx, task in queued])


def _after_soft_rollback(session: Session, rolled_back) -> None:
    queued = session.info.get(_PENDING)
    if not queued:
        return
    if not rolled_back.nested:
        session.info.pop(_PENDING, None)
        return

    def inside(transaction) -> bool:
        while transaction is not None:
            if transaction is rolled_back:
                return True
            transaction = transaction.parent
        return False

    queued[:] = [(tx, task) for tx, task in queued if not inside(tx)]


def init_app(app: Flask) -> None:
    """Listen on every ORM session, and run in-process tasks when an app context ends. Idempotent."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
    if _teardown not in app.teardown_appcontext_funcs:
        app.teardown_appcontext(_teardown)


def _teardown(_exc=None) -> None:
    run_ready()
