"""The labels of this package's state machines (see :mod:`marketplace.core.labels`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l  # noqa: F401 - the labels below use it

from marketplace.core.labels import Label  # noqa: F401

LABELS: dict = {}
