"""Residents' needs in a real browser (issue 21): a grid worker records a need, the officer dispatches it
into a tender draft and publishes the tender, the need's page links the tender, and a resident follows
the need by its receipt code. axe-core checks every page visited (journeys_kit.py)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright cannot be imported")

from journeys_kit import Journey  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

WHAT = "Older residents living alone on the third floor ask for weekly meal delivery"


@pytest.fixture(scope="module")
def journey(browser, journey_server):
    journey = Journey(browser, journey_server.url, "needs")
    yield journey
    journey.close()


def test_a_need_goes_from_the_grid_to_a_published_tender(journey):
    with journey.step("the grid worker records a need"):
        worker = journey.sign_in("worker", "grid1@example.org")
        worker.locator("#mainnav").get_by_role("link", name="Needs").click()
        expect(worker.get_by_role("heading", name="Needs of my grids")).to_be_visible()
        worker.get_by_role("link", name="Record a need").click()
        worker.get_by_label("Service category").select_option("elderly_care")
        worker.get_by_label("What is needed").fill(f"{WHAT}, my name is 张大爷")
        worker.get_by_label("People affected").fill("14")
        worker.get_by_label("Households affected").fill("11")
        worker.get_by_label("Urgency").select_option("high")
        worker.get_by_role("button", name="Record the need").click()
        # A resident's name is refused, with what was typed kept.
        expect(worker.get_by_text("Remove the resident's name")).to_be_visible()
        expect(worker.get_by_label("People affected")).to_have_value("14")
        worker.get_by_label("What is needed").fill(WHAT)
        worker.get_by_role("button", name="Record the need").click()
        notice = worker.get_by_role("alert").filter(has_text=re.compile(r"(Need|open need) [A-Z2-9]{10}"))
        expect(notice).to_be_visible()
        code = re.search(r"[A-Z2-9]{10}", notice.inner_text()).group(0)
        journey.code = code

    with journey.step("the officer dispatches it into a tender draft"):
        officer = journey.sign_in("officer", "officer@example.org")
        officer.locator("#mainnav").get_by_role("link", name="Residents' needs").click()
        expect(officer.get_by_role("heading", name="Dispatch residents' needs")).to_be_visible()
        officer.get_by_role("checkbox", name=f"Choose need {journey.code}").check()
        officer.get_by_role("button", name="Continue with the chosen needs").click()
        expect(officer.get_by_role("heading", name="Dispatch the chosen needs")).to_be_visible()
        officer.get_by_label("Tender title").fill("Meal delivery answering residents' needs")
        officer.get_by_label("Budget ceiling (yuan)").fill("180000")
        officer.get_by_role("button", name="Make the tender draft").click()
        expect(officer).to_have_url(re.compile(r"/tenders/\d+/edit$"))
        expect(officer.get_by_label("Description of the service")).to_contain_text(journey.code)

    with journey.step("the officer publishes the tender"):
        officer.get_by_role("button", name="Save draft").click()
        expect(officer).to_have_url(re.compile(r"/tenders/\d+/preview$"))
        officer.get_by_label(re.compile(r"^I confirm this service is not excluded")).check()
        officer.get_by_role("button", name="Publish", exact=True).click()
        expect(officer).to_have_url(re.compile(r"/tenders/\d+$"))
        expect(officer.get_by_role("heading", level=1)).to_contain_text("Open for bids")
        journey.tender_url = officer.url

    with journey.step("the need links the published tender; the resident follows it"):
        worker.goto(f"{journey.base}/needs/")
        worker.get_by_role("link", name=journey.code).click()
        expect(worker.get_by_text("Dispatched").first).to_be_visible()
        link = worker.get_by_role("link", name="Meal delivery answering residents' needs")
        expect(link).to_have_attribute("href", re.compile(r"/tenders/\d+$"))
        resident = journey.page("resident")
        resident.goto(f"{journey.base}/needs/status")
        resident.get_by_label("Receipt code").fill(journey.code)
        resident.get_by_role("button", name="Look up").click()
        expect(resident.get_by_text("Dispatched").first).to_be_visible()
        expect(resident.get_by_role("link", name="Meal delivery answering residents' needs")).to_be_visible()
        resident.goto(f"{journey.base}/needs/figures")
        expect(resident.locator("#needs-map svg")).to_be_visible()
