"""OCDS 1.1 open data: the demo export validates, sealed bids never appear, records compile, the API pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import ocdsmerge.util
import pytest
import requests

from marketplace import clock
from marketplace.ocds import feed as ocds_feed
from marketplace.ocds import merge
from marketplace.ocds import services as ocds_services
from marketplace.ocds.merge import compile_releases
from marketplace.ocds.process import ocid_of
from marketplace.ocds.releases import releases_for
from marketplace.tenders.amendments import amend
from tests import bid_factories as bf
from tests import factories
from tests.bid_factories import open_sealed

# The shared validator sits beside the repository (../shared/ocds); OCDS_VALIDATOR or the workplace's
# /work/shared copy serve a checkout made elsewhere (a CI worktree, say).
_CANDIDATES = [
    Path(os.environ["OCDS_VALIDATOR"]) if os.environ.get("OCDS_VALIDATOR") else None,
    Path(__file__).resolve().parents[2] / "shared" / "ocds" / "validate_ocds.py",
    Path("/work/shared/ocds/validate_ocds.py"),
]
VALIDATOR = next((p for p in _CANDIDATES if p is not None and p.is_file()), _CANDIDATES[1])


def _validate(path: Path) -> str:
    if not VALIDATOR.is_file():
        pytest.skip(f"the OCDS validator is not at {VALIDATOR}")
    result = subprocess.run(
        [sys.executable, str(VALIDATOR), "--quiet", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " 0 errors" in last, last
    return last


def _numbers(obj, path=""):
    """Every (path, value) of an ``amount`` field."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "amount":
                yield f"{path}.{key}", value
            yield from _numbers(value, f"{path}.{key}")
    elif isinstance(obj, list):
        for item in obj:
            yield from _numbers(item, path + "[]")


def test_demo_export_validates_as_release_and_record_package(app, db, tmp_path):
    runner = app.test_cli_runner()
    seeded = runner.invoke(args=["seed", "demo"])
    assert seeded.exit_code == 0, seeded.output
    releases_file, records_file = tmp_path / "releases.json", tmp_path / "records.json"
    result = runner.invoke(args=["export", "ocds", "--out", str(releases_file)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["export", "ocds", "--records", "--out", str(records_file)])
    assert result.exit_code == 0, result.output

    assert "0 errors" in _validate(releases_file)
    assert "0 errors" in _validate(records_file)

    package = json.loads(releases_file.read_text(encoding="utf-8"))
    releases = package["releases"]
    tags = {tag for r in releases for tag in r["tag"]}
    assert {"tender", "tenderUpdate", "tenderCancellation", "award", "awardUpdate", "contract"} <= tags
    assert "implementation" in tags
    amounts = list(_numbers(package))
    assert amounts and all(isinstance(v, int | float) and not isinstance(v, bool) for _, v in amounts)
    assert len({(r["ocid"], r["id"]) for r in releases}) == len(releases)

    # No draft: every release's tender was published; the demo's 4 drafts have no ocid at all.
    from sqlalchemy import select

    from marketplace.tenders.models import Tender

    drafts = list(db.session.scalars(select(Tender).where(Tender.status == "draft")))
    assert drafts
    ocids = {r["ocid"] for r in releases}
    assert not {ocid_of(t) for t in drafts} & ocids
    # No personal data: contact people, phones and emails of tenders and organizations.
    text = releases_file.read_text(encoding="utf-8")
    for t in db.session.scalars(select(Tender)):
        assert not t.contact_phone or t.contact_phone not in text
        assert not t.contact_email or t.contact_email not in text
    assert "@example.org" not in text and "legal_representative" not in text

    records = json.loads(records_file.read_text(encoding="utf-8"))["records"]
    assert len(records) == len(ocids)
    contracted = [r for r in records if "contracts" in r["compiledRelease"]]
    assert contracted
    compiled = contracted[0]["compiledRelease"]
    contract = compiled["contracts"][0]
    assert compiled["tag"] == ["compiled"] and compiled["awards"][0]["status"] == "active"
    assert contract["implementation"]["transactions"][0]["value"]["currency"] == "CNY"
    assert {ms["status"] for ms in contract["milestones"]} >= {"met", "scheduled"}


@pytest.fixture
def open_tender_with_bids(world, db):
    tender = factories.published(world["officer"], bid_deadline=factories.deadline_in(29))
    bidders = []
    for n, price in enumerate(("311111.11", "322222.22", "333333.33")):
        org, member = bf.organization(f"投标机构{n}号SEALED")
        bf.submitted_bid(tender, org, member, price=price, marker=f"SEALED-{n}")
        bidders.append((org, price))
    db.session.commit()
    return tender, bidders


def _everything(client, tender) -> str:
    ocid = ocid_of(tender)
    ocds_feed.position_all()  # what the ocds-feed job does: the feed lists positioned releases
    bodies = [
        client.get(url).get_data(as_text=True)
        for url in (
            "/api/v1/ocds/releases?limit=100",
            "/api/v1/ocds/records?limit=100",
            f"/api/v1/ocds/releases/{ocid}",
            f"/api/v1/ocds/records/{ocid}",
        )
    ]
    return "\n".join(bodies) + json.dumps(releases_for(tender), ensure_ascii=False)


def test_a_tender_still_open_exposes_no_bid(client, open_tender_with_bids, db, tmp_path):
    tender, bidders = open_tender_with_bids
    text = _everything(client, tender)
    assert ocid_of(tender) in text
    for org, price in bidders:
        for secret in (org.name, org.uscc, price, f"{float(price):,.2f}", str(float(price))):
            assert secret not in text, secret
    assert "SEALED" not in text
    assert "numberOfTenderers" not in text and "tenderers" not in text and '"tenderer"' not in text

    # At the deadline the opening record makes bidders (never prices) public.
    clock.set_now(tender.bid_deadline + timedelta(minutes=1))
    open_sealed(tender)
    db.session.commit()
    text = _everything(client, tender)
    record = client.get(f"/api/v1/ocds/records/{ocid_of(tender)}").json["records"][0]
    assert record["compiledRelease"]["tender"]["numberOfTenderers"] == 3
    for org, price in bidders:
        assert org.uscc in text
        assert price not in text and str(float(price)) not in text


def test_draft_has_no_release_and_amendments_are_releases(client, world, db, tmp_path):
    draft = factories.draft(world["officer"])
    tender = factories.published(world["officer"])
    clock.advance(timedelta(days=1))
    amend(
        tender,
        {"reason": "预算调整 Budget raised", "budget_ceiling": Decimal("500000.00")},
        world["officer"],
    )
    db.session.commit()
    assert releases_for(draft) == []
    assert client.get(f"/api/v1/ocds/records/{ocid_of(draft)}").status_code == 404

    releases = releases_for(tender)
    ocid = ocid_of(tender)
    assert [r["id"] for r in releases] == [f"{ocid}-tender-0", f"{ocid}-tender-1"]
    assert releases[0]["tag"] == ["tender"] and releases[1]["tag"] == ["tenderAmendment"]
    # Each release tells the process as it stood then; the compiled release has the latest values.
    assert releases[0]["tender"]["value"] == {"amount": 480000.0, "currency": "CNY"}
    assert releases[1]["tender"]["value"]["amount"] == 500000.0
    assert releases[1]["tender"]["amendments"][0]["amendsReleaseID"] == f"{ocid}-tender-0"
    body = client.get(f"/api/v1/ocds/records/{ocid}")
    compiled = body.json["records"][0]["compiledRelease"]
    assert compiled["tender"]["value"]["amount"] == 500000.0 and compiled["tender"]["status"] == "active"
    assert "王老师" not in body.get_data(as_text=True)  # the contact person is personal data

    out = tmp_path / "records.json"
    out.write_text(body.get_data(as_text=True), encoding="utf-8")
    _validate(out)


def test_merge_follows_the_ocds_rules():
    releases = [
        {
            "ocid": "ocds-abc123-1",
            "id": "2",
            "date": "2026-03-12T00:00:00Z",
            "tag": ["award"],
            "tender": {"id": "T", "status": "complete"},
            "awards": [{"id": "a1", "status": "pending", "value": {"amount": 10.5, "currency": "CNY"}}],
            "parties": [{"id": "p2", "name": "Org", "roles": ["tenderer", "supplier"]}],
        },
        {  # given out of order: the merge sorts by date
            "ocid": "ocds-abc123-1",
            "id": "1",
            "date": "2026-03-10T00:00:00Z",
            "tag": ["tender"],
            "tender": {"id": "T", "status": "active", "title": "Care", "description": "old"},
            "parties": [
                {"id": "p1", "name": "Buyer", "roles": ["buyer"]},
                {"id": "p2", "name": "Org", "roles": ["tenderer"]},
            ],
        },
        {
            "ocid": "ocds-abc123-1",
            "id": "3",
            "date": "2026-03-14T00:00:00Z",
            "tag": ["awardUpdate"],
            "tender": {"description": None},
            "awards": [{"id": "a1", "status": "active"}, {"id": "a2", "status": "pending"}],
        },
    ]
    compiled = compile_releases(releases)
    assert compiled["id"] == "ocds-abc123-1-compiled" and compiled["tag"] == ["compiled"]
    assert compiled["date"] == "2026-03-14T00:00:00Z"
    assert compiled["tender"] == {"id": "T", "status": "complete", "title": "Care"}  # null removes
    assert compiled["awards"] == [
        {"id": "a1", "status": "active", "value": {"amount": 10.5, "currency": "CNY"}},
        {"id": "a2", "status": "pending"},
    ]
    assert compiled["parties"] == [
        {"id": "p1", "name": "Buyer", "roles": ["buyer"]},
        {"id": "p2", "name": "Org", "roles": ["tenderer", "supplier"]},  # string arrays are replaced
    ]
    assert releases[2]["awards"][0] == {"id": "a1", "status": "active"}  # inputs are not modified


def test_merge_rules_come_from_the_packaged_schema_without_the_internet(monkeypatch):
    def offline(*args, **kwargs):
        raise AssertionError("the merge must not fetch anything")

    monkeypatch.setattr(requests, "get", offline)
    monkeypatch.setattr(ocdsmerge.util, "get_tags", offline)
    merge._merger.cache_clear()
    try:
        rules = merge._merger().merge_rules
    finally:
        merge._merger.cache_clear()
    assert (
        rules[("tag",)] == "omitWhenMerged"
        and rules[("parties", "additionalIdentifiers")] == "wholeListMerge"
    )
    assert json.loads(merge.RELEASE_SCHEMA.read_text(encoding="utf-8"))["id"].endswith(
        "1__1__5/release-schema.json"
    )


def test_endpoints_paginate_and_answer_json_errors(client, world, db):
    tenders = [factories.published(world["officer"], title=f"服务项目{n}") for n in range(3)]
    factories.draft(world["officer"])
    db.session.commit()
    ocds_feed.position_all()

    # The release feed pages by cursor (tests/test_ocds_feed.py follows it further).
    first = client.get("/api/v1/ocds/releases?limit=2")
    assert first.status_code == 200 and first.json["version"] == "1.1"
    assert [r["ocid"] for r in first.json["releases"]] == [ocid_of(t) for t in tenders[:2]]
    assert "since=" in first.json["links"]["next"]
    second = client.get(first.json["links"]["next"])
    assert [r["ocid"] for r in second.json["releases"]] == [ocid_of(tenders[2])]
    assert client.get(second.json["links"]["next"]).json["releases"] == []

    # Records page by cursor over the tenders: links.next until the last page.
    records = client.get("/api/v1/ocds/records?limit=2")
    assert [r["ocid"] for r in records.json["records"]] == [ocid_of(t) for t in tenders[:2]]
    last = client.get(records.json["links"]["next"])
    assert [r["ocid"] for r in last.json["records"]] == [ocid_of(tenders[2])]
    assert "links" not in last.json

    one = client.get(f"/api/v1/ocds/releases/{ocid_of(tenders[0])}")
    assert one.status_code == 200 and one.json["releases"][0]["tag"] == ["tender"]
    for url in (
        "/api/v1/ocds/records/ocds-zzzzzz-1",
        "/api/v1/ocds/records/1",
        f"/api/v1/ocds/records/{ocid_of(tenders[0])}9999",
        "/api/v1/ocds/releases/ocds-gzfw01-abc",
    ):
        r = client.get(url)
        assert r.status_code == 404 and r.json["status"] == 404, url
        assert r.content_type.startswith("application/problem+json"), url
    for url, status in (
        ("/api/v1/ocds/releases?limit=abc", 400),
        ("/api/v1/ocds/releases?limit=0", 400),
        ("/api/v1/ocds/releases?limit=%C2%B2", 400),  # "²": str.isdigit() says yes, int() says no
        ("/api/v1/ocds/releases?limit=%D9%A3", 400),  # Arabic-Indic three
        ("/api/v1/ocds/releases?limit=" + "9" * 5000, 400),
        ("/api/v1/ocds/releases?since=abc", 400),
        ("/api/v1/ocds/releases?page=2", 400),  # the old paged feed: told to use the cursor
        ("/api/v1/ocds/releases?per_page=2", 400),
        ("/api/v1/ocds/records?limit=-1", 422),
        ("/api/v1/ocds/records?limit=100000", 422),
        ("/api/v1/ocds/records?cursor=abc", 422),
    ):
        r = client.get(url)
        assert r.status_code == status and r.json["status"] == status, url
        assert r.content_type.startswith("application/problem+json"), url


def test_export_streams_every_published_tender(app, world, db, tmp_path, monkeypatch):
    tenders = [factories.published(world["officer"], title=f"服务项目{n}") for n in range(3)]
    db.session.commit()
    monkeypatch.setattr(ocds_services, "BATCH", 2)  # more than one batch
    out = tmp_path / "out.json"
    result = app.test_cli_runner().invoke(args=["export", "ocds", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [r["ocid"] for r in data["releases"]] == [ocid_of(t) for t in tenders]
    assert data["uri"].startswith("file://")
    _validate(out)
