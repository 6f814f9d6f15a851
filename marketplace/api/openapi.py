"""The flask-smorest ``Api`` of /api/v1, its errors documented as RFC 9457 problems.

Created unbound in ``marketplace.extensions`` and bound by ``marketplace.api.registry``. The error
handling itself is the app's (``core.errors``: ``application/problem+json`` under /api/), so this Api
registers no error handler of its own; it only describes those errors in the OpenAPI document.
Imports nothing of the app's (``extensions`` imports it).
"""

from __future__ import annotations

import http

import marshmallow as ma
from flask_smorest import Api
from flask_smorest.utils import prepare_response

PROBLEM_JSON = "application/problem+json"


class ProblemSchema(ma.Schema):
    """An error (RFC 9457). ``errors``: each invalid field's messages (422)."""

    type = ma.fields.String(required=True, metadata={"description": "A URI naming the kind of problem"})
    title = ma.fields.String(required=True, metadata={"description": "Short summary of the kind of problem"})
    status = ma.fields.Integer(required=True, metadata={"description": "The HTTP status code"})
    detail = ma.fields.String(required=True, metadata={"description": "What went wrong, for a person"})
    instance = ma.fields.String(metadata={"description": "The path that was asked for"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Messages per invalid field"},
    )


class ProblemApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _init_spec(self, **kwargs):
        super()._init_spec(**kwargs)
        # Amounts travel as strings ("480000.00", exact); marshmallow's Decimal(as_string=True) says so.
        self.ma_plugin.map_to_openapi_type(ma.fields.Decimal, "string", "decimal")

    def _register_error_handlers(self):
        """Nothing: core.errors answers every error under /api/ as a problem."""

    def _register_responses(self):
        """The standard error responses as ``application/problem+json`` (smorest: the success type)."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)
