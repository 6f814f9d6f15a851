"""The pages that run scripts work under the Content-Security-Policy, and the browser reports no violation.

Every script is a file under static/ (no inline script, no on...= handler, no style="" attribute;
core/security_headers.py): the countdown of the opening ceremony, the dashboard charts, the confirmation
before a form is sent, the print buttons and the progress bars (static/page-actions.js). Each page is
loaded in Chromium with a listener for ``securitypolicyviolation`` events and the console's "Refused to"
errors; any of them fails the test.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright cannot be imported")

from playwright.sync_api import Page, expect  # noqa: E402

DEMO_PASSWORD = "demo-password"
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile);
});
"""


class Watched:
    """A page whose CSP violations (events and console errors) are collected across navigations."""

    def __init__(self, page: Page):
        self.page = page
        self.console: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._on_console)

    def _on_console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.console.append(f"{self.page.url}: {text}")

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status == 200, url
        assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
        self.assert_clean()

    def assert_clean(self) -> None:
        self.page.wait_for_load_state("load")
        events = self.page.evaluate("window.__cspViolations || []")
        assert not events, f"CSP violations on {self.page.url}: {events}"
        assert not self.console, f"CSP errors in the console: {self.console}"


def _sign_in(page: Page, base_url: str, email: str) -> Watched:
    watched = Watched(page)
    watched.visit(f"{base_url}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#user-menu")).to_contain_text(email)
    watched.assert_clean()
    return watched


def _hrefs(page: Page, pattern: str) -> list[str]:
    hrefs = page.locator("a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    return [h for h in dict.fromkeys(hrefs) if re.fullmatch(pattern, h or "")]


def _first_href(page: Page, pattern: str) -> str:
    found = _hrefs(page, pattern)
    assert found, f"no link matching {pattern} on {page.url}"
    return found[0]


def test_public_pages_and_the_officers_pages_with_scripts(live_server, new_page):
    base = live_server.url
    anonymous = Watched(new_page())
    for path in ("/", "/tenders", "/auth/login"):
        anonymous.visit(base + path)

    page = new_page()
    officer = _sign_in(page, base, "officer@example.org")
    for path in ("/tenders/manage", "/tenders/new", "/contracts", "/inbox"):
        officer.visit(base + path)

    # The opening ceremony of an open tender: the countdown to the opening time ticks (static/countdown.js).
    officer.visit(base + "/tenders/manage?status=open")
    tender = _first_href(page, r"/tenders/\d+")
    officer.visit(base + tender)
    officer.visit(base + _first_href(page, r"/bids/opening/\d+/ceremony"))
    countdown = page.locator(".countdown").first
    expect(countdown).to_have_text(re.compile(r"^\((\d+:)?\d\d:\d\d\)$"))
    first = countdown.text_content()
    expect(countdown).not_to_have_text(first or "", timeout=3000)  # it ticks
    officer.assert_clean()

    # The dashboard's charts are drawn by Chart.js and static/dashboards.js.
    officer.visit(base + "/dashboard")
    assert page.evaluate(
        "Array.from(document.querySelectorAll('canvas')).some(c => window.Chart.getChart(c))"
    )
    officer.assert_clean()

    # A contract's progress bars get their width from data-percent (no style attribute).
    officer.visit(base + "/contracts")
    contract = _first_href(page, r"/contracts/\d+")
    officer.visit(base + contract)
    bars = page.locator(".progress-bar[data-percent]")
    assert bars.count() > 0
    for i in range(bars.count()):
        bar = bars.nth(i)
        percent = float(bar.get_attribute("data-percent") or 0)
        width = bar.evaluate(
            "el => el.getBoundingClientRect().width / el.parentElement.getBoundingClientRect().width"
        )
        assert abs(width * 100 - min(percent, 100)) < 2, (percent, width)

    # Terminating asks first; dismissed, the form is not sent.
    officer.visit(base + contract + "/terminate")
    questions: list[str] = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.locator("form[data-confirm] [type=submit]").first.click()
    page.wait_for_timeout(300)
    assert questions and "Terminate this contract?" in questions[0]
    assert page.url.endswith(contract + "/terminate")
    officer.assert_clean()


def test_print_button_and_confirmed_job_run(live_server, new_page):
    base = live_server.url
    page = new_page()
    officer = _sign_in(page, base, "officer@example.org")
    # The performance report of the demo contract that has been evaluated: its Print button.
    officer.visit(base + "/contracts")
    report = None
    for contract in _hrefs(page, r"/contracts/\d+"):
        officer.visit(base + contract)
        report = next(iter(_hrefs(page, r"/performance/\d+/report")), None)
        if report:
            break
    assert report, "no performance report in the demo data"
    officer.visit(base + report)
    page.evaluate("window.print = function () { window.__printed = true; }")
    page.locator("[data-print]").first.click()
    assert page.evaluate("window.__printed === true")
    officer.assert_clean()

    # An administrator runs a job: the question comes first; dismissed, nothing runs; accepted, it runs.
    admin_page = new_page()
    admin = _sign_in(admin_page, base, "admin@example.org")
    admin.visit(base + "/admin/jobs")
    form = admin_page.locator("form[action$='/admin/jobs/expire-exports/run']")
    admin_page.once("dialog", lambda dialog: dialog.dismiss())
    form.get_by_role("button").click()
    admin_page.wait_for_timeout(300)
    expect(admin_page.get_by_role("alert")).to_have_count(0)
    admin_page.once("dialog", lambda dialog: dialog.accept())
    form.get_by_role("button").click()
    expect(admin_page.get_by_role("alert").first).to_be_visible()
    admin.assert_clean()
