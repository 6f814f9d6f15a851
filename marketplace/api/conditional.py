"""ETag and If-None-Match on the API's reads: a strong ETag of the body, 304 when the client has it.

``Cache-Control: no-cache`` (a cache may keep the answer but must revalidate it each time); an answer
to a token holder is ``private`` and varies with the ``Authorization`` header.
"""

from __future__ import annotations

import functools
from copy import deepcopy

from flask import g, request

from marketplace.api.auth import current_token

_DONE = "_api_conditional"


def conditional(fn):
    """Put under ``@blp.route``: the view's response gets an ETag and answers If-None-Match with 304."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        response = fn(*args, **kwargs)
        if getattr(response, "status_code", 0) != 200 or g.get(_DONE):
            return response
        g._api_conditional = True
        response.add_etag()
        response.headers["Cache-Control"] = "private, no-cache" if current_token() else "no-cache"
        response.vary.add("Authorization")
        return response.make_conditional(request)

    doc = deepcopy(getattr(wrapper, "_apidoc", {}))
    doc.setdefault("response", {}).setdefault("responses", {}).setdefault(304, []).append("NOT_MODIFIED")
    # With the view's other parameters (``@blp.arguments``): a manual_doc list would replace them.
    doc.setdefault("arguments", {}).setdefault("parameters", []).append(
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": "An ETag of an earlier answer: 304 without a body while it is still current",
            "schema": {"type": "string"},
        }
    )
    wrapper._apidoc = doc
    return wrapper
