"""The API documentation page works under the strict Content-Security-Policy, and an organization
member creates a personal API token on the API tokens page, uses it, and revokes it (issue 19)."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright cannot be imported")

from playwright.sync_api import Page, expect  # noqa: E402

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def _violations(page: Page, console: list[str]) -> list[str]:
    return list(page.evaluate("window.__cspViolations || []")) + console


def test_the_documentation_page_runs_under_the_strict_policy(live_server, new_page):
    page = new_page()
    console: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    response = page.goto(f"{live_server.url}/api/v1/docs")
    assert response is not None and response.status == 200
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    expect(page.locator(".opblock").first).to_be_visible()
    summaries = page.locator(".opblock-summary")
    assert summaries.count() >= 14
    for i in range(summaries.count()):  # every operation drawn, its parameters and responses too
        summaries.nth(i).click()
    expect(page.locator(".opblock-body").nth(summaries.count() - 1)).to_be_visible()
    assert _violations(page, console) == []


def test_a_member_creates_uses_and_revokes_a_token(live_server, new_page):
    page = new_page()
    base = live_server.url
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill("org1@example.org")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()
    page.locator("#user-menu").click()
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Token name").fill("个案系统 case system")
    page.get_by_label("read: everything your account may read").check()
    page.get_by_role("button", name="Create token").click()
    raw = page.locator("#new-token-value").inner_text()
    assert raw.startswith("mkp_")
    answer = page.request.get(f"{base}/api/v1/token", headers={"Authorization": f"Bearer {raw}"})
    assert answer.status == 200 and answer.json()["scopes"] == ["read"]
    page.goto(f"{base}/auth/api-tokens")  # shown once: not on the list
    assert raw not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator("#api-tokens")).to_contain_text("Revoked")
    refused = page.request.get(f"{base}/api/v1/token", headers={"Authorization": f"Bearer {raw}"})
    assert refused.status == 401 and refused.headers["content-type"].startswith("application/problem+json")
