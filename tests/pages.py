"""Helpers for comparing rendered pages."""

import re

_CSRF = re.compile(r"<input[^>]*csrf_token[^>]*>")


def without_csrf(body: bytes | str) -> str:
    """The page with its CSRF tokens blanked: they carry a timestamp, so two renders differ by them."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return _CSRF.sub("<csrf>", text)
