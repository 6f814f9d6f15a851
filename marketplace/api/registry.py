"""/api/v1 wiring: binds the flask-smorest ``Api`` (created unbound in ``extensions``), registers every
API blueprint (the foundation's, the delivery imports' and the OCDS feed's) with the per-token rate
limit and without CSRF (a token, not a cookie, authenticates them), and the documentation page.
"""

from __future__ import annotations

from flask import Flask, request

from marketplace.api import audit, contracts, delivery, docs, ocds_feed, public, tokens
from marketplace.api.auth import SECURITY_SCHEMES, current_token, rate_limit, rate_limit_key
from marketplace.extensions import api, csrf, limiter

BLUEPRINTS = (public.blp, contracts.blp, audit.blp, tokens.blp, delivery.blp, ocds_feed.blp)

DESCRIPTION = (
    "The marketplace's JSON API. Errors are application/problem+json (RFC 9457); lists are paged by "
    "cursor; reads carry an ETag. Authenticate with a personal API token: Authorization: Bearer <token>. "
    "See docs/api.md for the versioning policy."
)


def _authenticate_api_request() -> None:
    """Any /api/ request that sends a token is refused (401) when the token is not valid, whatever the
    route; a valid one is recorded as used (api.auth)."""
    if request.path.startswith("/api/") and "Authorization" in request.headers:
        current_token()


def init_app(app: Flask) -> None:
    api.init_app(app, spec_kwargs={"info": {"description": DESCRIPTION}})
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    for blp in BLUEPRINTS:
        limiter.limit(rate_limit, key_func=rate_limit_key)(blp)
        api.register_blueprint(blp)
        csrf.exempt(blp)
    app.register_blueprint(docs.bp)
    app.before_request(_authenticate_api_request)
