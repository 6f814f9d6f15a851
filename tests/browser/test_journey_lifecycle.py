"""One tender's whole life in a real browser, through the UI only: the officer's, the new organization's
and the experts' journeys meet on it (issue 20, "What to deliver" 1).

- Officer: draft with documents → publish → answer a clarification → amend → form the committee → award
  → contract → accept a milestone → record a payment.
- New organization: register → verified (an administrator confirms the address, the officer checks the
  registration) → find the tender → bid → replace → withdraw → resubmit → sign → log and import service
  records → submit a milestone with evidence.
- Experts: declare (no conflict of interest) → score.

The tests run in file order on the module's own server (``journey_server``), each one a stage of the same
story; ``STORY`` carries what a stage learnt (the tender's id, the contract's...) to the next. Starting
state is the demo data; time passes only through the administrator's training clock. axe-core checks every
page visited; the organization's pages are walked again at 390 × 844 at the end.
"""

from __future__ import annotations

import math
import re
import secrets
from datetime import datetime, timedelta

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright cannot be imported")

from journeys_kit import Journey, assert_fits_narrow_screen  # noqa: E402
from playwright.sync_api import Page, expect  # noqa: E402

WORD = f"Lantern{secrets.token_hex(3)}"
TITLE = f"{WORD} community day care for older residents"
ORG_NAME = "东城区晨光社会工作服务中心"
ORG_USCC = "52110101MJ1234567E"  # a valid check character (marketplace.orgs.uscc)
ORG_EMAIL = f"li.guang.{WORD.lower()}@chenguang.example.org"
ORG_PASSWORD = "Chenguang-journey-2026"
OTHER_BIDDERS = [f"org{n}@example.org" for n in range(1, 8)]  # the verified demo organizations
EXPERTS = (1, 2, 3, 4, 5)  # an open tender of this budget needs five members; the demo pool has twelve
STORY: dict = {}


def pdf(name: str) -> dict:
    """A small PDF whose content differs per name (identical files would be stored once)."""
    body = f"%PDF-1.4\n% {name} {WORD}\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".encode()
    return {"name": name, "mimeType": "application/pdf", "buffer": body}


@pytest.fixture(scope="module")
def journey(browser, journey_server):
    journey = Journey(browser, journey_server.url, "lifecycle")
    yield journey
    journey.close()


def _needs(*keys: str) -> None:
    missing = [k for k in keys if k not in STORY]
    if missing:
        failure = pytest.fail.Exception(f"an earlier stage of the story did not finish (missing {missing})")
        failure._artifacts_saved = True  # nothing new to see on the pages
        raise failure


def _dd(page: Page, term: str):
    return page.locator("dt", has_text=term).first.locator("xpath=following-sibling::dd[1]")


# -- officer: draft with documents, publish ---------------------------------------------------------------
def test_officer_drafts_with_documents_and_publishes(journey):
    officer = journey.sign_in("officer", "officer@example.org")
    with journey.step("officer drafts the tender with documents"):
        officer.locator("#mainnav").get_by_role("link", name="New tender").click()
        expect(officer.get_by_role("heading", name="New tender", level=1)).to_be_visible()
        officer.get_by_label("Title").fill(TITLE)
        officer.get_by_label("Description of the service").fill(
            f"Day care, meals and light rehabilitation for older residents ({WORD})."
        )
        officer.get_by_label("Service category").select_option(label="Elderly care (养老)")
        officer.get_by_label("Procurement method").select_option("public_tender")
        officer.get_by_label("Budget ceiling (yuan)").fill("400000.00")
        officer.get_by_label("Price weight").fill("30")
        for row, (name, weight) in enumerate((("Service plan", "40"), ("Staff", "30")), start=1):
            officer.get_by_label(f"Criterion {row}", exact=True).fill(name)
            officer.get_by_label(f"Weight {row}", exact=True).fill(weight)
            officer.get_by_label(f"What the committee looks at {row}", exact=True).fill(f"{name} quality")
        officer.get_by_label("Tender documents").set_input_files(
            [pdf("tender-documents.pdf"), pdf("service-standards.pdf")]
        )
        officer.get_by_role("button", name="Save draft").click()
        expect(officer).to_have_url(re.compile(r"/tenders/\d+/preview$"))
        expect(officer.get_by_text("tender-documents.pdf").first).to_be_visible()
        expect(officer.get_by_text("service-standards.pdf").first).to_be_visible()
        STORY["tender_id"] = int(re.search(r"/tenders/(\d+)/", officer.url).group(1))
        STORY["deadline"] = None

    with journey.step("officer publishes"):
        officer.get_by_label(re.compile(r"^I confirm this service is not excluded")).check()
        officer.get_by_role("button", name="Publish", exact=True).click()
        expect(officer).to_have_url(re.compile(r"/tenders/\d+$"))
        expect(officer.get_by_role("heading", level=1)).to_contain_text("Open for bids")
        STORY["reference"] = _dd(officer, "Reference").inner_text().strip()
        STORY["deadline"] = _dd(officer, "Bid deadline").inner_text().strip()
        expect(officer.get_by_role("link", name="tender-documents.pdf")).to_be_visible()


# -- new organization: register, get verified -------------------------------------------------------------
def _fill_registration(page: Page, *, uscc: str, password2: str) -> None:
    page.get_by_label("Registered name (Chinese)").fill(ORG_NAME)
    page.get_by_label("Unified social credit code (统一社会信用代码)").fill(uscc)
    page.get_by_label("Organization type").select_option(
        label="Social service agency (社会服务机构 / 民办非企业单位)"
    )
    page.get_by_label("Registration authority (登记管理机关)").fill("北京市东城区民政局")
    page.get_by_label("Founding date").fill("2019-05-01")
    page.get_by_label("Legal representative").fill("张晨")
    page.get_by_label("Contact person").fill("李光")
    page.get_by_label("Phone").fill("010-64001234")
    page.get_by_label("Organization email").fill("info@chenguang.example.org")
    page.get_by_label("Elderly care (养老)").check()
    page.get_by_label("Service areas (districts and streets)").select_option(label="东城区 (whole district)")
    page.get_by_label("Full-time staff").fill("12")
    page.get_by_label("Certified social workers (持证社工)").fill("5")
    page.get_by_label("Latest annual inspection result").select_option(label="Qualified (合格)")
    page.get_by_label("Your name").fill("李光")
    page.get_by_label("Your email (to sign in)").fill(ORG_EMAIL)
    page.get_by_label("Password", exact=True).fill(ORG_PASSWORD)
    page.get_by_label("Repeat the password").fill(password2)


def test_a_new_organization_registers(journey):
    """Issue 20 item 3: every registration error at once, and the certificate kept across them."""
    org = journey.page("organization")
    with journey.step("a registration with three mistakes"):
        org.goto(f"{journey.base}/")
        org.locator("#mainnav").get_by_role("link", name=re.compile("Register")).first.click()
        expect(org.get_by_role("heading", name="Register an organization")).to_be_visible()
        # A code already registered (demo org 5), a founding date to come, two different passwords.
        _fill_registration(org, uscc="52110101MJ00000056", password2=ORG_PASSWORD + "x")
        org.get_by_label("Founding date").fill("2099-01-01")
        org.get_by_label("Registration certificate (登记证书)").set_input_files([pdf("certificate.pdf")])
        org.get_by_role("button", name="Register").click()
        expect(org.get_by_text("is already registered").first).to_be_visible()
        expect(org.get_by_text("The founding date cannot be in the future.")).to_be_visible()
        expect(org.get_by_text("The two passwords differ.")).to_be_visible()
        expect(org.get_by_label(re.compile(r"Already uploaded: certificate\.pdf"))).to_be_checked()

    with journey.step("the corrected registration, without uploading the certificate again"):
        _fill_registration(org, uscc=ORG_USCC, password2=ORG_PASSWORD)
        org.get_by_role("button", name="Register").click()
        expect(org).to_have_url(re.compile(r"/auth/check-email$"))
        expect(org.get_by_role("heading", name="Check your email")).to_be_visible()
        STORY["registered"] = True


def test_the_organization_is_verified(journey):
    _needs("registered")
    admin = journey.sign_in("admin", "admin@example.org")
    with journey.step("the administrator confirms the address (the mail did not arrive)"):
        admin.goto(f"{journey.base}/auth/users")
        admin.get_by_role("searchbox").fill(ORG_EMAIL)
        admin.get_by_role("searchbox").press("Enter")
        admin.get_by_role("link", name=ORG_EMAIL).click()
        admin.get_by_role("button", name="Confirm the email address").click()
        if True:
            expect(_dd(admin, "Email confirmed")).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2}"))

    officer = journey.page("officer")
    with journey.step("the officer checks the registration and verifies it"):
        officer.goto(f"{journey.base}/orgs/review?status=pending")
        officer.get_by_role("link", name=ORG_NAME).first.click()
        expect(officer.get_by_role("link", name="certificate.pdf")).to_be_visible()
        officer.get_by_label(re.compile("I have checked the registration certificate")).check()
        officer.get_by_role("button", name="Verify", exact=True).click()
        expect(officer.get_by_role("alert").first).to_be_visible()
        expect(officer.get_by_text("Verified").first).to_be_visible()

    org = journey.sign_in("organization", ORG_EMAIL, password=ORG_PASSWORD)
    with journey.step("the organization sees it is verified"):
        org.goto(f"{journey.base}/orgs/mine")
        expect(org.get_by_text("Verified").first).to_be_visible()
        STORY["verified"] = True


# -- the organization finds the tender and asks; the officer answers and amends ---------------------------
def test_the_organization_finds_the_tender_and_asks_a_question(journey):
    _needs("verified", "reference")
    org = journey.page("organization")
    with journey.step("the organization searches and asks"):
        org.goto(f"{journey.base}/tenders")
        box = org.get_by_role("searchbox").first
        box.fill(WORD)
        box.press("Enter")
        expect(org.locator("#result-count")).to_have_text("1 tender found")
        org.get_by_role("link", name=TITLE).first.click()
        expect(org.get_by_role("heading", level=1)).to_contain_text(TITLE)
        org.get_by_label("Your question").fill(
            "Can the day care centre open on Saturdays instead of Mondays?"
        )
        org.get_by_role("button", name="Send question").click()
        expect(org.get_by_text("Can the day care centre open on Saturdays").first).to_be_visible()
        STORY["asked"] = True


def test_the_officer_answers_the_clarification_and_amends(journey):
    _needs("asked", "tender_id")
    officer = journey.page("officer")
    tender_url = f"{journey.base}/tenders/{STORY['tender_id']}"
    with journey.step("officer answers the clarification"):
        officer.goto(tender_url)
        officer.get_by_label("Answer", exact=True).first.fill(
            "Yes: Saturday opening is acceptable if the hours are the same."
        )
        with journey.confirmed():
            officer.get_by_role("button", name="Publish answer").click()
            expect(officer.get_by_text("Saturday opening is acceptable").first).to_be_visible()

    with journey.step("officer amends the tender"):
        officer.goto(tender_url)
        officer.get_by_role("link", name="Amend").first.click()
        officer.get_by_label("Reason for the amendment").fill("Saturday opening allowed (clarification 1).")
        description = officer.get_by_label("Description of the service")
        description.fill(description.input_value() + " Saturday opening is allowed.")
        officer.get_by_label("Additional documents").set_input_files([pdf("amended-standards.pdf")])
        officer.get_by_role("radio").first.check()
        with journey.confirmed("Publish this amendment now?"):
            officer.get_by_role("button", name="Publish amendment").click()
            expect(officer).to_have_url(re.compile(rf"/tenders/{STORY['tender_id']}$"))
        expect(officer.get_by_text("Saturday opening allowed (clarification 1).").first).to_be_visible()
        expect(officer.get_by_role("link", name="amended-standards.pdf")).to_be_visible()
        STORY["deadline"] = _dd(officer, "Bid deadline").inner_text().strip()
        STORY["amended"] = True

    org = journey.page("organization")
    with journey.step("the organization reads the answer and the amendment"):
        org.goto(tender_url)
        expect(org.get_by_text("Saturday opening is acceptable").first).to_be_visible()
        expect(org.get_by_text("Saturday opening allowed (clarification 1).").first).to_be_visible()


# -- bids -------------------------------------------------------------------------------------------------
def _fill_bid(page: Page, price: str, text: str) -> None:
    page.get_by_label("Price (yuan)").fill(price)
    for area in page.locator('textarea[name^="response_"]').all():
        area.fill(text)
    for box in page.locator('input[type="checkbox"][name^="decl_"]').all():
        box.check()


def _submit_bid(journey: Journey, page: Page, *, save_first: bool = False) -> str:
    """Submit the bid form (or save it, then submit the saved version); returns the receipt's digest."""
    if save_first:
        page.get_by_role("button", name="Save draft").click()
        expect(page.get_by_text("Draft saved. It is not submitted yet.")).to_be_visible()
        with journey.confirmed("Submit the saved version of your bid now?"):
            page.get_by_role("button", name="Submit the saved version").click()
            expect(page).to_have_url(re.compile(r"/bids/[A-Za-z0-9_-]{22}/receipt$"))
    else:
        with journey.confirmed("Submit this bid now?"):
            page.get_by_role("button", name="Save and submit").click()
            expect(page).to_have_url(re.compile(r"/bids/[A-Za-z0-9_-]{22}/receipt$"))
    expect(page.locator("#digest")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    return page.locator("#digest").inner_text()


def test_the_organization_bids_replaces_and_withdraws(journey):
    _needs("amended")
    org = journey.page("organization")
    bid_url = f"{journey.base}/bids/tender/{STORY['tender_id']}"
    with journey.step("bid"):
        org.goto(f"{journey.base}/tenders/{STORY['tender_id']}")
        org.locator(f"main a[href$='/bids/tender/{STORY['tender_id']}']").first.click()
        expect(org).to_have_url(bid_url)
        _fill_bid(
            org, "330000.00", "晨光方案 v1: day care six days a week with two certified social workers."
        )
        org.get_by_label("Attachments").set_input_files([pdf("service-plan.pdf")])
        first = _submit_bid(journey, org, save_first=True)

    with journey.step("replace the bid: the complete new version (the sealed one cannot be read back)"):
        org.goto(bid_url)
        expect(org.get_by_text("Status:")).to_contain_text("Submitted")
        _fill_bid(org, "320000.00", "晨光方案 v2: day care six days a week, three certified social workers.")
        org.get_by_label("Attachments").set_input_files([pdf("service-plan-v2.pdf")])
        second = _submit_bid(journey, org, save_first=True)
        assert second != first, "the replacement has the digest of the first version"

    with journey.step("withdraw the bid"):
        org.goto(bid_url)
        org.get_by_label("I want to withdraw this bid. It will not be opened.").check()
        with journey.confirmed("Withdraw this bid?"):
            org.get_by_role("button", name="Withdraw", exact=True).click()
            expect(org.get_by_text("Your bid is withdrawn.")).to_be_visible()
        STORY["withdrawn"] = True


@pytest.mark.xfail(
    strict=True,
    reason="not done (issue 20 item 3): a submitted bid on a sealed tender is encrypted and its working "
    "copy erased, so after a withdrawal nobody can read it back to start the next bid; reuse needs a copy "
    "only the organization can open (a design decision still open)",
)
def test_the_next_bid_starts_from_the_withdrawn_one(journey):
    """Issue 20 item 3: a withdrawn bid's content is the start of the next one (work is not lost)."""
    _needs("withdrawn")
    org = journey.page("organization")
    with journey.step("the bid form after the withdrawal"):
        org.goto(f"{journey.base}/bids/tender/{STORY['tender_id']}")
        expect(org.locator("#reused-bid")).to_be_visible()
        expect(org.get_by_label("Price (yuan)")).to_have_value(re.compile(r"^320000(\.00)?$"))
        expect(org.locator('textarea[name^="response_"]').first).to_have_value(re.compile("晨光方案 v2"))


def test_the_organization_resubmits(journey):
    _needs("withdrawn")
    org = journey.page("organization")
    bid_url = f"{journey.base}/bids/tender/{STORY['tender_id']}"
    with journey.step("resubmit"):
        org.goto(bid_url)
        _fill_bid(org, "320000.00", "晨光方案 v2: day care six days a week, three certified social workers.")
        _submit_bid(journey, org)
        org.goto(bid_url)
        expect(org.get_by_text("Status:")).to_contain_text("Submitted")
        STORY["bid"] = True


def test_two_more_organizations_bid(journey):
    """Two demo organizations that may bid (category and service area) bid too: an open tender needs three."""
    _needs("amended")
    bids = 0
    for email in OTHER_BIDDERS:
        page = journey.sign_in(email, email)
        with journey.step(f"{email} bids"):
            page.goto(f"{journey.base}/bids/tender/{STORY['tender_id']}")
            if page.get_by_text("Your organization cannot bid on this tender").count():
                continue
            _fill_bid(page, f"{360000 + 10000 * bids}.00", f"{email}: weekday day care.")
            _submit_bid(journey, page)
            bids += 1
        if bids == 2:
            break
    assert bids == 2, "fewer than two demo organizations may bid on an elderly-care tender"
    STORY["other_bids"] = True


# -- time passes: the training clock ----------------------------------------------------------------------
def _advance_training_clock(journey: Journey, to: datetime) -> None:
    """The administrator moves the platform clock forward to ``to`` (issue 20, "What to deliver" 2)."""
    admin = journey.page("admin")
    admin.goto(f"{journey.base}/")
    admin.locator("#mainnav").get_by_role("link", name="Training clock").click()
    state = admin.locator("#training-clock-state")
    now = datetime.strptime(_dd(state, "Simulated time").inner_text().strip()[:16], "%Y-%m-%d %H:%M")
    hours = math.ceil((to - now).total_seconds() / 3600)
    assert hours > 0, f"the clock is already at {now}, past {to}"
    admin.get_by_label("Move forward by").fill(str(hours))
    admin.get_by_label("Unit").select_option("hours")
    with journey.confirmed("Move the platform clock forward?"):
        admin.get_by_role("button", name="Move the clock forward").click()
        expect(admin.locator("#training-banner")).to_be_visible()
    moved = datetime.strptime(_dd(state, "Simulated time").inner_text().strip()[:16], "%Y-%m-%d %H:%M")
    assert moved >= to, (moved, to)
    expect(admin.locator("#training-banner")).to_contain_text(moved.strftime("%Y-%m-%d %H:%M"))


def _run_job(journey: Journey, name: str) -> None:
    """The administrator runs a scheduled job now (the test server runs no scheduler)."""
    admin = journey.page("admin")
    admin.goto(f"{journey.base}/admin/jobs")
    with journey.confirmed():
        admin.locator(f"form[action$='/admin/jobs/{name}/run']").get_by_role("button").click()
        expect(admin.get_by_role("alert").first).to_be_visible()


def test_the_bid_deadline_passes_on_the_training_clock(journey):
    _needs("bid", "other_bids", "deadline")
    deadline = datetime.strptime(STORY["deadline"][:16], "%Y-%m-%d %H:%M")
    with journey.step("the administrator moves the clock past the bid deadline"):
        _advance_training_clock(journey, deadline + timedelta(minutes=5))
        _run_job(journey, "open-bids")
        STORY["closed"] = True


# -- opening, committee, experts, award -------------------------------------------------------------------
def test_the_officer_opens_the_bids(journey):
    _needs("closed")
    officer = journey.page("officer")
    with journey.step("officer contributes the opening share"):
        officer.goto(f"{journey.base}/tenders/{STORY['tender_id']}")
        officer.get_by_role("link", name="Opening ceremony").first.click()
        officer.get_by_label("Passphrase of your opening key").fill("demo-opening-passphrase")
        officer.get_by_role("button", name="Contribute my share").click()
        expect(officer.get_by_text("Your share was contributed.")).to_be_visible()
        expect(officer.get_by_text(re.compile("the bids decrypted"))).to_be_visible()
        officer.get_by_role("link", name="The opening record").click()
        expect(officer.get_by_text(ORG_NAME).first).to_be_visible()
        expect(officer.get_by_text("¥320,000.00").first).to_be_visible()
        STORY["opened"] = True


def _evaluator(n: int) -> re.Pattern:
    return re.compile(rf"<expert{n}@example\.org>")


def test_the_officer_forms_the_committee(journey):
    """Issue 20 item 1: ticking five experts of a larger pool is enough (no ``required`` on each box)."""
    _needs("opened")
    officer = journey.page("officer")
    with journey.step("officer appoints five experts of the pool"):
        officer.goto(f"{journey.base}/committee/{STORY['tender_id']}")
        members = officer.get_by_role("group", name="Independent experts")
        assert members.get_by_role("checkbox").count() > len(EXPERTS), (
            "the pool is no larger than the committee"
        )
        for n in EXPERTS:
            members.get_by_label(_evaluator(n)).check()
        chair = officer.locator("#committee-chair")
        chair.select_option(
            chair.locator("option").filter(has_text=_evaluator(1)).first.get_attribute("value")
        )
        with journey.confirmed("Appoint this committee?"):
            officer.get_by_role("button", name="Appoint the committee", exact=True).click()
            expect(officer.get_by_role("cell", name=re.compile(r"Evaluator 1(?!\d)")).first).to_be_visible()

    with journey.step("officer records the qualification review"):
        forms = officer.locator("form[action*='/qualify']")
        expect(forms.first).to_be_visible()
        not_reviewed = officer.get_by_text("Not reviewed", exact=True)
        for i in range(forms.count()):
            left = not_reviewed.count()
            form = officer.locator("form[action*='/qualify']").nth(i)
            form.get_by_label("Passes the qualification review").check()
            with journey.confirmed("Record this decision?"):
                form.get_by_role("button", name="Record").click()
                expect(not_reviewed).to_have_count(left - 1)
        expect(not_reviewed).to_have_count(0)
        STORY["committee"] = True


def test_the_experts_declare_and_score(journey):
    _needs("committee")
    for n in EXPERTS:
        expert = journey.sign_in(f"expert{n}", f"expert{n}@example.org")
        with journey.step(f"expert {n} declares no conflict of interest"):
            expert.goto(f"{journey.base}/")
            expert.locator("#mainnav").get_by_role("link", name="My evaluations").click()
            row = expert.get_by_role("row").filter(has_text=STORY["reference"])
            row.get_by_role("link", name="Declare conflicts of interest").click()
            expect(expert.get_by_text(ORG_NAME).first).to_be_visible()
            expert.get_by_label("I declare that the above is true and complete.").check()
            with journey.confirmed("Make this declaration?"):
                expert.get_by_role("button", name="Make the declaration").click()
                expect(expert.get_by_role("alert").first).to_be_visible()

        with journey.step(f"expert {n} scores"):
            expert.goto(f"{journey.base}/committee/seats")
            row = expert.get_by_role("row").filter(has_text=STORY["reference"])
            row.get_by_role("link", name="Score the bids").click()
            points = expert.locator("input[name^='points_']")
            expect(points.first).to_be_visible()
            for box in points.all():
                box.fill(str(int(float(box.get_attribute("max") or "10") * 0.6)))
            mine = expert.locator("section.card").filter(has=expert.get_by_role("heading", name=ORG_NAME))
            for box in mine.locator("input[name^='points_']").all():
                box.fill(box.get_attribute("max") or "10")
            with journey.confirmed("Submit your scores?"):
                expert.get_by_role("button", name="Submit scores").click()
                expect(expert.get_by_role("alert").first).to_be_visible()
    STORY["scored"] = True


def test_the_ranking_is_computed_and_the_experts_sign_the_report(journey):
    _needs("scored")
    officer = journey.page("officer")
    with journey.step("officer computes the ranking"):
        officer.goto(f"{journey.base}/committee/{STORY['tender_id']}")
        expect(officer.get_by_text("Everything is ready: the ranking can be computed.")).to_be_visible()
        with journey.confirmed("Compute and freeze the ranking?"):
            officer.get_by_role("button", name="Compute ranking").click()
            expect(officer.get_by_role("heading", name="Results")).to_be_visible()
        first = officer.locator("#results tbody tr").first
        expect(first).to_contain_text(ORG_NAME)

    with journey.step("the award waits for the signatures"):
        award = officer.get_by_role("button", name="Confirm the award and publish the notice")
        expect(award).to_be_disabled()
        expect(officer.locator("#award-blocked")).to_be_visible()

    for n in EXPERTS:
        expert = journey.page(f"expert{n}")
        with journey.step(f"expert {n} signs the evaluation report"):
            expert.goto(f"{journey.base}/committee/seats")
            row = expert.get_by_role("row").filter(has_text=STORY["reference"])
            row.get_by_role("link", name="Sign the evaluation report").click()
            with journey.confirmed():
                expert.get_by_role("button", name="Sign the evaluation report").click()
                expect(expert.get_by_role("alert").first).to_be_visible()
    STORY["signed_report"] = True


def test_the_officer_awards(journey):
    _needs("signed_report")
    officer = journey.page("officer")
    with journey.step("officer confirms the award"):
        officer.goto(f"{journey.base}/committee/{STORY['tender_id']}")
        award = officer.get_by_role("button", name="Confirm the award and publish the notice")
        expect(award).to_be_enabled()
        winner = officer.get_by_label("Winning bid")
        winner.select_option(winner.locator("option").filter(has_text=ORG_NAME).first.get_attribute("value"))
        with journey.confirmed("Confirm the award and publish the award notice now?"):
            award.click()
            expect(officer.locator("#award-status")).to_be_visible()
        expect(officer.locator("#award-status")).to_contain_text(ORG_NAME)
        STORY["awarded"] = True


def test_the_standstill_passes_and_the_contract_is_signed(journey):
    _needs("awarded")
    officer = journey.page("officer")
    with journey.step("the administrator moves the clock past the challenge period"):
        officer.goto(f"{journey.base}/committee/{STORY['tender_id']}")
        ends = _dd(officer.locator("#award-status"), "Challenge deadline").inner_text().strip()
        _advance_training_clock(journey, datetime.strptime(ends[:16], "%Y-%m-%d %H:%M") + timedelta(hours=2))
        _run_job(journey, "finalize-awards")

    with journey.step("officer drafts and signs the contract"):
        officer.goto(f"{journey.base}/tenders/{STORY['tender_id']}")
        officer.get_by_role("link", name="Draft the contract").click()
        value = officer.get_by_text(re.compile(r"¥[\d,]+\.\d\d")).first.inner_text()
        amount = re.search(r"¥([\d,]+\.\d\d)", value).group(1).replace(",", "")
        start = datetime.strptime(_today(officer), "%Y-%m-%d")  # the term starts on the (simulated) day
        officer.get_by_label("Title").fill(f"{TITLE} — service contract")
        officer.get_by_label("First day of the term").fill(start.strftime("%Y-%m-%d"))
        officer.get_by_label("Last day of the term").fill((start + timedelta(days=364)).strftime("%Y-%m-%d"))
        officer.get_by_label("Scope of the service").fill("Day care six days a week.")
        officer.get_by_label("Service target 1", exact=True).fill("Residents served")
        officer.get_by_label("Unit 1", exact=True).fill("persons")
        officer.get_by_label("Quantity 1", exact=True).fill("60")
        # Two milestones whose amounts add up to the value; the last one is the final acceptance.
        cents = round(float(amount) * 100)
        rows = [
            ("Start-up and needs assessment", 10, cents // 2),
            ("Final acceptance", 360, cents - cents // 2),
        ]
        for n, (deliverable, days, share) in enumerate(rows, start=1):
            officer.get_by_label(f"Deliverable {n}", exact=True).fill(deliverable)
            due = (start + timedelta(days=days)).strftime("%Y-%m-%d")
            officer.get_by_label(f"Due date {n}", exact=True).fill(due)
            officer.get_by_label(f"Amount (yuan) {n}", exact=True).fill(f"{share / 100:.2f}")
        officer.get_by_label("Final acceptance 2", exact=True).check()
        officer.get_by_role("button", name="Save the draft").click()
        expect(officer).to_have_url(re.compile(r"/contracts/\d+$"))
        STORY["contract_id"] = int(re.search(r"/contracts/(\d+)$", officer.url).group(1))
        with journey.confirmed("Sign this contract?"):
            officer.get_by_role("button", name="Sign the contract").click()
            expect(officer.locator("#signatures ~ ul, #signatures + *").first).to_contain_text("signed")

    org = journey.page("organization")
    with journey.step("the organization signs"):
        org.goto(f"{journey.base}/contracts")
        org.get_by_role("link", name=re.compile(WORD)).first.click()
        with journey.confirmed("Sign this contract?"):
            org.get_by_role("button", name="Sign the contract").click()
            expect(org.get_by_role("heading", level=1)).to_contain_text("Active")
        STORY["signed"] = True


# -- delivery: service records, milestone, acceptance, payment --------------------------------------------
def test_the_organization_logs_and_imports_service_records(journey):
    _needs("signed", "contract_id")
    org = journey.page("organization")
    records_url = f"{journey.base}/contracts/{STORY['contract_id']}/records"
    with journey.step("log one service record"):
        org.goto(f"{journey.base}/contracts/{STORY['contract_id']}")
        org.get_by_role("link", name="Service records").first.click()
        expect(org).to_have_url(records_url)
        day = _today(org)
        log = org.locator("form").filter(has=org.get_by_role("button", name="Log the service"))
        log.get_by_label("Service date").fill(day)
        activity = log.get_by_label("Activity", exact=True)
        activity.select_option(index=1)
        STORY["activity"] = activity.locator("option:checked").inner_text().strip()
        log.get_by_label("Beneficiaries (number of people)").fill("8")
        log.get_by_label("Hours", exact=True).fill("3")
        log.get_by_label("Notes").fill("Day care and lunch, first week.")
        log.get_by_role("button", name="Log the service").click()
        expect(org.get_by_text("Day care and lunch, first week.").first).to_be_visible()

    with journey.step("import service records from a CSV file, preview, confirm"):
        org.get_by_role("link", name="Import many records from a file (CSV or Excel)").click()
        rows = [
            "Service date,Activity,Beneficiaries,Hours,Notes",
            f"{day},{STORY['activity']},6,2,Group exercise",
            f"{day},{STORY['activity']},5,2,Health talk",
        ]
        org.get_by_label("File of service records (.csv or .xlsx)").set_input_files(
            [{"name": "records.csv", "mimeType": "text/csv", "buffer": "\n".join(rows).encode("utf-8")}]
        )
        org.get_by_role("button", name="Check the file").click()
        expect(org.get_by_role("cell", name="Group exercise")).to_be_visible()
        expect(org.get_by_role("cell", name="Health talk")).to_be_visible()
        with journey.confirmed("Store these 2 service records?"):
            org.get_by_role("button", name="Store 2 records").click()
            expect(org.get_by_role("alert").first).to_be_visible()
        org.goto(records_url)
        expect(org.get_by_text("Health talk").first).to_be_visible()
        expect(org.get_by_text("Group exercise").first).to_be_visible()
        STORY["records"] = True


def _today(page: Page) -> str:
    """The platform's date, as the page footer or banner shows it (the training clock moved it)."""
    text = page.locator("body").inner_text()
    found = re.search(r"Simulated time:?\s*(\d{4}-\d{2}-\d{2})", text)
    assert found, "the page does not show the platform's date"
    return found.group(1)


def test_the_organization_submits_a_milestone_with_evidence(journey):
    _needs("signed", "contract_id")
    org = journey.page("organization")
    with journey.step("submit the milestone with evidence"):
        org.goto(f"{journey.base}/contracts/{STORY['contract_id']}")
        org.get_by_role("link", name="Submit", exact=True).first.click()
        org.get_by_label("Report on the deliverable").fill("Needs assessment of 40 residents done.")
        org.get_by_label("Evidence").set_input_files([pdf("needs-assessment.pdf")])
        org.get_by_role("button", name="Submit for acceptance").click()
        expect(org.get_by_role("link", name="needs-assessment.pdf").first).to_be_visible()
        STORY["milestone_url"] = org.url.removesuffix("/submit")


def test_the_officer_accepts_the_milestone_and_records_the_payment(journey):
    _needs("milestone_url")
    officer = journey.page("officer")
    with journey.step("accept the milestone"):
        officer.goto(STORY["milestone_url"])
        expect(officer.get_by_role("link", name="needs-assessment.pdf")).to_be_visible()
        officer.get_by_role("button", name="Accept the milestone").click()
        expect(officer.get_by_text("Accepted").first).to_be_visible()

    with journey.step("record the payment"):
        officer.goto(f"{journey.base}/contracts/{STORY['contract_id']}/payments")
        officer.get_by_label("Paid on").fill(_today(officer))
        officer.get_by_label("For milestone").select_option(index=1)
        due = _dd(officer, "Due and not yet paid").inner_text()
        officer.get_by_label("Amount (yuan)").fill(re.sub(r"[^\d.]", "", due))
        officer.get_by_label("Payment reference (voucher number)").fill(f"GK-{WORD}")
        officer.get_by_role("button", name="Record the payment").click()
        expect(officer.get_by_role("cell", name=f"GK-{WORD}")).to_be_visible()
        expect(_dd(officer, "Due and not yet paid")).to_have_text("¥0.00")


# -- the organization's and the public pages on a phone ---------------------------------------------------
def test_the_organizations_pages_on_a_phone(journey):
    """Every page the organization visited, and the public tender pages, at 390 × 844 (axe-core too)."""
    visited = [url for url in journey.visited("organization") if "/auth/" not in url]
    assert visited, "the organization visited no page"
    phone = journey.sign_in("organization-phone", ORG_EMAIL, mobile=True, password=ORG_PASSWORD)
    anonymous = journey.page("visitor-phone", mobile=True)
    for page, urls in ((phone, visited), (anonymous, [f"{journey.base}/tenders", *visited[:0]])):
        for url in urls:
            with journey.step(f"phone: {url}"):
                response = page.goto(url)
                assert response is not None and response.status == 200, (url, response and response.status)
                assert_fits_narrow_screen(page)
    if "tender_id" in STORY:
        with journey.step("phone: the public tender page"):
            anonymous.goto(f"{journey.base}/tenders/{STORY['tender_id']}")
            expect(anonymous.get_by_role("heading", level=1)).to_contain_text(TITLE)
            assert_fits_narrow_screen(anonymous)
