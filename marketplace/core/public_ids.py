"""Random public identifiers for rows whose integer id would tell something (issue 17).

A sequential id in a URL or a page tells how many rows were made in between: for sealed bids, that
some organization bid (and when) before the opening. Such rows carry a random ``public_id`` (22
URL-safe characters, 128 bits) that is the only id shown; routes take it through the ``public_id``
URL converter, which refuses anything else (an integer URL answers 404).
"""

from __future__ import annotations

import secrets

from werkzeug.routing import BaseConverter

PUBLIC_ID_LENGTH = 22


def new_public_id() -> str:
    return secrets.token_urlsafe(16)


class PublicIdConverter(BaseConverter):
    regex = rf"[A-Za-z0-9_-]{{{PUBLIC_ID_LENGTH}}}"
