"""Messages stored as a message id and parameters, and rendered in the reader's language.

Audit event summaries and notifications are written once but read by people who use either
language. They are stored as the English source text (the gettext message id, marked with
:func:`N_` so ``pybabel extract -k N_`` finds it) plus a dict of parameters, and rendered by
:func:`render` when shown: ``render("Bid %(ref)s withdrawn", {"ref": "B-7"})`` gives
``投标 B-7 已撤回`` on a Chinese page. Texts stored before this existed (no parameters) render as
stored, or translated when their text is a known message id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask
from flask_babel import force_locale, gettext

log = logging.getLogger(__name__)


def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Mark ``msgid`` for extraction without translating it now (it is stored, then rendered)."""
    return msgid


def render(text: str | None, params: Mapping | None = None) -> str:
    """``text`` translated into the current language, with ``params`` filled in."""
    if not text:
        return ""
    translated = gettext(text)
    if not params:
        return translated
    try:
        return translated % dict(params)
    except (KeyError, ValueError, TypeError):  # a translation that lost a placeholder: the source
        log.warning("message %r does not fit its parameters %r", text, sorted(params))
        try:
            return text % dict(params)
        except (KeyError, ValueError, TypeError):
            return text


def render_in(locale: str, text: str | None, params: Mapping | None = None) -> str:
    """:func:`render` in a given language (a mail's recipient, outside any request)."""
    with force_locale(locale):
        return render(text, params)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["message"] = render
