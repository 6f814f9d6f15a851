"""/api/v1 (issue 19): problem+json errors, personal API tokens and their scopes, cursor paging, ETags,
rate limits, and the audit trail of tokens (docs/api.md)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.auth import api_tokens
from marketplace.auth.models import ApiToken
from marketplace.core.errors import PROBLEM_JSON
from marketplace.core.schemas import InputErrors
from marketplace.extensions import limiter
from tests import contract_factories as cf
from tests import factories


def token_for(db, user, scopes=("read",), days=90) -> str:
    _token, raw = api_tokens.create_token(
        user, {"name": "test", "scopes": list(scopes), "expires_in_days": days}
    )
    db.session.commit()
    return raw


def bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def assert_problem(r, status: int) -> dict:
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.mimetype == PROBLEM_JSON
    body = r.get_json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert body["title"] and body["detail"] and body["instance"]
    return body


@pytest.fixture
def contract(world, db):
    c, org, member = cf.contract_rows(world)
    db.session.commit()
    return c, member


# --- errors --------------------------------------------------------------------------------------------


def test_errors_are_problem_json(client, db):
    assert_problem(client.get("/api/v1/nothing-here"), 404)
    r = client.delete("/api/v1/tenders")
    assert_problem(r, 405)
    body = assert_problem(client.get("/api/v1/tenders?limit=0"), 422)
    assert "limit" in body["errors"] and all(isinstance(m, str) for m in body["errors"]["limit"])
    body = assert_problem(client.get("/api/v1/tenders?budget_min=9&budget_max=1"), 422)
    assert list(body["errors"]) == ["budget_max"]
    body = assert_problem(client.get("/api/v1/tenders?cursor=forged"), 422)
    assert "cursor" in body["errors"]


def test_a_smorest_abort_elsewhere_is_problem_json(app, db):
    """Other API modules raise flask_smorest.abort(status, message=..., errors=...)."""
    from flask_smorest import abort
    from werkzeug.exceptions import HTTPException

    with app.test_request_context("/api/v1/contracts/1/service-records/import", method="POST"):
        with pytest.raises(HTTPException) as raised:
            abort(
                409, message="Already imported.", errors={"json": {"2": {"service_date": ["In the future."]}}}
            )
        r = app.make_response(app.handle_http_exception(raised.value))
    body = assert_problem(r, 409)
    assert body["detail"] == "Already imported." and body["errors"] == {"2.service_date": ["In the future."]}


def test_an_unexpected_error_is_a_problem_without_its_cause(client, db, monkeypatch):
    from marketplace.tenders import search

    monkeypatch.setattr(search, "public_matches", lambda f: 1 / 0)
    body = assert_problem(client.get("/api/v1/tenders"), 500)
    assert "ZeroDivision" not in str(body)


# --- tokens: creation, storage, audit --------------------------------------------------------------------


def sign_in(client, user) -> None:
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True


def test_a_token_is_shown_once_and_stored_hashed(client, world, contract, db):
    _c, member = contract
    sign_in(client, member)
    page = client.get("/auth/api-tokens")
    assert page.status_code == 200 and b"delivery:write" in page.data and b"audit:read" not in page.data
    r = client.post(
        "/auth/api-tokens",
        data={"name": "个案系统", "scopes": ["read", "delivery:write"], "expires_in_days": "90"},
    )
    assert r.status_code == 200
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == member.id))
    raw = r.get_data(as_text=True).split('id="new-token-value">')[1].split("<")[0]
    assert raw.startswith(f"mkp_{token.prefix}_")
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {token.name, token.prefix, token.token_hash}
    assert token.scopes == ["read", "delivery:write"]
    assert token.expires_at == clock.now() + timedelta(days=90)
    again = client.get("/auth/api-tokens")
    assert raw.encode() not in again.data and f"mkp_{token.prefix}_".encode() in again.data
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.create"))
    assert event.actor_id == member.id and event.object_id == str(token.id)
    assert raw not in str(event.changes) + str(event.params)


def test_a_user_only_gives_the_scopes_their_role_allows(client, login_as, world, db):
    login_as("org_member")  # a member of no organization: nothing to deliver
    page = client.get("/auth/api-tokens")
    assert page.status_code == 200 and b'value="read"' in page.data and b"delivery:write" not in page.data
    for scopes in (["audit:read"], ["delivery:write"]):
        with pytest.raises(InputErrors):
            api_tokens.create_token(
                world["org_member"], {"name": "x", "scopes": scopes, "expires_in_days": 30}
            )
    with pytest.raises(InputErrors):
        api_tokens.create_token(
            world["officer"], {"name": "x", "scopes": ["delivery:write"], "expires_in_days": 30}
        )
    with pytest.raises(InputErrors):
        api_tokens.create_token(world["auditor"], {"name": "x", "scopes": ["read"], "expires_in_days": 7})
    login_as("officer")
    r = client.post("/auth/api-tokens", data={"name": "x", "scopes": ["audit:read"], "expires_in_days": "30"})
    assert r.status_code == 400 and b"cannot give a token the scope" in r.data
    assert db.session.scalar(select(ApiToken)) is None
    assert api_tokens.allowed_scopes(world["auditor"]) == ["read", "audit:read"]
    assert api_tokens.allowed_scopes(world["admin"]) == ["read", "audit:read"]


def test_revoking_is_audited_and_the_token_stops_working(client, login_as, world, db):
    raw = token_for(db, world["officer"])
    assert client.get("/api/v1/token", headers=bearer(raw)).status_code == 200
    token = db.session.scalar(select(ApiToken))
    login_as("other_officer")
    assert client.post(f"/auth/api-tokens/{token.id}/revoke").status_code == 404  # not theirs
    login_as("officer")
    r = client.post(f"/auth/api-tokens/{token.id}/revoke")
    assert r.status_code == 302
    db.session.refresh(token)
    assert token.revoked_at is not None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.revoke")) is not None
    body = assert_problem(client.get("/api/v1/token", headers=bearer(raw)), 401)
    assert "revoked" in body["detail"]
    assert_problem(client.get("/api/v1/tenders", headers=bearer(raw)), 401)  # even a public list


def test_an_expired_or_unknown_token_is_refused(client, world, db):
    raw = token_for(db, world["officer"], days=30)
    assert client.get("/api/v1/token", headers=bearer(raw)).status_code == 200
    clock.advance(timedelta(days=30, seconds=1))
    r = client.get("/api/v1/token", headers=bearer(raw))
    assert_problem(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    for header in (f"Bearer {raw[:-1]}x", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer"):
        assert_problem(client.get("/api/v1/tenders", headers={"Authorization": header}), 401)


def test_an_inactive_user_s_token_is_refused(client, world, db):
    raw = token_for(db, world["officer"])
    world["officer"].active = False
    db.session.commit()
    assert_problem(client.get("/api/v1/token", headers=bearer(raw)), 401)


def test_each_use_is_an_audit_event_kept_even_when_refused(client, world, db):
    raw = token_for(db, world["org_member"])
    r = client.get("/api/v1/audit/events", headers=bearer(raw))  # read only: audit:read missing
    assert_problem(r, 403)
    client.get("/api/v1/token", headers=bearer(raw))
    uses = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "api_token.use").order_by(AuditEvent.id)
    ).all()
    assert [(u.params["method"], u.params["path"], u.params["status"]) for u in uses] == [
        ("GET", "/api/v1/audit/events", 403),
        ("GET", "/api/v1/token", 200),
    ]
    assert all(u.actor_id == world["org_member"].id for u in uses)
    token = db.session.scalar(select(ApiToken))
    assert token.last_used_at == clock.now()
    assert client.get("/api/v1/tenders").status_code == 200  # anonymous: no event
    assert db.session.query(AuditEvent).filter_by(action="api_token.use").count() == 2


# --- scopes and the policy layer ---------------------------------------------------------------------------


def test_a_party_only_contract_needs_a_token_with_read_of_a_party(client, world, contract, db):
    c, member = contract
    url = f"/api/v1/contracts/{c.id}/details"
    body = assert_problem(client.get(url), 401)
    assert "Bearer" in body["detail"] or "token" in body["detail"]
    for who in ("officer", "auditor", "admin"):
        r = client.get(url, headers=bearer(token_for(db, world[who])))
        assert r.status_code == 200, who
        assert r.json["milestones"][0]["submissions"] == [] and len(r.json["targets"]) == 2
    r = client.get(url, headers=bearer(token_for(db, member, ("read", "delivery:write"))))
    assert r.status_code == 200 and r.json["organization"]["id"] == c.organization_id
    for who in ("other_officer", "evaluator", "org_member"):  # org_member: a member of no organization
        assert_problem(client.get(url, headers=bearer(token_for(db, world[who]))), 404)
    delivery_only = token_for(db, member, ("delivery:write",))
    assert_problem(client.get(url, headers=bearer(delivery_only)), 403)
    # The public summary needs no token, and a token without read may not use it either.
    assert client.get(f"/api/v1/contracts/{c.id}").json["reference"] == c.reference
    assert_problem(client.get(f"/api/v1/contracts/{c.id}", headers=bearer(delivery_only)), 403)


def test_the_audit_resources_need_audit_read(client, world, contract, db):
    c, member = contract
    urls = (f"/api/v1/contracts/{c.id}/history", "/api/v1/audit/events", "/api/v1/audit/contracts")
    member_token = token_for(db, member, ("read", "delivery:write"))
    auditor_read_only = token_for(db, world["auditor"], ("read",))
    auditor = token_for(db, world["auditor"], ("read", "audit:read"))
    for url in urls:
        assert_problem(client.get(url), 401)
        assert_problem(client.get(url, headers=bearer(member_token)), 403)
        assert_problem(client.get(url, headers=bearer(auditor_read_only)), 403)
        assert client.get(url, headers=bearer(auditor)).status_code == 200, url
    history = client.get(urls[0], headers=bearer(auditor)).json
    assert history["reference"] == c.reference and history["entries"]
    assert {e["kind"] for e in history["entries"]} >= {"award"}
    contracts = client.get("/api/v1/audit/contracts?status=active", headers=bearer(auditor)).json
    assert [x["id"] for x in contracts["items"]] == [c.id]
    bad = assert_problem(client.get("/api/v1/audit/contracts?status=nope", headers=bearer(auditor)), 422)
    assert "status" in bad["errors"]


def test_a_token_loses_a_scope_its_user_no_longer_has(client, world, db):
    raw = token_for(db, world["auditor"], ("read", "audit:read"))
    assert client.get("/api/v1/audit/events", headers=bearer(raw)).status_code == 200
    world["auditor"].role = "evaluator"
    db.session.commit()
    assert_problem(client.get("/api/v1/audit/events", headers=bearer(raw)), 403)


def test_the_audit_log_filters_like_the_page(client, world, db):
    raw = token_for(db, world["admin"], ("read", "audit:read"))
    token_for(db, world["officer"])
    r = client.get("/api/v1/audit/events?action=api_token.create&actor=officer@", headers=bearer(raw))
    items = r.json["items"]
    assert [(e["action"], e["actor_label"]) for e in items] == [("api_token.create", "officer@test.org")]
    assert "API token" in items[0]["summary"]
    assert_problem(client.get("/api/v1/audit/events?from=2026-03-10&to=2026-03-01", headers=bearer(raw)), 422)


# --- paging and ETags --------------------------------------------------------------------------------------


def _walk(client, url, meanwhile=None, **params):
    seen, cursor, pages = [], None, 0
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        body = client.get(url, query_string=query).json
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages
        if pages == 2 and meanwhile:
            meanwhile()


def test_cursor_paging_has_no_repeats_and_no_gaps(client, world, db):
    tenders = [factories.published(world["officer"], title=f"项目 {n}") for n in range(7)]
    db.session.commit()

    def publish_another():  # newest first: a tender published while paging comes before the cursor
        factories.published(world["officer"], title="新项目 published while paging")
        db.session.commit()

    ids, pages = _walk(client, "/api/v1/tenders", meanwhile=publish_another, limit=3)
    assert pages == 3 and ids == sorted((t.id for t in tenders), reverse=True)
    by_deadline, _ = _walk(client, "/api/v1/tenders", limit=2, sort="deadline")
    assert len(by_deadline) == len(set(by_deadline)) and set(ids) <= set(by_deadline)
    first = client.get("/api/v1/tenders", query_string={"limit": 3})
    assert first.headers["Link"].endswith('rel="next"') and "cursor=" in first.headers["Link"]
    # A cursor of one ordering is refused by another (its keys differ).
    assert_problem(
        client.get("/api/v1/tenders", query_string={"sort": "budget", "cursor": first.json["next_cursor"]}),
        422,
    )


def test_etag_and_if_none_match(client, world, db):
    t = factories.published(world["officer"])
    db.session.commit()
    r = client.get(f"/api/v1/tenders/{t.id}")
    etag = r.headers["ETag"]
    assert r.status_code == 200 and etag and r.headers["Cache-Control"] == "no-cache"
    again = client.get(f"/api/v1/tenders/{t.id}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    listing = client.get("/api/v1/tenders")
    assert (
        client.get("/api/v1/tenders", headers={"If-None-Match": listing.headers["ETag"]}).status_code == 304
    )
    t.title = "改了 changed"
    db.session.commit()
    assert client.get(f"/api/v1/tenders/{t.id}", headers={"If-None-Match": etag}).status_code == 200
    raw = token_for(db, world["officer"])
    mine = client.get(f"/api/v1/tenders/{t.id}", headers=bearer(raw))
    assert mine.headers["Cache-Control"] == "private, no-cache" and "Authorization" in mine.headers["Vary"]


def test_unknown_and_draft_records_are_404(client, world, db):
    draft = factories.draft(world["officer"])
    db.session.commit()
    for url in (
        f"/api/v1/tenders/{draft.id}",
        "/api/v1/tenders/999999",
        "/api/v1/organizations/999999",
        "/api/v1/contracts/999999",
    ):
        assert_problem(client.get(url), 404)


# --- rate limits -----------------------------------------------------------------------------------------


@pytest.fixture
def tight_limits(app):
    saved = app.config["API_RATE_LIMIT"], app.config["API_ANONYMOUS_RATE_LIMIT"]
    app.config["API_RATE_LIMIT"], app.config["API_ANONYMOUS_RATE_LIMIT"] = "3 per minute", "2 per minute"
    limiter.reset()
    yield
    app.config["API_RATE_LIMIT"], app.config["API_ANONYMOUS_RATE_LIMIT"] = saved
    limiter.reset()


def test_rate_limits_per_token_and_per_address(client, world, db, tight_limits):
    a, b = token_for(db, world["officer"]), token_for(db, world["auditor"])
    for _ in range(3):
        assert client.get("/api/v1/tenders", headers=bearer(a)).status_code == 200
    refused = client.get("/api/v1/tenders", headers=bearer(a))
    assert_problem(refused, 429)
    assert refused.headers["Retry-After"] and refused.headers["X-RateLimit-Limit"] == "3"
    assert client.get("/api/v1/tenders", headers=bearer(b)).status_code == 200  # its own budget
    for _ in range(2):
        assert client.get("/api/v1/tenders").status_code == 200
    assert_problem(client.get("/api/v1/tenders"), 429)


# --- the document and its page ---------------------------------------------------------------------------


def test_the_openapi_document_and_its_page(client, db):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.") and "/api/v1/tenders" in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    details = doc["paths"]["/api/v1/contracts/{contract_id}/details"]["get"]
    assert details["security"] == [{"bearerAuth": []}]
    assert "application/problem+json" in doc["components"]["responses"]["DEFAULT_ERROR"]["content"]
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and b"swagger-ui-bundle" in page.data and b"<script>" not in page.data
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]  # the strict policy, here too
    assert b"/api/v1/docs" in client.get("/").data  # linked from every page's footer
