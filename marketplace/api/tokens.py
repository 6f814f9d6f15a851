"""/api/v1/token: the token a request is made with (its scopes, expiry and user): a client's first check."""

from __future__ import annotations

from flask_smorest import Blueprint

from marketplace.api import schemas
from marketplace.api.auth import current_token, require_scope

blp = Blueprint("api_token", __name__, url_prefix="/api/v1", description="Your API token")


@blp.route("/token")
@require_scope(None)
@blp.response(200, schemas.TokenInfoSchema)
def token_info():
    """The token this request was made with."""
    return current_token()
