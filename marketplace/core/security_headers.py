"""Security headers on every response, and no caching of what a signed-in user sees (issue 17, ASVS 14.4).

Flask-Talisman sets the headers of the responses the app makes (pages, the JSON API, redirects, error
pages): a Content-Security-Policy with neither inline script nor inline style (every script is a file
under ``static/``; markup asks for behaviour with ``data-`` attributes read by ``static/page-actions.js``),
``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, ``Referrer-Policy`` and, in production
(``HSTS_MAX_AGE`` above 0) over HTTPS, ``Strict-Transport-Security``. The app never redirects to HTTPS
itself unless ``FORCE_HTTPS`` is set: in production the reverse proxy does.

The hashed static files are answered by WhiteNoise before the app (``core.assets``), so
:class:`BaselineHeaders`, the outermost layer but one, adds the same headers to any response that lacks
them, and leaves their ``Cache-Control`` (a year, immutable) alone.

Every response to a signed-in user (pages, bid receipts, export downloads) gets ``Cache-Control:
no-store``: nothing a user saw stays in a shared or browser cache after signing out. Anonymous public
pages keep whatever caching they had.

One Talisman per app (it keeps a reference to its app), so it is not among the unbound extensions.
"""

from __future__ import annotations

import logging

from flask import Flask, request
from flask_login import current_user
from flask_talisman import Talisman

log = logging.getLogger("marketplace.security")

# No 'unsafe-inline' anywhere: not for scripts, not for style elements, not for style="" attributes.
# img-src data: is for the icons Bootstrap's stylesheet draws from data: URLs (navbar toggler, selects).
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PERMISSIONS_POLICY = {
    "browsing-topics": "()",
    "camera": "()",
    "geolocation": "()",
    "microphone": "()",
    "payment": "()",
}
REFERRER_POLICY = "strict-origin-when-cross-origin"
FRAME_OPTIONS = "DENY"
NO_STORE = "no-store"
# Static files answered by the app itself (debug mode, files WhiteNoise does not know) keep their caching.
STATIC_ENDPOINTS = frozenset({"static", "bootstrap.static", "favicon"})


def content_security_policy() -> str:
    return "; ".join(f"{directive} {sources}" for directive, sources in CONTENT_SECURITY_POLICY.items())


def hsts_value(max_age: int) -> str:
    return f"max-age={max_age}; includeSubDomains"


def baseline_headers() -> list[tuple[str, str]]:
    """The headers every response carries, whoever made it."""
    return [
        ("Content-Security-Policy", content_security_policy()),
        ("X-Frame-Options", FRAME_OPTIONS),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", REFERRER_POLICY),
        ("Permissions-Policy", ", ".join(f"{k}={v}" for k, v in PERMISSIONS_POLICY.items())),
    ]


def init_app(app: Flask) -> None:
    """Talisman on the app's responses, ``no-store`` for signed-in users, the baseline under WhiteNoise.

    Call after ``core.assets`` has put WhiteNoise in front of the app."""
    hsts_max_age = int(app.config.get("HSTS_MAX_AGE") or 0)
    app.extensions["talisman"] = Talisman(
        app,
        force_https=bool(app.config.get("FORCE_HTTPS")),
        force_https_permanent=True,
        frame_options=FRAME_OPTIONS,
        strict_transport_security=hsts_max_age > 0,
        strict_transport_security_max_age=hsts_max_age,
        strict_transport_security_include_subdomains=True,
        content_security_policy=CONTENT_SECURITY_POLICY,
        permissions_policy=PERMISSIONS_POLICY,
        referrer_policy=REFERRER_POLICY,
        # The cookie attributes stay the configuration's (config.py); Talisman would otherwise force them.
        session_cookie_secure=bool(app.config["SESSION_COOKIE_SECURE"]),
        session_cookie_http_only=bool(app.config["SESSION_COOKIE_HTTPONLY"]),
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        x_content_type_options=True,
        x_xss_protection=False,  # obsolete, and harmful in old browsers (OWASP Secure Headers)
    )
    app.after_request(_no_store_for_signed_in)
    app.wsgi_app = BaselineHeaders(app.wsgi_app, hsts_max_age)


def _no_store_for_signed_in(response):
    if request.endpoint in STATIC_ENDPOINTS:
        return response
    if _signed_in():
        response.headers["Cache-Control"] = NO_STORE
        response.headers.pop("Expires", None)
    return response


def _signed_in() -> bool:
    try:
        return bool(current_user and current_user.is_authenticated)
    except Exception:  # the user could not be loaded (a failing database on a 500 page): assume signed in
        log.warning("could not tell whether the user is signed in; not caching", exc_info=True)
        return True


class BaselineHeaders:
    """WSGI: adds the baseline headers (and HSTS over HTTPS) to responses that do not carry them yet."""

    def __init__(self, wsgi_app, hsts_max_age: int = 0):
        self.wsgi_app = wsgi_app
        self.headers = baseline_headers()
        self.hsts = hsts_value(hsts_max_age) if hsts_max_age > 0 else None

    def __call__(self, environ, start_response):
        secure = environ.get("wsgi.url_scheme") == "https" or environ.get("HTTP_X_FORWARDED_PROTO") == "https"

        def add_headers(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            extra = [(name, value) for name, value in self.headers if name.lower() not in present]
            if self.hsts and secure and "strict-transport-security" not in present:
                extra.append(("Strict-Transport-Security", self.hsts))
            return start_response(status, list(headers) + extra, exc_info)

        return self.wsgi_app(environ, add_headers)
