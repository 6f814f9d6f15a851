"""The auditor's journey in a real browser: a contract's timeline, each export downloaded and opened
(CSV, XLSX, JSON parsed), then the audit log showing those exports. axe-core checks every page visited.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright cannot be imported")

from journeys_kit import Journey  # noqa: E402
from playwright.sync_api import Page, expect  # noqa: E402

CONTRACT_REF = re.compile(r"HT-\d{6}-\d{4}-\d{5}")
EXPORTS = ("CSV (contracts)", "CSV (histories)", "XLSX (all sheets)", "JSON")


@pytest.fixture(scope="module")
def journey(browser, journey_server):
    journey = Journey(browser, journey_server.url, "auditor")
    yield journey
    journey.close()


@pytest.fixture(scope="module")
def auditor(journey) -> Page:
    return journey.sign_in("auditor", "auditor@example.org")


@pytest.fixture(scope="module")
def contract_refs(journey, auditor) -> set[str]:
    """The references of the contracts the auditor's list shows (the demo's signed contracts)."""
    auditor.goto(f"{journey.base}/auditor/contracts")
    refs = set(CONTRACT_REF.findall(auditor.locator("main table").inner_text()))
    assert refs, "the demo has no contract"
    return refs


@pytest.fixture(scope="module")
def exported_count(journey, auditor) -> int:
    """How many contracts the export buttons say they export ("Export N contract(s):")."""
    auditor.goto(f"{journey.base}/auditor/contracts")
    found = re.search(r"Export (\d+) contract", auditor.locator("main").inner_text())
    assert found, "the page does not say how many contracts an export holds"
    return int(found.group(1))


def test_the_auditor_reads_a_contract_timeline(journey, auditor, contract_refs):
    with journey.step("contract histories → one contract's timeline"):
        auditor.locator("#mainnav").get_by_role("link", name="Contract histories").click()
        expect(auditor.get_by_role("heading", level=1)).to_have_text("Contract histories")
        ref = sorted(contract_refs)[0]
        auditor.get_by_role("row").filter(has_text=ref).get_by_role("link", name="History").click()
        expect(auditor).to_have_url(re.compile(r"/auditor/contracts/\d+/history$"))
        expect(auditor.locator("main")).to_contain_text(ref)
        timeline = auditor.get_by_role("table").filter(has_text="What happened")
        for step in ("Tender drafted", "Publication", "Bid", "Bid opening"):
            expect(timeline.get_by_role("cell", name=step, exact=True).first).to_be_visible()


def _download(journey: Journey, page: Page, button: str) -> tuple[str, bytes]:
    """Click an export button: small exports download at once; big ones are written in the background and
    downloaded from the export's status page once it says Ready."""
    page.goto(f"{journey.base}/auditor/contracts")
    downloads: list = []

    def _on_download(download) -> None:
        downloads.append(download)

    page.on("download", _on_download)
    try:
        page.get_by_role("button", name=button, exact=True).click()
        for _ in range(100):  # wait for one of the two outcomes, whichever comes (at most 10 s)
            if downloads or re.search(r"/auditor/exports/\d+$", page.url):
                break
            page.wait_for_timeout(100)
        if not downloads:
            expect(page).to_have_url(re.compile(r"/auditor/exports/\d+$"))
            expect(page.get_by_text("Ready").first).to_be_visible()
            with page.expect_download() as download_info:
                page.get_by_role("button", name=re.compile(r"^Download")).first.click()
            downloads.append(download_info.value)
    finally:
        page.remove_listener("download", _on_download)
    download = downloads[0]
    path = download.path()
    assert path is not None, f"{button}: the download failed ({download.failure()})"
    with open(path, "rb") as fp:
        return download.suggested_filename, fp.read()


def test_the_auditor_downloads_and_opens_each_export(journey, auditor, contract_refs, exported_count):
    files: dict[str, tuple[str, bytes]] = {}
    with journey.step("download every export"):
        for button in EXPORTS:
            files[button] = _download(journey, auditor, button)

    with journey.step("open the contracts CSV"):
        name, body = files["CSV (contracts)"]
        assert name.endswith(".csv"), name
        assert body.startswith(b"\xef\xbb\xbf"), "the CSV has no byte-order mark (Excel shows mojibake)"
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
        assert len(rows) == exported_count, rows
        assert {value for row in rows for value in row.values()} >= contract_refs

    with journey.step("open the histories CSV"):
        name, body = files["CSV (histories)"]
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert len(rows) > 10, f"{name}: {len(rows)} rows"
        assert {ref for row in rows for cell in row for ref in CONTRACT_REF.findall(cell)} >= contract_refs

    with journey.step("open the XLSX workbook"):
        openpyxl = pytest.importorskip("openpyxl")
        name, body = files["XLSX (all sheets)"]
        assert name.endswith(".xlsx"), name
        workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        assert len(workbook.sheetnames) >= 5, workbook.sheetnames
        cells = {
            str(value)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        }
        assert cells >= contract_refs

    with journey.step("open the JSON file"):
        name, body = files["JSON"]
        data = json.loads(body.decode("utf-8"))
        text = json.dumps(data, ensure_ascii=False)
        for ref in contract_refs:
            assert ref in text, f"{ref} is not in {name}"


def test_the_audit_log_records_the_exports(journey, auditor):
    with journey.step("the audit log"):
        auditor.goto(f"{journey.base}/")
        auditor.locator("#mainnav").get_by_role("link", name="Audit log").click()
        expect(auditor.get_by_role("heading", level=1)).to_have_text("Audit log")
        auditor.get_by_label("Actor email contains").fill("auditor@example.org")
        auditor.get_by_label("Action", exact=True).fill("export.contracts")
        auditor.get_by_role("button", name="Filter").click()
        rows = auditor.get_by_role("row").filter(has_text="export.contracts")
        expect(rows).to_have_count(len(EXPORTS))
        for fmt in (r"as csv \(contracts\)", r"as csv \(history\)", r"as xlsx", r"as json"):
            expect(rows.filter(has_text=re.compile(fmt)).first).to_be_visible()
