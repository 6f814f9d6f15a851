"""Schemathesis over the whole /api/v1 OpenAPI document, through the WSGI app (issue 19).

Every operation of the document, with data that exists (a signed contract with milestones and targets,
an award, published tenders, verified organizations, audit events), called anonymously and with a token
of each role (officer, organization member, auditor, admin, evaluation expert), each token with every
scope the role allows. The checks: no server error, and every response as documented (status code,
content type, headers, body schema). Bounded examples keep it well under two minutes.

Operations are not excluded. Checks left out, and why:
- ``positive_data_acceptance`` / ``ensure_resource_availability`` / ``use_after_free``: a generated id
  that is valid for the schema rarely names an existing row, so a 404 problem is the right answer;
- ``ignored_auth`` / ``missing_required_header``: public operations accept anonymous callers by design
  (their security lists ``{}``), and the token-scope boundaries are tested in tests/test_api.py;
- ``negative_data_rejection``, ``unsupported_method``: only positive data is generated here; 405 on
  /api/v1 is tested in tests/test_api.py;
- ``max_response_time``: no timed tests.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from marketplace.auth import api_tokens
from marketplace.extensions import db as _db
from marketplace.extensions import limiter
from tests import contract_factories as cf

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
ROLES = ("officer", "org_member", "auditor", "admin", "evaluator")
MAX_EXAMPLES = 6


@pytest.fixture
def callers(app, world, db):
    """Headers per caller: anonymous, and a token per role with every scope the role allows."""
    contract, org, member = cf.contract_rows(world)
    users = {**{role: world[role] for role in ROLES}, "org_member": member}
    headers = [{}]
    for user in users.values():
        _token, raw = api_tokens.create_token(
            user, {"name": "schemathesis", "scopes": api_tokens.allowed_scopes(user), "expires_in_days": 30}
        )
        headers.append({"Authorization": f"Bearer {raw}"})
    _db.session.commit()
    saved = app.config["API_RATE_LIMIT"], app.config["API_ANONYMOUS_RATE_LIMIT"]
    # Many calls a minute from one address: the limits themselves are tested in tests/test_api.py.
    app.config["API_RATE_LIMIT"] = app.config["API_ANONYMOUS_RATE_LIMIT"] = "100000 per minute"
    limiter.reset()
    yield headers
    app.config["API_RATE_LIMIT"], app.config["API_ANONYMOUS_RATE_LIMIT"] = saved


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14, "the document lost operations"
    return operations


def test_every_operation_as_every_role(app, callers):
    """``schema.parametrize()`` would give each operation its own test, but its lazy loader (needed to
    build the schema from the session's app fixture) does not run on this pytest; the same strategies
    and checks run here, operation by operation, and every failure is reported with its operation."""
    failures = []
    for operation in _operations(app):

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case):
            for headers in callers:
                case.call_and_validate(headers={**(case.headers or {}), **headers}, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported all together
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
