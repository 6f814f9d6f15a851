"""A member of the public, signed in nowhere: searches tenders in English and in Chinese, reads an award
notice and the transparency pages, and answers a satisfaction survey. Walked on a desktop and on a
390 × 844 phone; axe-core checks every page visited (journeys_kit.py).
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright cannot be imported")

from journeys_kit import Journey, assert_fits_narrow_screen  # noqa: E402
from playwright.sync_api import Page, expect  # noqa: E402

DEVICES = ["desktop", "phone"]


@pytest.fixture(scope="module")
def journey(browser, journey_server):
    journey = Journey(browser, journey_server.url, "public")
    yield journey
    journey.close()


@pytest.fixture(scope="module")
def survey(journey) -> dict:
    """The survey link the agency prints on its poster, read from the officer's survey page of the first
    demo contract; and that page's URL (where the officer reads the answers)."""
    officer = journey.sign_in("officer", "officer@example.org")
    officer.goto(f"{journey.base}/contracts")
    officer.locator("main a[href^='/contracts/']").filter(has_text=re.compile(r"\S")).first.click()
    officer.get_by_role("link", name=re.compile("Survey link")).click()
    link = officer.locator("main a[href*='/s/']").filter(has_text=re.compile(r"^http"))
    href = link.first.get_attribute("href") or ""
    assert re.search(r"/s/[A-Za-z0-9_-]+$", href), href
    return {"link": href, "results": officer.url}


def _visitor(journey: Journey, device: str) -> Page:
    return journey.page(f"visitor-{device}", mobile=device == "phone")


def _dd(page: Page, term: str):
    return page.locator("dt", has_text=term).first.locator("xpath=following-sibling::dd[1]")


def _search(page: Page, words: str) -> None:
    box = page.get_by_role("searchbox").first
    box.fill(words)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/tenders\?"))


def _switch_language(page: Page, name: str) -> None:
    menu = page.locator("#lang-menu")
    if not menu.is_visible():  # collapsed navigation on a phone
        page.get_by_role("button", name=re.compile("Menu|菜单")).click()
        expect(menu).to_be_visible()
        page.locator("#mainnav.show:not(.collapsing)").wait_for()
    menu.click()
    choice = page.locator("[aria-labelledby='lang-menu']").get_by_role("link", name=name, exact=True)
    expect(choice).to_be_visible()
    choice.click()


@pytest.mark.parametrize("device", DEVICES)
def test_search_in_english_and_in_chinese(journey, device):
    page = _visitor(journey, device)
    with journey.step(f"{device}: search in English"):
        page.goto(f"{journey.base}/")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        _search(page, "elderly")
        expect(page.locator("#result-count")).to_have_text(re.compile(r"^[1-9]\d* tenders? found$"))
        first = page.locator("#result-count ~ * a[href^='/tenders/']").first
        expect(first).to_be_visible()
        first.click()
        expect(page).to_have_url(re.compile(r"/tenders/\d+$"))
        expect(page.get_by_role("heading", level=1)).to_be_visible()

    with journey.step(f"{device}: a search that finds nothing says so"):
        page.goto(f"{journey.base}/tenders")
        _search(page, "zzqx-nothing-like-this")
        expect(page.locator("#result-count")).to_have_text("0 tenders found")
        expect(page.get_by_text("No tender matches these filters.")).to_be_visible()

    with journey.step(f"{device}: search in Chinese"):
        _switch_language(page, "中文")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        page.goto(f"{journey.base}/tenders")
        _search(page, "养老")
        count = page.locator("#result-count")
        expect(count).to_have_text(re.compile(r"[1-9]\d*"))
        expect(count).not_to_contain_text("found")  # the count reads in Chinese
        # Item 8 of issue 20: an empty search must not claim that nothing was ever published.
        _search(page, "zzqx-nothing-like-this")
        expect(count).to_have_text(re.compile(r"\b0\b|零"))
        expect(page.get_by_text("尚未发布任何采购项目")).to_have_count(0)
        _switch_language(page, "English")
        expect(page.locator("html")).to_have_attribute("lang", "en")


@pytest.mark.parametrize("device", DEVICES)
def test_award_notice_and_transparency_pages(journey, device):
    page = _visitor(journey, device)
    with journey.step(f"{device}: the transparency overview and its pages"):
        page.goto(f"{journey.base}/")
        page.goto(f"{journey.base}/open/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Open data")
        for name in ("Award notices", "Contracts", "Acceptance results", "Audit log heads"):
            page.get_by_role("link", name=name, exact=True).first.click()
            expect(page).to_have_url(re.compile(r"/open/[a-z-]+"))
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            journey.check_accessibility()
            if device == "phone":
                assert_fits_narrow_screen(page)
        page.get_by_role("link", name="Overview", exact=True).first.click()
        page.get_by_label("Service category", exact=True).select_option(label="Elderly care (养老)")
        page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"category=elderly_care"))
        expect(page.get_by_role("cell", name="Elderly care (养老)").first).to_be_visible()

    with journey.step(f"{device}: an award notice"):
        page.goto(f"{journey.base}/open/awards")
        row = page.locator("main tr").filter(has=page.locator("a[href$='/notice']")).first
        expect(row).to_be_visible()
        row_text = row.inner_text()
        row.locator("a[href$='/notice']").first.click()
        expect(page).to_have_url(re.compile(r"/tenders/\d+/notice$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Award notice")
        winner = _dd(page, "Winner").inner_text().strip().splitlines()[0]
        assert winner and winner in row_text, (winner, row_text)
        if device == "phone":
            assert_fits_narrow_screen(page)


@pytest.mark.parametrize("device", DEVICES)
def test_a_service_recipient_answers_the_survey(journey, survey, device):
    page = _visitor(journey, device)
    with journey.step(f"{device}: the survey"):
        page.goto(survey["link"])
        expect(page.get_by_role("heading", level=1)).to_have_text("Satisfaction survey")
        for question in range(1, 5):
            page.locator(f"input[name=q{question}]").nth(4 - (question % 2)).check()
        page.get_by_label("Anything you would like to tell us (optional)").fill(
            "服务很周到。The visits were always on time."
        )
        page.get_by_role("button", name="Send my answers").click()
        expect(page).to_have_url(re.compile(r"/s/[A-Za-z0-9_-]+/thanks$"))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        if device == "phone":
            assert_fits_narrow_screen(page)


def test_a_survey_comment_with_a_phone_number_is_refused(journey, survey):
    """Issue 20 item 8: the form says no phone numbers; one written anyway is not taken, nor shown."""
    page = journey.page("visitor-third-device")
    with journey.step("a comment with a phone number"):
        page.goto(survey["link"])
        for question in range(1, 5):
            page.locator(f"input[name=q{question}]").nth(2).check()
        comment = page.get_by_label("Anything you would like to tell us (optional)")
        comment.fill("请回电 13912345678 谢谢")
        page.get_by_role("button", name="Send my answers").click()
        expect(page.get_by_text(re.compile("Remove the phone number"))).to_be_visible()
        expect(page.locator("input[name=q1]").nth(2)).to_be_checked()  # the answers are kept
        comment.fill("请周末也上门。")
        page.get_by_role("button", name="Send my answers").click()
        expect(page).to_have_url(re.compile(r"/thanks$"))
    officer = journey.page("officer")
    with journey.step("the officer's results do not show the number"):
        officer.goto(survey["results"])
        expect(officer.get_by_role("heading", level=1)).to_be_visible()
        expect(officer.get_by_text("13912345678")).to_have_count(0)


def test_the_site_icon_is_served(journey):
    page = _visitor(journey, "desktop")
    with journey.step("favicon"):
        response = page.request.get(f"{journey.base}/favicon.ico")
        assert response.status == 200, response.status


def test_the_tender_list_is_readable_on_a_phone(journey):
    """Item 5 of issue 20: at 390 px the list must not squeeze titles to a sliver or scroll sideways."""
    page = _visitor(journey, "phone")
    with journey.step("phone: the tender list"):
        page.goto(f"{journey.base}/tenders")
        titles = page.locator("main a[href^='/tenders/']")
        expect(titles.first).to_be_visible()
        widths = titles.evaluate_all(
            "els => els.filter(e => /^\\/tenders\\/\\d+$/.test(e.getAttribute('href')))"
            ".map(e => [e.textContent.trim(), e.getBoundingClientRect().width])"
        )
        assert widths, "no tender titles on the list"
        narrow = [(t, round(w)) for t, w in widths if w < 200]
        assert not narrow, f"tender titles squeezed on a 390 px screen: {narrow[:5]}"
        assert_fits_narrow_screen(page)
