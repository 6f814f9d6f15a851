"""An organization prepares a bid in a real browser, saves it, and submits the saved version with one
click (the cheap path of the deadline rush, docs/bidding.md); the receipt shows when the server
received it and the SHA-256 of the sealed content.

Runs against the app served by ``live_server`` (a subprocess on a demo-seeded SQLite database).
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright cannot be imported")

from playwright.sync_api import Page, expect  # noqa: E402

MEMBER_EMAIL = "org1@example.org"  # a verified demo organization
DEMO_PASSWORD = "demo-password"


def _sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    page.locator("#mainnav").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill(MEMBER_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#user-menu")).to_contain_text(MEMBER_EMAIL)


def _a_tender_to_bid_on(page: Page, base_url: str) -> int:
    """The first open demo tender whose bid form this organization may fill and has not used yet."""
    page.goto(f"{base_url}/tenders?status=open")
    ids = sorted({int(m) for m in re.findall(r'href="/tenders/(\d+)"', page.content())})
    for tender_id in ids:
        page.goto(f"{base_url}/bids/tender/{tender_id}")
        if page.locator('input[name="price"]').count() and not page.get_by_text("Status:").count():
            return tender_id
    pytest.fail(f"no open demo tender takes a bid from {MEMBER_EMAIL}")


def test_an_organization_saves_its_bid_and_submits_the_saved_version(live_server, new_page):
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmation before submitting
    _sign_in(page, live_server.url)
    tender_id = _a_tender_to_bid_on(page, live_server.url)

    # A draft without the declarations is saved, but there is nothing to submit yet.
    page.get_by_label("Price").fill("250000.00")
    for area in page.locator('textarea[name^="response_"]').all():
        area.fill("每周两次上门服务，配备持证社工。 Two home visits a week by certified social workers.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved. It is not submitted yet.")).to_be_visible()
    expect(page.get_by_role("button", name="Submit the saved version")).to_have_count(0)

    # With every declaration made, the saved draft is checked and can be submitted in one click.
    for box in page.locator('input[type="checkbox"][name^="decl_"]').all():
        box.check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved. It is not submitted yet.")).to_be_visible()
    submit_saved = page.get_by_role("button", name="Submit the saved version")
    expect(submit_saved).to_be_visible()
    submit_saved.click()

    expect(page).to_have_url(re.compile(r"/bids/[A-Za-z0-9_-]{22}/receipt$"))
    expect(page.get_by_text("Your bid is submitted. Keep the receipt.")).to_be_visible()
    expect(page.get_by_text("Received by the server at")).to_be_visible()
    expect(page.locator("#digest")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))

    # Back on the bid page: submitted, nothing new to submit.
    page.goto(f"{live_server.url}/bids/tender/{tender_id}")
    expect(page.get_by_text("Status:")).to_contain_text("Submitted")
    expect(page.get_by_role("button", name="Submit the saved version")).to_have_count(0)
