"""A procurement officer publishes a tender in a real browser; an anonymous visitor then finds it.

Runs against the app served by ``live_server`` (a subprocess on a demo-seeded SQLite database),
so everything between the browser and the database is the real thing: CSRF tokens, sessions,
redirects, Babel, Bootstrap's JavaScript.
"""

from __future__ import annotations

import gettext
import re
import secrets
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright cannot be imported")

from playwright.sync_api import Page, expect  # noqa: E402

OFFICER_EMAIL = "officer@example.org"
DEMO_PASSWORD = "demo-password"
ZH_CATALOGUE = (
    Path(__file__).resolve().parents[2] / "marketplace/translations/zh_Hans_CN/LC_MESSAGES/messages.mo"
)


def _compiled_zh(msgid: str) -> str | None:
    """The Chinese the server will render for ``msgid``, or None while it is untranslated/uncompiled."""
    if not ZH_CATALOGUE.exists():
        return None
    with ZH_CATALOGUE.open("rb") as fp:
        translated = gettext.GNUTranslations(fp).gettext(msgid)
    return translated if translated != msgid else None


def _sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    page.locator("#mainnav").get_by_role("link", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(OFFICER_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text=f"Signed in as {OFFICER_EMAIL}.")).to_be_visible()
    expect(page.locator("#user-menu")).to_contain_text(OFFICER_EMAIL)


def _draft_tender(page: Page, title: str, unique_word: str) -> str:
    """Fill in the New tender form and save it; returns the bid deadline the form pre-filled."""
    page.locator("#mainnav").get_by_role("link", name="New tender").click()
    expect(page).to_have_url(re.compile(r"/tenders/new$"))
    expect(page.get_by_role("heading", name="New tender", level=1)).to_be_visible()

    page.get_by_label("Title").fill(title)
    page.get_by_label("Description of the service").fill(
        f"Weekly home visits and meal delivery for older residents living alone ({unique_word})."
    )
    page.get_by_label("Service category").select_option(label="Elderly care (养老)")

    method = page.get_by_label("Procurement method")
    method.select_option("public_tender")
    expect(method).to_have_value("public_tender")
    expect(method.locator("option:checked")).to_have_text("Open tender (公开招标)")
    expect(page.get_by_label("Evaluation method")).to_have_value("comprehensive_scoring")

    page.get_by_label("Budget ceiling (yuan)").fill("350000.00")

    # Keep the deadline the form pre-fills: the earliest legal one for an open tender, 09:30.
    deadline = page.get_by_label("Bid deadline and opening time")
    expect(deadline).to_have_value(re.compile(r"^\d{4}-\d{2}-\d{2}T09:30$"))
    prefilled_deadline = deadline.input_value()

    funding = page.get_by_role("group", name="Funding sources")
    expect(funding.get_by_label("County budget (本级财政)")).to_be_checked()
    funding.get_by_label("Higher-level transfer (上级转移支付)").check()

    # Price 30 + criteria 30 + 25 + 15 = 100.
    page.get_by_label("Price weight").fill("30")
    criteria = [
        ("Service plan", "30", "How visits and meals are organized"),
        ("Staff qualifications", "25", "Certified care workers and social workers"),
        ("Past performance", "15", "Comparable contracts in the last three years"),
    ]
    for row, (name, weight, description) in enumerate(criteria, start=1):
        page.get_by_label(f"Criterion {row}", exact=True).fill(name)
        page.get_by_label(f"Weight {row}", exact=True).fill(weight)
        page.get_by_label(f"What the committee looks at {row}", exact=True).fill(description)

    page.get_by_role("button", name="Save draft").click()
    return prefilled_deadline


def _publish_from_preview(page: Page, title: str, prefilled_deadline: str) -> str:
    """On the preview page, confirm O102 and publish; returns the reference number."""
    expect(page).to_have_url(re.compile(r"/tenders/\d+/preview$"))
    expect(page.get_by_role("alert").filter(has_text="Draft saved.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Preview: {title}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    expect(page.get_by_text("The tender meets the publication rules.")).to_be_visible()
    expect(page.get_by_text("(assigned at publication)")).to_be_visible()
    expect(page.get_by_text(prefilled_deadline.replace("T", " "), exact=True)).to_be_visible()
    for criterion in ("Service plan", "Staff qualifications", "Past performance"):
        expect(page.get_by_role("cell", name=criterion, exact=True)).to_be_visible()

    publish = page.get_by_role("button", name="Publish", exact=True)
    expect(publish).to_be_enabled()
    page.get_by_label(re.compile(r"^I confirm this service is not excluded from government purchase")).check()
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    publish.click()

    expect(page).to_have_url(re.compile(r"/tenders/\d+$"))
    assert questions and questions[0].startswith("Publish this tender now?"), questions
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(title)
    expect(heading).to_contain_text("Open for bids")
    expect(page.get_by_role("alert").filter(has_text="is published.")).to_be_visible()

    reference = page.locator("dt", has_text="Reference").locator("xpath=following-sibling::dd[1]")
    expect(reference).to_have_text(re.compile(r"^\d{6}-\d{4}-\d{5}$"))
    ref = reference.inner_text().strip()
    expect(page.get_by_role("alert").filter(has_text=f"Tender {ref} is published.")).to_be_visible()
    expect(page.get_by_text("Higher-level transfer (上级转移支付)")).to_be_visible()
    return ref


def _visitor_finds_tender(page: Page, base_url: str, title: str, unique_word: str, ref: str) -> None:
    page.goto(f"{base_url}/")
    expect(page.locator("#mainnav").get_by_role("link", name="Sign in")).to_be_visible()
    search_box = page.get_by_role("searchbox", name="Search tenders by keyword")
    search_box.fill(unique_word)
    search_box.press("Enter")

    expect(page).to_have_url(re.compile(rf"/tenders\?q={re.escape(unique_word)}$"))
    expect(page.locator("#result-count")).to_have_text("1 tender found")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(ref)
    expect(rows.first).to_contain_text("Open for bids")

    rows.first.get_by_role("link", name=title, exact=True).click()
    expect(page).to_have_url(re.compile(r"/tenders/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Open for bids")
    expect(page.get_by_role("navigation", name="breadcrumb")).to_contain_text(ref)
    expect(page.locator("dt", has_text="Reference").locator("xpath=following-sibling::dd[1]")).to_have_text(
        ref
    )
    # A visitor sees no officer controls.
    expect(page.get_by_role("link", name="Amend")).to_have_count(0)
    expect(page.get_by_role("link", name="Cancel tender")).to_have_count(0)


def _visitor_switches_to_chinese(page: Page, title: str) -> None:
    detail_url = page.url
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("#lang-menu").click()
    page.get_by_role("link", name="中文", exact=True).click()

    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_url(detail_url)  # the switch returns to the same page
    expect(page.locator("#lang-menu")).to_have_text("中文")
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    assert _compiled_zh("Tenders") == "采购项目", "the zh catalogue is not compiled (make test compiles it)"
    expect(page.locator("#mainnav").get_by_role("link", name="采购项目", exact=True)).to_be_visible()


def test_officer_publishes_tender_and_visitor_finds_it(browser, live_server, new_page):
    unique_word = f"Riverside-{secrets.token_hex(4)}"
    title = f"{unique_word} home care for older residents"

    officer = new_page()
    _sign_in(officer, live_server.url)
    prefilled_deadline = _draft_tender(officer, title, unique_word)
    ref = _publish_from_preview(officer, title, prefilled_deadline)

    visitor = new_page()  # a fresh context: anonymous, no cookies from the officer
    _visitor_finds_tender(visitor, live_server.url, title, unique_word, ref)
    _visitor_switches_to_chinese(visitor, title)
