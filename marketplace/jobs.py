"""APScheduler wiring: each job calls a service, commits, and records its run."""

from flask import Blueprint, Flask

bp = Blueprint("jobs", __name__)


def init_app(app: Flask) -> None:
    """Register the ``jobs`` CLI group and, when SCHEDULER_ENABLED, start the scheduler."""
