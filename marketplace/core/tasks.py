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

A task may also name ``retry`` delays (RQ retries it that many times when it raises) and a ``local``
function: without ``REDIS_URL`` the committed tasks that have one are handed to it together, right
after the commit (mail: one SMTP connection for the batch), instead of waiting for the context's end.
Mail (``core.notifications``) uses this same hook.
"""

from __future__ import annotations

import logging
from collections import defaultdict
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
    retry: tuple[int, ...] = ()  # seconds before each retry on RQ (as many retries as delays)
    local: str = ""  # without Redis: "module:function" given the args of all such tasks after the commit


def enqueue(
    path: str,
    *args,
    queue: str = "default",
    timeout: int = 3600,
    retry: tuple[int, ...] = (),
    local: str = "",
) -> None:
    """Run ``path(*args)`` in the background once the current transaction commits."""
    session = db.session()
    # Tagged with the innermost transaction, so a rolled-back savepoint takes its own tasks with it.
    transaction = session.get_nested_transaction() or session.get_transaction()
    task = Task(path, args, queue, timeout, tuple(retry), local)
    session.info.setdefault(_PENDING, []).append((transaction, task))


def pending(session: Session | None = None, path: str | None = None) -> list[Task]:
    """The tasks waiting for the commit of ``session`` (default: the current one), of ``path`` or all."""
    queued = (session or db.session()).info.get(_PENDING, [])
    return [task for _tx, task in queued if path is None or task.path == path]


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


def _run_local(tasks: list[Task]) -> None:
    """Without Redis: each ``local`` function gets the args of its committed tasks, now."""
    batches: dict[str, list[tuple]] = defaultdict(list)
    for task in tasks:
        batches[task.local].append(task.args)
    for local, batch in batches.items():
        try:
            import_string(local.replace(":", "."))(batch)
        except Exception:  # noqa: BLE001 - the transaction committed; its side effect is only logged
            log.exception("task %s failed for %d item(s)", local, len(batch))


def _hand_over(tasks: list[Task]) -> None:
    if not current_app.config.get("REDIS_URL"):
        _run_local([task for task in tasks if task.local])
        g.setdefault(_READY, []).extend(task for task in tasks if not task.local)
        return
    from rq import Retry

    connection = redis_connection()
    for task in tasks:
        try:
            rq_queue(task.queue, connection).enqueue(
                task.path.replace(":", "."),
                *task.args,
                job_timeout=task.timeout,
                result_ttl=3600,
                retry=Retry(max=len(task.retry), interval=list(task.retry)) if task.retry else None,
            )
        except Exception:  # noqa: BLE001 - the request committed; the task stays queued in its table
            log.exception("could not enqueue %s%r", task.path, task.args)
            if task.local:  # no queue to hold it (a mail): do it here rather than lose it
                _run_local([task])


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


def install_hooks() -> None:
    """Listen on every ORM session (Flask-SQLAlchemy's and the test fixture's). Idempotent."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)


def init_app(app: Flask) -> None:
    """Listen on every ORM session, and run in-process tasks when an app context ends. Idempotent."""
    install_hooks()
    if _teardown not in app.teardown_appcontext_funcs:
        app.teardown_appcontext(_teardown)


def _teardown(_exc=None) -> None:
    run_ready()
