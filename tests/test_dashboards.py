"""The officer's and the organization's dashboards: scoped to the viewer, sealed bids kept sealed,
overdue days counted from today's date, charts backed by tables, and Chart.js served locally."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from marketplace import clock
from marketplace.contracts.models import Payment, ServiceRecord
from marketplace.core.timeutil import local_date
from marketplace.dashboards import services
from tests import bid_factories as bf
from tests import contract_factories as cf
from tests import factories
from tests.factories import deadline_in
from tests.pages import without_csrf

CHART_JS = "/static/vendor/chartjs/chart.umd.min.js"


def _count(body: str, status: str) -> int:
    m = re.search(rf'<tr data-status="{status}">.*?<td class="text-end count">(\d+)</td>', body, re.S)
    assert m, status
    return int(m.group(1))


def _chart_data(body: str, chart_id: str) -> dict:
    m = re.search(rf'<script type="application/json" id="{chart_id}-data">(.*?)</script>', body, re.S)
    assert m, chart_id
    return json.loads(m.group(1))


# --- who gets in ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/dashboard", "/dashboard/officer", "/dashboard/organization"])
def test_anonymous_is_sent_to_sign_in(client, db, url):
    r = client.get(url)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


@pytest.mark.parametrize("url", ["/dashboard", "/dashboard/officer", "/dashboard/organization"])
@pytest.mark.parametrize("role", ["evaluator", "auditor", "admin"])
def test_other_roles_are_refused(client, login_as, url, role):
    login_as(role)
    assert client.get(url).status_code == 403


def test_each_side_is_refused_the_other_dashboard(client, login_as, db):
    login_as("officer")
    assert client.get("/dashboard/organization").status_code == 403
    _org, member = bf.organization("仪表盘测试机构")
    db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(member.id)
    assert client.get("/dashboard/officer").status_code == 403


def test_member_without_an_organization_is_refused(client, login_as):
    login_as("org_member")  # the world's member belongs to no organization
    assert client.get("/dashboard/organization").status_code == 403
    assert client.get("/dashboard").status_code == 403


def test_dashboard_redirects_to_the_role_page(client, login_as, db):
    login_as("officer")
    r = client.get("/dashboard")
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard/officer")
    assert 'href="/dashboard"' in client.get("/").get_data(as_text=True)  # the navbar entry
    _org, member = bf.organization("跳转测试机构")
    db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(member.id)
    r = client.get("/dashboard")
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard/organization")


def test_navbar_entry_only_for_officers_and_members(client, login_as):
    login_as("evaluator")
    assert 'href="/dashboard"' not in client.get("/").get_data(as_text=True)


# --- the officer's dashboard ------------------------------------------------------------------------


def test_tender_counts_are_the_agencys_own(client, login_as, world, db):
    for _ in range(2):
        factories.published(world["officer"])
    factories.draft(world["officer"])
    for _ in range(3):
        factories.published(world["other_officer"])
    factories.draft(world["other_officer"])
    db.session.commit()

    counts = {c.status: c.count for c in services.tender_counts(world["agency"].id, clock.now())}
    assert counts["open"] == 2 and counts["draft"] == 1 and sum(counts.values()) == 3

    login_as("officer")
    body = client.get("/dashboard/officer").get_data(as_text=True)
    assert _count(body, "open") == 2
    assert _count(body, "draft") == 1
    assert _count(body, "cancelled") == 0
    chart = _chart_data(body, "tenders-by-state-chart")
    assert sorted(chart["datasets"][0]["data"]) == [1, 2]


def test_an_open_tender_past_its_deadline_counts_as_closed(client, login_as, world, db):
    t = factories.published(world["officer"], bid_deadline=deadline_in(20))
    db.session.commit()
    clock.set_now(t.bid_deadline + timedelta(minutes=1))
    login_as("officer")
    body = client.get("/dashboard/officer").get_data(as_text=True)
    assert _count(body, "open") == 0 and _count(body, "closed") == 1


def test_officer_empty_states(client, login_as):
    login_as("officer")
    r = client.get("/dashboard/officer")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Your agency has no tenders yet." in body
    assert "No milestone is overdue." in body
    assert "Your agency has no active contracts." in body
    assert "No contract needs attention" in body


def test_overdue_milestone_shows_the_days_counted_from_today(client, login_as, world, db):
    contract, _org, _member = cf.contract_rows(
        world,
        milestones=[
            ("逾期交付 LATE-DELIVERABLE", date(2026, 10, 1), "100000.00"),
            ("即将到期 SOON-DELIVERABLE", date(2026, 10, 20), "180000.00"),
        ],
    )
    db.session.commit()
    # 2026-10-13 10:00 Beijing: twelve days after the due date; the overdue job has not run.
    clock.set_now(datetime(2026, 10, 13, 2, 0, tzinfo=UTC))
    assert contract.milestones[0].overdue_days is None

    today = local_date(clock.now())
    overdue = services.overdue_milestones(world["agency"].id, today)
    assert [(m.deliverable, m.days_overdue) for m in overdue] == [("逾期交付 LATE-DELIVERABLE", 12)]
    upcoming = services.upcoming_milestones(world["agency"].id, today)
    assert [(m.deliverable, m.days_until) for m in upcoming] == [("即将到期 SOON-DELIVERABLE", 7)]

    login_as("officer")
    body = client.get("/dashboard/officer").get_data(as_text=True)
    assert "LATE-DELIVERABLE" in body and "12 days overdue" in body
    assert "SOON-DELIVERABLE" in body and "in 7 days" in body
    risk = re.search(rf'<tr data-contract-id="{contract.id}">.*?</tr>', body, re.S)
    assert risk and 'data-reason="overdue"' in risk.group(0)

    # Accepting the milestone takes it off the list.
    contract.milestones[0].status = "accepted"
    db.session.commit()
    assert services.overdue_milestones(world["agency"].id, today) == []

    login_as("other_officer")
    body = client.get("/dashboard/officer").get_data(as_text=True)
    assert "LATE-DELIVERABLE" not in body and contract.reference not in body


def test_unsigned_and_ending_contracts_are_at_risk(world, db):
    draft_contract, _o, _m = cf.contract_rows(world, status="draft")
    active_contract, _o2, _m2 = cf.contract_rows(world)
    agency = world["agency"].id

    def reasons(now):
        return {r.contract.id: r.reasons for r in services.contracts_at_risk(agency, now, local_date(now))}

    published = draft_contract.award.published_at
    assert draft_contract.id not in reasons(published + timedelta(days=29))
    assert reasons(published + timedelta(days=31))[draft_contract.id] == [services.UNSIGNED]

    end = datetime.combine(active_contract.term_end, datetime.min.time(), tzinfo=UTC)
    assert services.ENDING not in reasons(end - timedelta(days=60)).get(active_contract.id, [])
    near = reasons(end - timedelta(days=10))[active_contract.id]
    assert services.ENDING in near
    assert services.EXPIRED in reasons(end + timedelta(days=2))[active_contract.id]
    assert services.contracts_at_risk(world["other_agency"].id, end, local_date(end)) == []


def test_payments_summary_sums_what_was_paid(client, login_as, world, db):
    contract, _org, _member = cf.contract_rows(world)
    db.session.add_all(
        Payment(
            contract_id=contract.id,
            paid_on=clock.now().date(),
            amount=Decimal(amount),
            reference=f"PAY-{i}",
            recorded_at=clock.now(),
            recorded_by_id=world["officer"].id,
        )
        for i, amount in enumerate(("50000.00", "34000.00"))
    )
    db.session.commit()
    totals, top = services.agency_payments(world["agency"].id)
    assert (
        totals.contracts == 1 and totals.value == Decimal("280000.00") and totals.paid == Decimal("84000.00")
    )
    assert [(r.contract_id, r.paid, r.outstanding, r.percent) for r in top] == [
        (contract.id, Decimal("84000.00"), Decimal("196000.00"), 30)
    ]
    login_as("officer")
    body = client.get("/dashboard/officer").get_data(as_text=True)
    assert "¥84,000.00" in body and "¥196,000.00" in body
    chart = _chart_data(body, "payments-chart")
    assert chart["labels"] == [contract.reference]
    assert chart["datasets"][1]["data"] == ["84000.00"]


# --- the organization's dashboard -------------------------------------------------------------------


def _login(client, user):
    with client.session_transaction() as sess:
        sess.clear()
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True


def test_organization_sees_only_its_own_bids_and_nothing_of_others(client, world, db):
    shared = factories.published(
        world["officer"], title="共同招标 SHARED-TENDER", bid_deadline=deadline_in(29)
    )
    only_b = factories.published(world["officer"], title="乙方独投 BRAVO-ONLY", bid_deadline=deadline_in(29))
    a_org, a_member = bf.organization("甲机构 ALPHA-ORG")
    b_org, b_member = bf.organization("乙机构 BRAVO-ORG")
    bf.submitted_bid(shared, a_org, a_member, price="311111.11", marker="ALPHA")
    db.session.commit()

    _login(client, a_member)
    before = without_csrf(client.get("/dashboard/organization").get_data(as_text=True))
    assert "SHARED-TENDER" in before

    bf.submitted_bid(shared, b_org, b_member, price="322222.22", marker="BRAVO")
    bf.submitted_bid(only_b, b_org, b_member, price="333333.33", marker="BRAVO")
    db.session.commit()

    after = without_csrf(client.get("/dashboard/organization").get_data(as_text=True))
    # Before the deadline nothing about the other bidder shows, not even a count: the page is unchanged.
    assert after == before
    for marker in ("BRAVO-ORG", "BRAVO-ONLY", "322222.22", "322,222.22", "333,333.33"):
        assert marker not in after

    _login(client, b_member)
    body = client.get("/dashboard/organization").get_data(as_text=True)
    assert "BRAVO-ONLY" in body and "SHARED-TENDER" in body
    assert "ALPHA-ORG" not in body and "311,111.11" not in body


def test_organization_sees_its_contracts_progress_and_what_is_due(client, world, db):
    mine, org, member = cf.contract_rows(
        world,
        milestones=[
            ("我方逾期 OUR-LATE", date(2026, 10, 1), "100000.00"),
            ("我方下一步 OUR-NEXT", date(2026, 11, 1), "180000.00"),
        ],
    )
    theirs, _other_org, _other_member = cf.contract_rows(
        world, milestones=[("他方交付 THEIR-DELIVERABLE", date(2026, 10, 2), "280000.00")]
    )
    target = mine.targets[0]  # 200 persons planned
    for qty in ("30", "20"):
        db.session.add(
            ServiceRecord(
                contract_id=mine.id,
                service_date=date(2026, 9, 30),
                activity_type="home_visit",
                target_id=target.id,
                quantity=Decimal(qty),
                recorded_at=clock.now(),
                recorded_by_id=member.id,
            )
        )
    db.session.add(
        Payment(
            contract_id=mine.id,
            paid_on=date(2026, 10, 5),
            amount=Decimal("84000.00"),
            reference="PAY-1",
            recorded_at=clock.now(),
            recorded_by_id=world["officer"].id,
        )
    )
    db.session.commit()
    clock.set_now(datetime(2026, 10, 13, 2, 0, tzinfo=UTC))

    progress = services.target_progress(org.id, [mine.id])
    assert [(p.target_id, p.delivered, p.percent) for p in progress] == [
        (target.id, Decimal("50.00"), 25),
        (mine.targets[1].id, Decimal("0.00"), 0),
    ]

    _login(client, member)
    body = client.get("/dashboard/organization").get_data(as_text=True)
    assert mine.reference in body and theirs.reference not in body
    assert "THEIR-DELIVERABLE" not in body
    row = re.search(rf'<tr data-target-id="{target.id}">.*?</tr>', body, re.S).group(0)
    assert "50 人 persons" in row and "200 人 persons" in row and "25%" in row
    late = re.search(r"<tr class=\"table-danger\"[^>]*>.*?</tr>", body, re.S).group(0)
    assert "OUR-LATE" in late and "12 days overdue" in late
    assert body.index("OUR-LATE") < body.index("OUR-NEXT")
    assert "Received ¥84,000.00 of ¥280,000.00 (30%)" in body


def test_organization_empty_states(client, world, db):
    _org, member = bf.organization("空白机构")
    db.session.commit()
    _login(client, member)
    r = client.get("/dashboard/organization")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Your organization has no contracts yet." in body
    assert "Your organization has no bids yet." in body
    assert "Nothing is due" in body


# --- Chart.js --------------------------------------------------------------------------------------


def test_chartjs_is_served_locally_and_referenced(client, login_as, world, db):
    r = client.get(CHART_JS)
    assert r.status_code == 200 and b"Chart.js v4" in r.data[:200]
    assert client.get("/static/vendor/chartjs/LICENSE.md").status_code == 200
    assert client.get("/static/dashboards.js").status_code == 200
    factories.published(world["officer"])
    db.session.commit()
    login_as("officer")
    body = client.get("/dashboard/officer").get_data(as_text=True)
    # The page links it under its content-hashed name (marketplace/core/assets.py).
    assert re.search(r'<script src="/static/vendor/chartjs/chart\.umd\.min\.\w{12}\.js"></script>', body)
    assert 'data-chart-source="tenders-by-state-chart-data"' in body
    assert "cdn" not in body.lower()


def test_the_unsigned_flag_waits_for_a_signing_deadline_moved_off_a_weekend(world, db):
    """Notice on Thu 15 Oct 2026: 30 days later is Sat 14 Nov, so the deadline is Mon 16 Nov (GPL 46,
    moved to the next working day): not at risk on the Monday, at risk on the Tuesday."""
    draft_contract, _o, _m = cf.contract_rows(world, status="draft")
    draft_contract.award.published_at = datetime(2026, 10, 15, 2, 0, tzinfo=UTC)
    db.session.flush()
    agency = world["agency"].id

    def at_risk(day):
        now = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=4)
        return {r.contract.id for r in services.contracts_at_risk(agency, now, day)}

    assert draft_contract.id not in at_risk(date(2026, 11, 15))  # Sunday: past 30 days, before the deadline
    assert draft_contract.id not in at_risk(date(2026, 11, 16))
    assert draft_contract.id in at_risk(date(2026, 11, 17))
