"""Residents' needs (issue 21): grids and grid workers, personal data refused, duplicates merged, the
area each officer sees, dispatch into a tender, a contract or a decline, the loop closed by delivery,
and the public figures against hand counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.auth import services as auth_services
from marketplace.auth.models import User
from marketplace.contracts.models import ServiceRecord
from marketplace.core.errors import RuleViolation
from marketplace.extensions import db as _db
from marketplace.needs import queries, services
from marketplace.needs.models import DECLINED, DISPATCHED, MERGED, MET, OPEN, SCREENING, Grid, Need
from marketplace.tenders.models import DRAFT, Tender
from tests import factories
from tests.conftest import PG_URL
from tests.contract_factories import contract_rows
from tests.factories import PASSWORD

COMMUNITY_A = "110101001001"  # 多福巷社区, 东华门街道 (110101001)
COMMUNITY_B = "110101002001"  # 吉祥社区, 景山街道 (110101002)


@pytest.fixture
def grids(db, world):
    worker = auth_services.create_user(email="grid1@test.org", role="grid_worker", password=PASSWORD)
    other_worker = auth_services.create_user(email="grid2@test.org", role="grid_worker", password=PASSWORD)
    street_agency = auth_services.create_agency(name="景山街道办事处", district_code="110101002")
    street_officer = auth_services.create_user(
        email="street@test.org", role="officer", password=PASSWORD, agency=street_agency
    )
    db.session.flush()
    csv_text = (
        "code,name,community_code,households,population,workers\n"
        f"A-01,多福巷第一网格,{COMMUNITY_A},210,520,grid1@test.org\n"
        f"B-01,吉祥第一网格,{COMMUNITY_B},190,480,grid2@test.org\n"
    )
    assert services.load_grids(csv_text, world["admin"]) == {"created": 2, "updated": 0}
    grid_a = db.session.scalar(select(Grid).where(Grid.code == "A-01"))
    grid_b = db.session.scalar(select(Grid).where(Grid.code == "B-01"))
    return {
        "a": grid_a,
        "b": grid_b,
        "worker": worker,
        "other_worker": other_worker,
        "street_officer": street_officer,
    }


def _need(grid, **overrides) -> dict:
    data = {
        "grid_id": str(grid.id),
        "category": "elderly_care",
        "description": "独居老人需要每周上门探访和助餐服务",
        "households": "12",
        "people": "15",
        "urgency": "normal",
    }
    data.update(overrides)
    return data


def _count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Need))


# --- grids -------------------------------------------------------------------------------------------


def test_grids_load_from_csv_and_a_bad_row_changes_nothing(db, world, grids):
    assert grids["a"].community_code == COMMUNITY_A and grids["a"].workers == [grids["worker"]]
    bad = (
        "code,name,community_code,households,population,workers\n"
        f"A-01,改名的网格,{COMMUNITY_A},300,700,\n"
        "C-01,新网格,110101001,100,200,\n"  # a street, not a community
        f"D-01,另一网格,{COMMUNITY_B},-5,100,nobody@test.org\n"
    )
    with pytest.raises(RuleViolation) as refused:
        services.load_grids(bad, world["admin"])
    assert "Line 3" in refused.value.message and "Line 4" in refused.value.message
    db.session.refresh(grids["a"])
    assert grids["a"].name == "多福巷第一网格" and grids["a"].households == 210
    assert db.session.scalar(select(func.count()).select_from(Grid)) == 2


def test_a_grid_worker_sees_only_its_own_grids(client, db, login_as, grids):
    with client.session_transaction() as session:
        session["_user_id"] = grids["worker"].get_id()
    page = client.get("/needs/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "多福巷第一网格" in html and "吉祥第一网格" not in html
    refused = client.post("/needs/new", data=_need(grids["b"]))
    assert refused.status_code == 400 and _count(db) == 0


# --- personal data -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "description",
    [
        "住在3号楼的老人身份证110101194910011234需要助餐",
        "请联系13912345678安排上门",
        "张大爷腿脚不便需要上门",
        "姓名：王芳，需要康复服务",
    ],
)
def test_personal_data_is_refused_everywhere(client, db, grids, description):
    with pytest.raises(RuleViolation):
        services.record_need(_need(grids["a"], description=description), grids["worker"])
    answer = client.post("/needs/report", data=_need(grids["a"], description=description))
    assert answer.status_code == 400
    assert "Remove the" in answer.get_data(as_text=True)
    assert _count(db) == 0


def test_bad_numbers_and_categories_get_messages_not_errors(client, db, grids):
    for field, value in [
        ("people", "0"),
        ("people", "lots"),
        ("households", "-1"),
        ("category", "x"),
        ("urgency", "now"),
        ("grid_id", "999999"),
    ]:
        answer = client.post("/needs/report", data=_need(grids["a"], **{field: value}))
        assert answer.status_code == 400, (field, value)
    assert _count(db) == 0


# --- merging -----------------------------------------------------------------------------------------


def test_a_duplicate_of_an_open_need_is_merged_and_its_counts_added(db, grids):
    first = services.record_need(_need(grids["a"]), grids["worker"])
    second = services.record_need(
        _need(grids["a"], households="3", people="4", urgency="urgent", description="助餐点离得太远"),
        grids["worker"],
    )
    other_category = services.record_need(_need(grids["a"], category="childcare"), grids["worker"])
    assert first.status == OPEN and other_category.status == OPEN
    assert second.status == MERGED and second.merged_into == first
    assert (first.households, first.people, first.reports, first.urgency) == (15, 19, 2, "urgent")
    assert "助餐点离得太远" in first.description


def test_a_residents_need_waits_for_screening_then_merges(client, db, grids):
    open_need = services.record_need(_need(grids["a"]), grids["worker"])
    answer = client.post("/needs/report", data=_need(grids["a"], people="2", households="1"))
    assert answer.status_code == 302
    submitted = db.session.scalar(select(Need).where(Need.source == "resident"))
    assert submitted.status == SCREENING and submitted.recorded_by_id is None
    assert submitted.receipt_code in answer.headers["Location"]
    with pytest.raises(RuleViolation):
        services.confirm_need(submitted, grids["other_worker"])  # not its grid
    services.confirm_need(submitted, grids["worker"])
    assert submitted.status == MERGED and open_need.people == 17 and open_need.reports == 2
    status = client.get(f"/needs/status?code={submitted.receipt_code}")
    assert status.status_code == 200 and open_need.receipt_code in status.get_data(as_text=True)
    assert client.get("/needs/status?code=NOSUCHCODE").status_code == 404


# --- the area each officer sees ----------------------------------------------------------------------


def test_officers_see_and_dispatch_only_their_area(client, db, world, grids):
    in_a = services.record_need(_need(grids["a"]), grids["worker"])
    in_b = services.record_need(_need(grids["b"], category="disability"), grids["other_worker"])
    db.session.flush()
    county_groups = queries.open_groups(world["officer"].agency)
    assert {n.id for g in county_groups for n in g.needs} == {in_a.id, in_b.id}
    street_groups = queries.open_groups(grids["street_officer"].agency)
    assert {n.id for g in street_groups for n in g.needs} == {in_b.id}
    with pytest.raises(RuleViolation):
        services.decline([in_a], {"reason": "不在本街道"}, grids["street_officer"])
    assert in_a.status == OPEN

    with client.session_transaction() as session:
        session["_user_id"] = grids["street_officer"].get_id()
    page = client.get("/needs/dispatch").get_data(as_text=True)
    assert in_b.receipt_code in page and in_a.receipt_code not in page
    assert client.get(f"/needs/{in_a.id}").status_code == 403
    with client.session_transaction() as session:
        session["_user_id"] = grids["other_worker"].get_id()
    assert client.get(f"/needs/{in_a.id}").status_code == 403
    assert client.get(f"/needs/{in_b.id}").status_code == 200


def test_needs_become_a_tender_draft_with_the_needs_listed(db, world, grids):
    a1 = services.record_need(_need(grids["a"]), grids["worker"])
    b1 = services.record_need(_need(grids["b"], people="30"), grids["other_worker"])
    tender = services.dispatch_to_tender(
        [a1, b1],
        {"title": "居家养老上门服务", "budget_ceiling": "300000", "contract_term_months": "12"},
        world["officer"],
    )
    assert tender.status == DRAFT and tender.category == "elderly_care"
    assert {d.code for d in tender.service_areas} == {"110101001", "110101002"}
    assert a1.receipt_code in tender.description and b1.receipt_code in tender.description
    assert a1.status == b1.status == DISPATCHED and a1.tender_id == b1.tender_id == tender.id
    with pytest.raises(RuleViolation):  # no longer open
        services.decline([a1], {"reason": "重复"}, world["officer"])


def test_a_tender_answers_one_category_and_a_decline_needs_a_reason(db, world, grids):
    a1 = services.record_need(_need(grids["a"]), grids["worker"])
    a2 = services.record_need(_need(grids["a"], category="childcare"), grids["worker"])
    with pytest.raises(RuleViolation):
        services.dispatch_to_tender([a1, a2], {"title": "x", "budget_ceiling": "1000"}, world["officer"])
    with pytest.raises(RuleViolation):
        services.decline([a1], {"reason": "  "}, world["officer"])
    services.decline([a1], {"reason": "已由社区志愿者解决"}, world["officer"])
    assert a1.status == DECLINED and a1.decline_reason == "已由社区志愿者解决"
    assert db.session.scalar(select(func.count()).select_from(Tender)) == 0


def test_the_dispatch_pages_work_through_the_client(client, db, world, grids, login_as):
    a1 = services.record_need(_need(grids["a"]), grids["worker"])
    login_as("officer")
    chosen = client.post("/needs/dispatch/group", data={"need_ids": [str(a1.id)]})
    assert chosen.status_code == 200 and a1.receipt_code in chosen.get_data(as_text=True)
    bad = client.post(
        "/needs/dispatch/tender", data={"need_ids": [str(a1.id)], "title": "", "budget_ceiling": "x"}
    )
    assert bad.status_code == 400 and a1.status == OPEN
    made = client.post(
        "/needs/dispatch/tender",
        data={
            "need_ids": [str(a1.id)],
            "title": "助餐服务",
            "budget_ceiling": "200000",
            "contract_term_months": "12",
        },
    )
    assert made.status_code == 302 and "/edit" in made.headers["Location"]
    db.session.refresh(a1)
    assert a1.status == DISPATCHED and a1.tender_id is not None


# --- closing the loop --------------------------------------------------------------------------------


def test_delivery_in_the_grid_marks_a_routed_need_met(db, world, grids):
    contract, org, member = contract_rows(world)
    tender = contract.tender
    tender.service_areas = [grids["a"].community.parent]
    db.session.flush()
    need = services.record_need(_need(grids["a"], category=tender.category), grids["worker"])
    elsewhere = services.record_need(_need(grids["a"], category="childcare"), grids["worker"])
    assert contract in services.contracts_covering([need], world["officer"])
    assert contract not in services.contracts_covering([elsewhere], world["officer"])
    services.route_to_contract([need], contract, world["officer"])
    assert services.close_the_loop(clock.now())["met"] == 0  # nothing delivered yet
    clock.advance(timedelta(days=1))
    db.session.add(
        ServiceRecord(
            contract_id=contract.id,
            service_date=date(2026, 3, 11),
            activity_type="home_visit",
            beneficiaries=5,
            community_code=COMMUNITY_B,
            recorded_at=clock.now(),
            recorded_by_id=member.id,
        )
    )
    db.session.flush()
    assert services.close_the_loop(clock.now())["met"] == 0  # another community
    db.session.add(
        ServiceRecord(
            contract_id=contract.id,
            service_date=date(2026, 3, 11),
            activity_type="home_visit",
            beneficiaries=5,
            community_code=COMMUNITY_A,
            recorded_at=clock.now(),
            recorded_by_id=member.id,
        )
    )
    db.session.flush()
    assert services.close_the_loop(clock.now())["met"] == 1
    db.session.refresh(need)
    assert need.status == MET and need.met_at is not None


# --- public figures ----------------------------------------------------------------------------------


def test_the_public_figures_match_hand_counts(client, db, world, grids):
    a1 = services.record_need(_need(grids["a"]), grids["worker"])
    services.record_need(_need(grids["a"]), grids["worker"])  # merged into a1: not counted twice
    a2 = services.record_need(_need(grids["a"], category="childcare"), grids["worker"])
    b1 = services.record_need(_need(grids["b"], category="disability"), grids["other_worker"])
    b2 = services.record_need(_need(grids["b"], category="childcare"), grids["other_worker"])
    screened_out = services.submit_from_resident(_need(grids["b"], category="employment"))
    services.reject_need(screened_out, {"reason": "不是本网格的需求"}, grids["other_worker"])
    services.decline([a2], {"reason": "已解决"}, world["officer"])
    services.dispatch_to_tender([b1], {"title": "助残服务", "budget_ceiling": "100000"}, world["officer"])
    db.session.commit()

    data = queries.public_figures()
    total = data["total"]
    # Hand counts: a1, a2, b1, b2 received; b1 dispatched; a2 declined; none met.
    assert (total.received, total.dispatched, total.met, total.declined) == (4, 1, 0, 1)
    streets = dict(data["by_street"])
    assert (streets["110101001"].received, streets["110101001"].declined) == (2, 1)
    assert (streets["110101002"].received, streets["110101002"].dispatched) == (2, 1)
    categories = dict(data["by_category"])
    assert categories["childcare"].received == 2 and categories["elderly_care"].received == 1
    assert a1.status == OPEN and b2.status == OPEN

    page = client.get("/needs/figures")
    assert page.status_code == 200
    assert "4 needs received, 1 dispatched, 0 met, 1 declined." in page.get_data(as_text=True)
    only = client.get("/needs/figures?category=childcare").get_data(as_text=True)
    assert "2 needs received, 0 dispatched, 0 met, 1 declined." in only
    assert client.get("/needs/figures?quarter=bogus&category=<script>").status_code == 200


def test_the_demo_has_grids_grid_workers_and_needs_in_every_state(db, client):
    from marketplace import demo
    from marketplace.needs.models import REJECTED, STATUSES

    demo.load_demo()
    db.session.commit()
    states = set(db.session.scalars(select(Need.status).distinct()))
    assert states == set(STATUSES), set(STATUSES) - states
    assert {SCREENING, OPEN, DISPATCHED, DECLINED, MET, MERGED, REJECTED} <= states
    worker = db.session.scalar(select(Need).where(Need.recorded_by_id.is_not(None))).recorded_by
    assert worker.role == "grid_worker"
    with client.session_transaction() as session:
        session["_user_id"] = worker.get_id()
    assert client.get("/needs/").status_code == 200
    assert client.get("/needs/figures").status_code == 200


def test_the_map_and_its_table_carry_the_same_hand_counted_figures(client, db, world, grids):
    from marketplace.core.districts import District

    services.record_need(_need(grids["a"], people="6"), grids["worker"])
    services.record_need(_need(grids["a"], category="childcare", people="4"), grids["worker"])
    services.record_need(_need(grids["b"], people="9"), grids["other_worker"])
    contract, org, member = contract_rows(world)
    for community in (COMMUNITY_B, COMMUNITY_B, COMMUNITY_A):
        db.session.add(
            ServiceRecord(
                contract_id=contract.id,
                service_date=date(2026, 3, 9),
                activity_type="home_visit",
                beneficiaries=3,
                community_code=community,
                recorded_at=clock.now(),
                recorded_by_id=member.id,
            )
        )
    db.session.flush()
    figures = {s.code: s for s in queries.map_figures()}
    a, b = figures["110101001"], figures["110101002"]
    assert (a.open_needs, a.people_waiting, a.services, a.population) == (2, 10, 1, 520)
    assert (b.open_needs, b.people_waiting, b.services, b.population) == (1, 9, 2, 480)
    assert b.per_thousand == round(2000 / 480, 1) and figures["110101003"].per_thousand is None

    page = client.get("/needs/figures").get_data(as_text=True)
    assert 'id="needs-map"' in page and "vendor/echarts/echarts" in page
    assert f'<td class="text-end">{b.per_thousand}</td>' in page
    shape = client.get("/needs/boundaries.geojson")
    assert shape.status_code == 200 and shape.mimetype == "application/geo+json"
    codes = {f["properties"]["code"] for f in shape.get_json()["features"]}
    streets = set(db.session.scalars(select(District.code).where(District.level == "street")))
    assert codes == streets


@pytest.mark.skipif(not PG_URL, reason="concurrency tests need PostgreSQL: set TEST_DATABASE_URL")
def test_two_officers_acting_on_one_need_at_once_cannot_both_win(app, committed):
    """One declines the need while the other routes it into a tender: row locks let exactly one win, and
    two duplicates recorded at the same moment still end as one open need."""
    from tests.test_contract_concurrency import _race

    with app.app_context():
        world = factories.world()
        worker = auth_services.create_user(email="grid1@test.org", role="grid_worker", password=PASSWORD)
        _db.session.flush()
        services.load_grids(
            "code,name,community_code,households,population,workers\n"
            f"A-01,多福巷第一网格,{COMMUNITY_A},210,520,grid1@test.org\n",
            world["admin"],
        )
        grid = _db.session.scalar(select(Grid))
        need = services.record_need(_need(grid), worker)
        _db.session.commit()
        ids = {
            "need": need.id,
            "officer": world["officer"].id,
            "other": world["other_officer"].id,
            "worker": worker.id,
            "grid": grid.id,
        }

    def decline():
        officer = _db.session.get(User, ids["officer"])
        chosen = [_db.session.get(Need, ids["need"])]
        return lambda: services.decline(chosen, {"reason": "已解决"}, officer)

    def tender():
        officer = _db.session.get(User, ids["other"])
        chosen = [_db.session.get(Need, ids["need"])]
        return lambda: services.dispatch_to_tender(
            chosen, {"title": "助餐", "budget_ceiling": "1000"}, officer
        )

    outcomes = _race(app, decline, tender)
    assert outcomes.count("won") == 1, outcomes

    def record():
        user = _db.session.get(User, ids["worker"])
        return lambda: services.record_need(
            _need(_db.session.get(Grid, ids["grid"]), category="childcare"), user
        )

    assert _race(app, record, record) == ["won", "won"]
    with app.app_context():
        open_childcare = _db.session.scalars(
            select(Need).where(Need.category == "childcare", Need.status == OPEN)
        ).all()
        assert len(open_childcare) == 1 and open_childcare[0].reports == 2
