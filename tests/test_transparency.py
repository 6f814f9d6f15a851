"""Public transparency pages: the aggregates add up, drafts and sealed bids never show, anyone may look."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from marketplace import clock
from marketplace.contracts.models import Acceptance, ContractDocument, Payment
from marketplace.core.timeutil import local_date
from marketplace.tenders.bids.models import BidOpening
from marketplace.transparency import outcomes, spending
from marketplace.transparency.filters import Filters
from tests import bid_factories as bf
from tests import contract_factories as cf
from tests import factories
from tests.factories import deadline_in

PAGES = ["/open/", "/open/awards", "/open/contracts", "/open/acceptances"]
ROLES = [None, "officer", "other_officer", "org_member", "evaluator", "auditor", "admin"]


def _login(client, user):
    with client.session_transaction() as sess:
        sess.clear()
        if user is not None:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True


def _chart(body: str, chart_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{chart_id}-data">(.*?)</script>', body, re.S)
    assert match, chart_id
    return json.loads(match.group(1))


def _row(body: str, table_id: str, key: str) -> str:
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', body, re.S)
    assert table, table_id
    row = re.search(rf'<tr data-key="{re.escape(key)}">.*?</tr>', table.group(0), re.S)
    assert row, (table_id, key)
    return row.group(0)


def _document(contract, user, name: str, public: bool) -> ContractDocument:
    doc = ContractDocument(
        contract_id=contract.id,
        filename=name,
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        storage_key=f"key-{name}",
        uploaded_at=clock.now(),
        uploaded_by_id=user.id,
        public=public,
    )
    contract.documents.append(doc)
    return doc


@pytest.fixture
def scene(world, db):
    """Two signed contracts in two categories and streets, one draft, payments, milestones met on time,
    late and overdue, a public and a private document, one published acceptance result."""
    care, care_org, _ = cf.contract_rows(
        world,
        value="280000.00",
        milestones=[
            ("按时 ON-TIME", date(2026, 9, 1), "100000.00"),
            ("迟交 LATE", date(2026, 9, 5), "100000.00"),
            ("逾期 OVERDUE", date(2026, 9, 10), "50000.00"),
            ("未到期 FUTURE", date(2027, 6, 1), "30000.00"),
        ],
    )
    child, child_org, _ = cf.contract_rows(
        world,
        status="completed",
        value="270000.00",
        milestones=[
            ("托育 CHILD-ON-TIME", date(2026, 9, 2), "270000.00"),
        ],
    )
    draft, draft_org, _ = cf.contract_rows(world, status="draft", value="300000.00")
    care.tender.district_code = "110101001"
    child.tender.category = "childcare"
    child.tender.district_code = "110101002"
    draft.tender.category = "disability"
    draft.title = "草稿合同 DRAFT-CONTRACT"

    on_time, late, overdue, _future = care.milestones
    on_time.status, on_time.met_on = "accepted", date(2026, 9, 1)
    late.status, late.met_on = "accepted", date(2026, 9, 8)
    child.milestones[0].status, child.milestones[0].met_on = "accepted", date(2026, 8, 30)

    officer = world["officer"]
    now = clock.now()
    for contract, amount in ((care, "50000.00"), (care, "25000.00"), (child, "270000.00")):
        contract_payment = Payment(
            contract_id=contract.id,
            paid_on=local_date(now),
            amount=Decimal(amount),
            reference=f"PAY-{contract.id}-{amount}",
            recorded_at=now,
            recorded_by_id=officer.id,
        )
        db.session.add(contract_payment)
    _document(care, officer, "公开合同 PUBLIC-DOC.pdf", public=True)
    _document(care, officer, "内部 PRIVATE-DOC.pdf", public=False)
    _document(care, officer, "公开附件 PUBLIC-ANNEX.pdf", public=True)
    db.session.add_all(
        [
            Acceptance(
                contract_id=child.id,
                result="passed",
                summary="验收合格 ACCEPTED-SUMMARY",
                recipient_representatives=[],
                accepted_at=now,
                accepted_by_id=officer.id,
                published_at=now,
            ),
            Acceptance(
                contract_id=care.id,
                result="failed",
                summary="未公开 UNPUBLISHED",
                recipient_representatives=[],
                accepted_at=now,
                accepted_by_id=officer.id,
            ),
        ]
    )
    db.session.commit()
    # Wednesday 2026-09-16 10:00 Beijing: the first three milestones are past due.
    clock.set_now(datetime(2026, 9, 16, 2, 0, tzinfo=UTC))
    return {"care": care, "child": child, "draft": draft, "orgs": (care_org, child_org, draft_org)}


# --- aggregates --------------------------------------------------------------------------------------


def test_spending_sums_per_category_district_and_year(scene, db):
    by_category = {r.key: r for r in spending.spending_by_category(Filters())}
    assert set(by_category) == {"elderly_care", "childcare"}  # the draft's category is absent
    assert (by_category["elderly_care"].contracts, by_category["elderly_care"].value) == (
        1,
        Decimal("280000.00"),
    )
    assert by_category["elderly_care"].paid == Decimal("75000.00")
    assert by_category["childcare"].value == by_category["childcare"].paid == Decimal("270000.00")
    assert [r.key for r in spending.spending_by_category(Filters())] == ["elderly_care", "childcare"]

    by_district = {r.key: r for r in spending.spending_by_district(Filters())}
    assert by_district["110101001"].value == Decimal("280000.00")
    assert by_district["110101001"].name == "东华门街道"
    assert by_district["110101002"].paid == Decimal("270000.00")

    by_year = spending.spending_by_year(Filters())
    assert [(r.key, r.contracts, r.value, r.paid) for r in by_year] == [
        ("2026", 2, Decimal("550000.00"), Decimal("345000.00"))
    ]
    assert spending.totals(spending.spending_by_category(Filters())).value == Decimal("550000.00")


def test_filters_narrow_the_sums(scene, db):
    rows = spending.spending_by_category(Filters(category="childcare"))
    assert [(r.key, r.value) for r in rows] == [("childcare", Decimal("270000.00"))]
    rows = spending.spending_by_category(Filters(district="110101001"))
    assert [r.key for r in rows] == ["elderly_care"]
    # A county includes its streets.
    assert len(spending.spending_by_category(Filters(district="110101"))) == 2
    assert spending.spending_by_category(Filters(year=2025)) == []
    assert spending.spending_by_year(Filters(year=2025)) == []
    assert len(spending.spending_by_category(Filters(year=2026))) == 2


def test_year_follows_the_local_calendar(scene, db):
    """Signed at 20:00 UTC on 31 December is 04:00 on 1 January in Beijing: next year."""
    scene["child"].activated_at = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
    db.session.commit()
    by_year = {r.key: r.value for r in spending.spending_by_year(Filters())}
    assert by_year == {"2026": Decimal("280000.00"), "2027": Decimal("270000.00")}
    assert spending.contract_years() == [2026, 2027]


def test_milestone_shares_overall_and_per_category(scene, db):
    overall, per_category = outcomes.milestone_shares(Filters(), date(2026, 9, 16))
    # Care: on time, late, overdue (the future one is not counted); childcare: on time.
    assert (overall.on_time, overall.late, overall.overdue) == (2, 1, 1)
    assert overall.on_time_percent == 50 and overall.late_percent == 25 and overall.overdue_percent == 25
    shares = {s.key: (s.on_time, s.late, s.overdue) for s in per_category}
    assert shares == {"elderly_care": (1, 1, 1), "childcare": (1, 0, 0)}
    # On its due date a milestone is not yet overdue.
    overall, _ = outcomes.milestone_shares(Filters(), date(2026, 9, 10))
    assert (overall.on_time, overall.late, overall.overdue) == (2, 1, 0)


def test_unmet_milestones_of_a_terminated_contract_are_not_overdue(scene, db):
    scene["care"].status = "terminated"
    db.session.commit()
    overall, _ = outcomes.milestone_shares(Filters(), date(2026, 9, 16))
    assert (overall.on_time, overall.late, overall.overdue) == (2, 1, 0)


def test_bidders_per_tender_counts_opened_tenders_only(scene, world, db):
    # A failed tender with a single bid at its opening.
    lonely = factories.published(world["officer"], bid_deadline=deadline_in(30))
    lonely.status = "failed"
    db.session.add(
        BidOpening(tender_id=lonely.id, opened_at=clock.now(), bid_count=1, failed=True, record=[])
    )
    db.session.commit()
    dist = outcomes.bidders_per_tender(Filters())
    # Three tenders (the contracts' and the draft contract's) had three bids each.
    assert [(r.bidders, r.tenders) for r in dist.rows] == [(1, 1), (2, 0), (3, 3)]
    assert dist.tenders == 4 and dist.average == Decimal("2.5")
    assert outcomes.bidders_per_tender(Filters(category="childcare")).tenders == 1


# --- pages -------------------------------------------------------------------------------------------


def test_overview_shows_charts_and_the_same_numbers_in_tables(client, scene, db):
    r = client.get("/open/")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    category = _chart(body, "category-chart")
    assert category["type"] == "bar" and category["money"] is True
    assert category["datasets"][0]["data"] == ["280000.00", "270000.00"]
    assert category["datasets"][1]["data"] == ["75000.00", "270000.00"]
    assert "¥280,000.00" in _row(body, "category-table", "elderly_care")
    assert "¥75,000.00" in _row(body, "category-table", "elderly_care")
    assert "<td>Elderly care (养老)</td>" in _row(body, "category-table", "elderly_care")
    assert "<td>Jingshan Subdistrict</td>" in _row(body, "district-table", "110101002")
    assert "<td>2026</td>" in _row(body, "year-table", "2026")
    assert (
        "东华门街道" in _chart(body, "district-chart")["labels"]
        or "Donghuamen Subdistrict" in _chart(body, "district-chart")["labels"]
    )
    assert _chart(body, "year-chart")["labels"] == ["2026"]
    assert _chart(body, "bidders-chart")["datasets"][0]["data"] == [3]
    outcome = _chart(body, "outcome-chart")
    assert outcome["type"] == "doughnut" and outcome["datasets"][0]["data"] == [2, 1, 1]
    assert "50%" in re.search(r'<tr data-outcome="on_time">.*?</tr>', body, re.S).group(0)
    assert "33%" in _row(body, "milestones-category-table", "elderly_care")
    assert "50% of the 4 milestones that have fallen due were met on time." in body
    assert re.search(r"/static/dashboards\.[0-9a-f]{12}\.js", body)  # content-hashed names (core/assets.py)
    assert re.search(r"/static/vendor/chartjs/chart\.umd\.min\.[0-9a-f]{12}\.js", body)
    assert 'id="total-value">¥550,000.00' in body
    assert "DRAFT-CONTRACT" not in body


def test_draft_contracts_never_appear(client, scene, db):
    draft = scene["draft"]
    for url in PAGES + ["/open/?category=disability", "/open/contracts?category=disability"]:
        body = client.get(url).get_data(as_text=True)
        assert draft.reference not in body and "DRAFT-CONTRACT" not in body, url
        assert f"/contracts/{draft.id}/summary" not in body, url


def test_contracts_list(client, scene, db):
    body = client.get("/open/contracts").get_data(as_text=True)
    care, child = scene["care"], scene["child"]
    assert "2 signed contracts" in body
    row = re.search(rf'<tr data-contract-id="{care.id}">.*?</tr>', body, re.S).group(0)
    assert f"/contracts/{care.id}/summary" in row and "¥280,000.00" in row
    assert care.organization.name in row and care.agency.name in row
    assert '<td class="text-end document-count">2</td>' in row
    assert "PRIVATE-DOC" not in body
    assert f'data-contract-id="{child.id}"' in body
    body = client.get("/open/contracts?category=childcare").get_data(as_text=True)
    assert f'data-contract-id="{care.id}"' not in body and f'data-contract-id="{child.id}"' in body
    assert client.get(f"/contracts/{care.id}/summary").status_code == 200


def test_awards_list(client, scene, db):
    body = client.get("/open/awards").get_data(as_text=True)
    care = scene["care"]
    assert "3 award notices" in body
    row = re.search(rf'<tr data-award-id="{care.award_id}">.*?</tr>', body, re.S).group(0)
    assert f"/tenders/{care.tender_id}/notice" in row
    assert care.organization.name in row and "¥280,000.00" in row and "Final" in row
    assert client.get(f"/tenders/{care.tender_id}/notice").status_code == 200


def test_acceptances_list_shows_published_results_only(client, scene, db):
    body = client.get("/open/acceptances").get_data(as_text=True)
    child, care = scene["child"], scene["care"]
    assert "1 acceptance result" in body
    assert f"/contracts/{child.id}/acceptance" in body and "Passed" in body
    assert f"/contracts/{care.id}/acceptance" not in body
    assert client.get(f"/contracts/{child.id}/acceptance").status_code == 200


def test_empty_states(client, world, db):
    body = client.get("/open/").get_data(as_text=True)
    assert "No signed contract yet." in body
    assert "No tender has had its bids opened yet." in body
    assert "No milestone has fallen due yet." in body
    assert "No award notice has been published yet." in client.get("/open/awards").get_data(as_text=True)
    assert "No contract has been signed yet." in client.get("/open/contracts").get_data(as_text=True)
    assert "No acceptance result has been published yet." in client.get("/open/acceptances").get_data(
        as_text=True
    )


@pytest.mark.parametrize("role", ROLES)
def test_every_role_and_anonymous_may_look(client, world, scene, role, db):
    care = scene["care"]
    _login(client, world[role] if role else None)
    for url in PAGES:
        assert client.get(url).status_code == 200, (role, url)
    # The same public data for everyone, not an empty or login-redirect page.
    assert f'data-contract-id="{care.id}"' in client.get("/open/contracts").get_data(as_text=True), role
    assert f'data-award-id="{care.award_id}"' in client.get("/open/awards").get_data(as_text=True), role
    assert "2 signed contracts" in client.get("/open/contracts").get_data(as_text=True), role


@pytest.mark.parametrize("url", PAGES)
def test_junk_query_parameters_are_ignored(client, scene, url, db):
    r = client.get(url + "?page=abc&year=x&category=<script>alert(1)</script>&district=zz&per_page=-5")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body

    # The junk is dropped: the page is the unfiltered one, not an empty list.
    def content(page):  # the links back here (language, sign in) carry the query string along
        return re.sub(r"next=[^\"]*", "", page)

    junk = client.get(url + "?year=x&category=<script>&district=zz").get_data(as_text=True)
    assert content(junk) == content(client.get(url).get_data(as_text=True))
    # A control character is refused at the edge with a clear message (issue 17), not ignored.
    nul = client.get(url + "?district=%00zz")
    assert nul.status_code == 400 and "control characters" in nul.get_data(as_text=True)
    assert client.get(url + "?year=99999999999999999999&page=99999999").status_code == 200


def test_pagination(client, scene, db):
    body = client.get("/open/contracts?per_page=1").get_data(as_text=True)
    assert body.count("data-contract-id=") == 1 and 'class="pagination"' in body
    body = client.get("/open/contracts?per_page=1&page=2").get_data(as_text=True)
    assert body.count("data-contract-id=") == 1


def test_navbar_links_to_open_data_for_everyone(client, world):
    body = client.get("/").get_data(as_text=True)
    assert 'href="/open/"' in body and "Open data" in body


def test_sealed_bids_count_for_nothing_and_their_bidders_never_show(client, world, db):
    """A tender still accepting bids adds nothing to the bidder statistics, and its bidders' names
    appear nowhere under /open, for anyone."""
    sealed = factories.published(world["officer"], bid_deadline=deadline_in(29))
    db.session.commit()
    before = {url: client.get(url).get_data(as_text=True) for url in PAGES}
    orgs = [bf.organization(name) for name in ("密封投标机构SEALED-ONE", "密封投标机构SEALED-TWO")]
    for org, member in orgs:
        bf.submitted_bid(sealed, org, member, price="311111.11")
    db.session.commit()
    assert outcomes.bidders_per_tender(Filters()).tenders == 0
    for url in PAGES:
        assert client.get(url).get_data(as_text=True) == before[url], url
    for (_org, member), role in zip(orgs, ROLES, strict=False):
        for who in (member, world[role] if role else None):
            _login(client, who)
            for url in PAGES + [f"/open/?category={sealed.category}"]:
                body = client.get(url).get_data(as_text=True)
                assert "SEALED-ONE" not in body and "SEALED-TWO" not in body and "311,111.11" not in body


def test_chart_data_is_escaped_json(client, scene, db):
    scene["care"].tender.district.name_en = "</script><b>x"
    db.session.commit()
    body = client.get("/open/?lang=en").get_data(as_text=True)
    assert "</script><b>x" not in body
    _chart(body, "district-chart")  # still valid JSON


def test_year_choices_include_this_year(client, world, db):
    body = client.get("/open/").get_data(as_text=True)
    year = local_date(clock.now() + timedelta(0)).year
    assert f'<option value="{year}"' in body
