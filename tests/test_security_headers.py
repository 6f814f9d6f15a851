"""Security headers on every kind of response, no caching of what a signed-in user sees, cookie attributes,
and no inline script, handler or style in any template (issue 17, items 2 and 3; core/security_headers.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import url_for
from werkzeug.http import parse_cookie

from marketplace import create_app
from marketplace.config import load_config
from marketplace.core.assets import HASHED_CACHE_CONTROL
from tests import bid_factories as bf
from tests import factories
from tests.factories import PASSWORD, deadline_in

BASELINE = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
TEMPLATES = sorted(p for p in (Path(__file__).resolve().parents[1] / "marketplace").rglob("*.html"))


def _csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    policy = {}
    for part in header.split(";"):
        name, *sources = part.split()
        policy[name] = sources
    return policy


def assert_secure_headers(response):
    for name, value in BASELINE.items():
        assert response.headers.get(name) == value, (name, response.headers)
    policy = _csp(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no other origin
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]


def _no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


def _static_url(app, filename: str) -> str:
    with app.test_request_context():
        return url_for("static", filename=filename)


# --- every kind of response -------------------------------------------------------------------------


def test_public_page_has_the_headers_and_may_be_cached(client, world):
    for url in ("/", "/tenders"):
        r = client.get(url)
        assert r.status_code == 200
        assert_secure_headers(r)
        assert not _no_store(r)


def test_signed_in_pages_have_the_headers_and_are_never_stored(client, login_as):
    login_as("officer")
    for url in ("/", "/tenders", "/tenders/manage", "/inbox"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert_secure_headers(r)
        assert r.headers["Cache-Control"] == "no-store", url


def test_hashed_static_asset_keeps_its_year_long_caching_even_when_signed_in(app, client, login_as):
    url = _static_url(app, "page-actions.js")
    assert url != "/static/page-actions.js"  # the hashed name
    for _ in ("anonymous", "signed in"):
        r = client.get(url)
        assert r.status_code == 200
        assert_secure_headers(r)
        assert r.headers["Cache-Control"] == HASHED_CACHE_CONTROL
        login_as("officer")


def test_json_api_has_the_headers(client, world):
    r = client.get("/api/v1/tenders")
    assert r.status_code == 200 and r.is_json
    assert_secure_headers(r)


def test_not_found_page_has_the_headers(client, world):
    r = client.get("/no-such-page")
    assert r.status_code == 404
    assert_secure_headers(r)


def test_internal_error_page_has_the_headers(app, client, login_as, monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.view_functions, "main.inbox", broken)
    login_as("officer")
    r = client.get("/inbox")
    assert r.status_code == 500
    assert_secure_headers(r)
    assert _no_store(r)


def test_redirect_has_the_headers(client, world):
    r = client.get("/inbox")  # signed out: to the sign-in page
    assert r.status_code == 302
    assert_secure_headers(r)


def test_no_hsts_outside_production(client, world):
    r = client.get("/", base_url="https://localhost")
    assert "Strict-Transport-Security" not in r.headers


def test_hsts_in_production_over_https_only(database_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "HSTS_MAX_AGE": 31536000,
            "LOG_LEVEL": "WARNING",
            "UPLOAD_FOLDER": str(tmp_path),
        }
    )
    client = app.test_client()
    static = _static_url(app, "marketplace.css")
    hsts = "max-age=31536000; includeSubDomains"
    for url in ("/healthz", static):
        assert client.get(url, base_url="https://localhost").headers["Strict-Transport-Security"] == hsts
        proxied = client.get(url, headers={"X-Forwarded-Proto": "https"})
        assert proxied.headers["Strict-Transport-Security"] == hsts
        plain = client.get(url)
        assert plain.status_code == 200  # no redirect to https in the app (the proxy's job)
        assert "Strict-Transport-Security" not in plain.headers
        assert_secure_headers(plain)


# --- no-store on bid receipts and exports ---------------------------------------------------------------


def _receipt_url(app, bid, **query) -> str:
    rule = next(app.url_map.iter_rules("bids.receipt"))
    [argument] = rule.arguments
    value = getattr(bid, "public_id", None) or bid.id
    with app.test_request_context():
        return url_for("bids.receipt", **{argument: value}, **query)


def test_bid_receipt_and_its_download_are_never_stored(app, client, world, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    org, member = bf.organization("安心社工服务中心")
    bid, _receipt = bf.submitted_bid(tender, org, member)
    db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(member.id)
        sess["_fresh"] = True
    for url in (_receipt_url(app, bid), _receipt_url(app, bid, download=1)):
        r = client.get(url)
        assert r.status_code == 200, url
        assert r.headers["Cache-Control"] == "no-store"
        assert_secure_headers(r)


def test_contract_export_download_is_never_stored(client, login_as, world):
    login_as("auditor")
    r = client.post("/auditor/contracts/export.csv", buffered=True)
    assert r.status_code == 200 and "attachment" in r.headers.get("Content-Disposition", "")
    assert r.headers["Cache-Control"] == "no-store"
    assert_secure_headers(r)


def test_background_export_status_and_download_are_never_stored(
    app, client, login_as, db, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "EXPORT_FOLDER", str(tmp_path / "exports"))
    login_as("auditor")
    r = client.post("/auditor/contracts/export.xlsx")
    assert r.status_code == 303
    location = r.headers["Location"]
    db.session.commit()  # end the test's savepoint around the request's work (as tests/test_export_tasks.py)
    for r in (client.get(location), client.post(f"{location}/download", buffered=True)):
        assert r.status_code == 200
        assert r.headers["Cache-Control"] == "no-store"
        assert_secure_headers(r)


# --- cookies ---------------------------------------------------------------------------------------------


def _set_cookies(response) -> dict[str, str]:
    """Cookie name: its whole Set-Cookie header."""
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        cookies[name] = header
    return cookies


def _attributes(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


def test_login_with_remember_me_sets_httponly_samesite_cookies(client, world):
    r = client.post("/auth/login", data={"email": "officer@test.org", "password": PASSWORD, "remember": "y"})
    assert r.status_code == 302
    cookies = _set_cookies(r)
    assert {"session", "remember_token"} <= cookies.keys()
    for name in ("session", "remember_token"):
        assert "httponly" in _attributes(cookies[name]), cookies[name]
        assert "SameSite=Lax" in cookies[name], cookies[name]
        assert "secure" not in _attributes(cookies[name])  # tests and development run over plain HTTP
    assert_secure_headers(r)
    assert r.headers["Cache-Control"] == "no-store"


def test_login_cookies_are_secure_when_configured(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    monkeypatch.setitem(app.config, "REMEMBER_COOKIE_SECURE", True)
    r = client.post(
        "/auth/login",
        data={"email": "officer@test.org", "password": PASSWORD, "remember": "y"},
        base_url="https://localhost",
    )
    cookies = _set_cookies(r)
    for name in ("session", "remember_token"):
        assert {"secure", "httponly", "samesite"} <= _attributes(cookies[name]), cookies[name]
        assert parse_cookie(cookies[name])  # well formed


def _config(tmp_path, monkeypatch, env: str, **environ) -> dict:
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE", "HSTS_MAX_AGE", "FORCE_HTTPS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    secrets = {
        "SECRET_KEY": "x" * 32,
        "BID_KEY_WRAPPING_KEYS": Fernet.generate_key().decode(),
        "AUDIT_CHAIN_KEY": "y" * 48,  # production refuses to start without them
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://app@db/marketplace",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "MAIL_SUPPRESS_SEND": True,
    }
    return load_config(str(tmp_path), {"ENV": env, **secrets})


def test_production_defaults_secure_cookies_and_hsts(tmp_path, monkeypatch):
    config = _config(tmp_path, monkeypatch, "production")
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["REMEMBER_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] == config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert config["HSTS_MAX_AGE"] >= 31536000
    assert not config["FORCE_HTTPS"]  # the proxy redirects, not the app


def test_development_sends_cookies_over_http(tmp_path, monkeypatch):
    config = _config(tmp_path, monkeypatch, "development")
    assert not config["SESSION_COOKIE_SECURE"] and not config["REMEMBER_COOKIE_SECURE"]
    assert config["HSTS_MAX_AGE"] == 0
    assert config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


def test_a_production_bench_over_http_may_turn_secure_cookies_off(tmp_path, monkeypatch):
    config = _config(tmp_path, monkeypatch, "production", SESSION_COOKIE_SECURE="0")
    assert not config["SESSION_COOKIE_SECURE"] and not config["REMEMBER_COOKIE_SECURE"]


# --- templates: no inline script, handler or style ---------------------------------------------------------

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
DATA_SCRIPT = re.compile(r"""\btype\s*=\s*["']application/(?:ld\+)?json["']""", re.IGNORECASE)
# An event-handler attribute in markup (onclick="...") or in a WTForms call (field(onclick=...)).
HANDLER = re.compile(r"""(?<![\w.-])on[a-z]+\s*=\s*["'(\w{]""", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"""(?<![\w.-])style\s*=\s*["'(]""", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""javascript:""", re.IGNORECASE)


def test_the_scan_finds_what_it_looks_for():
    assert SCRIPT.search("<script>alert(1)</script>")
    assert HANDLER.search('<button onclick="x()">') and HANDLER.search("form.submit(onclick=x)")
    assert not HANDLER.search('<button data-confirm="Run it now?">') and not HANDLER.search("Done on=time")
    assert STYLE_ATTRIBUTE.search('<div style="width: 1em">')
    assert not STYLE_ATTRIBUTE.search('button_style=""')


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p).rsplit("marketplace/", 1)[-1])
def test_no_template_has_inline_script_handlers_or_style(template):
    text = template.read_text("utf-8")
    for attributes, body in SCRIPT.findall(text):
        if "src=" in attributes:
            assert not body.strip(), f"a <script src> with a body in {template}"
        else:
            assert DATA_SCRIPT.search(attributes), f"an inline <script> in {template}: move it to static/"
    assert not HANDLER.findall(text), f"an on...= handler in {template}: use static/page-actions.js"
    assert not STYLE_ATTRIBUTE.findall(text), f"a style attribute in {template}: use a class"
    assert not JAVASCRIPT_URL.findall(text), f"a javascript: URL in {template}"
