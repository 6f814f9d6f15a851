"""Messages stored as a message id and parameters, and rendered in the reader's language.

Audit event summaries and notifications are written once but read by people who use either
language. They are stored as the English source text (the gettext message id, marked with
:func:`N_` so ``pybabel extract -k N_`` finds it) plus a dict of parameters, and rendered by
:func:`render` when shown: ``render("Bid %(ref)s withdrawn", {"ref": "B-7"})`` gives
``投标 B-7 已撤回`` on a Chinese page. Texts stored before this existed (no parameters) render as
stored, or translated when their text is a known message id.

A parameter that holds a code (an evaluation stage, an activity type, a law reference) is stored as
the code and shown by its label: each package declares, next to its state labels, which parameters
of which message are labelled by which machine (``MESSAGE_PARAMS = {msgid: {"stage":
"evaluation_stage"}}``, or ``"law"`` for a citation, :mod:`marketplace.core.legal`), and
:func:`register_params` collects them. Rows stored before a declaration render better at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask
from flask_babel import force_locale, gettext

from marketplace.core import labels, legal

log = logging.getLogger(__name__)


def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Mark ``msgid`` for extraction without translating it now (it is stored, then rendered)."""
    return msgid


LAW = "law"  # a parameter holding a law reference ("O87 60"), shown as a citation
_labelled: dict[str, dict[str, str]] = {}


def register_params(spec: Mapping[str, Mapping[str, str]]) -> None:
    """``{msgid: {param: label machine or LAW}}``: the parameters shown by their label."""
    for msgid, machines in spec.items():
        _labelled.setdefault(msgid, {}).update(machines)


def has_labelled_params(text: str | None) -> bool:
    """Whether ``text`` shows some of its parameters by their labels (:func:`register_params`)."""
    return bool(text) and text in _labelled


def labelled_params(text: str, params: Mapping) -> dict:
    """``params`` with the codes ``text`` declares labelled replaced by their labels (current language)."""
    machines = _labelled.get(text)
    if not machines:
        return dict(params)
    out = dict(params)
    for name, machine in machines.items():
        value = out.get(name)
        if value is None or value == "":
            continue
        try:
            out[name] = legal.cite(str(value)) if machine == LAW else labels.label(machine, value)
        except LookupError:  # a machine not registered in this app: the code, as stored
            log.warning("message parameter %r: no labels %r", name, machine)
    return out


def render(text: str | None, params: Mapping | None = None) -> str:
    """``text`` translated into the current language, with ``params`` filled in."""
    if not text:
        return ""
    translated = gettext(text)
    if not params:
        return translated
    params = labelled_params(text, params)
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
