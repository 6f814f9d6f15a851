"""Texts written into a tender's record once, for every reader (a failure reason, why a member left
the committee): rendered from their message id in the platform's language when they are written."""

from __future__ import annotations

from flask import current_app

from marketplace.core.messages import render_in


def record_text(msgid: str, **params) -> str:
    """``msgid`` (marked ``N_``) with ``params``, in the platform's default language."""
    return render_in(current_app.config["BABEL_DEFAULT_LOCALE"], msgid, params)
