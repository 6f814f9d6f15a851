"""Experts drawn at random from the expert pool (财库〔2016〕198号): the pool, the exclusions, the recorded
and reproducible draw, reserves replacing a withdrawn expert, confidentiality of the names, the rule that
a bidder's employee never sits on its committee, and the independent share from the procedure profile."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.auth import services as auth_services
from marketplace.core import draws
from marketplace.core.errors import RuleViolation
from marketplace.tenders.committee import expert_draws, experts
from marketplace.tenders.committee.members import (
    Appointment,
    committee,
    composition_problems,
    declare,
    form_committee,
    replace_member,
)
from marketplace.tenders.committee.models import CommitteeMember, Expert, ExpertDraw
from tests import bid_factories as bf
from tests import factories
from tests.bid_factories import open_sealed
from tests.factories import PASSWORD

SEED = "0123456789abcdef0123456789abcdef"
_accounts = itertools.count()


@dataclass
class Scene:
    tender: object
    bidders: list  # [(organization, member)] with bids
    outsider: object  # an organization without a bid
    pool: dict  # name → Expert


def _expert(admin, name, categories=("elderly_care",), **entry) -> Expert:
    user = auth_services.create_user(
        email=f"pool{next(_accounts)}@test.org", role="evaluator", password=PASSWORD, name=name
    )
    return experts.add_expert({"user_id": user.id, "categories": list(categories), **entry}, admin)


@pytest.fixture
def scene(world, db) -> Scene:
    admin = world["admin"]
    tender = factories.published(world["officer"])  # elderly care, open tender, 480,000: 5 members
    bidders = [bf.organization(f"投标机构{i}") for i in range(3)]
    for i, (org, member) in enumerate(bidders):
        bf.submitted_bid(tender, org, member, price=f"{300000 + 10000 * i}.00")
    outsider, _m = bf.organization("未投标机构")
    pool = {f"ok{i}": _expert(admin, f"Expert OK{i}") for i in range(1, 7)}
    pool["outsider"] = _expert(
        admin, "Expert Outsider", employer="未投标机构", employer_organization_id=outsider.id
    )
    pool["other_agency"] = _expert(
        admin, "Expert OtherAgency", employer="卫健委", employer_agency_id=world["other_agency"].id
    )
    pool["back"] = _expert(
        admin, "Expert Back", availability="unavailable", unavailable_until=date(2026, 3, 20)
    )
    pool["buyer"] = _expert(admin, "Expert Buyer", employer="民政局", employer_agency_id=world["agency"].id)
    pool["bidder"] = _expert(
        admin, "Expert Bidder", employer="投标机构0", employer_organization_id=bidders[0][0].id
    )
    pool["away"] = _expert(admin, "Expert Away", availability="unavailable")
    pool["childcare"] = _expert(admin, "Expert Childcare", categories=("childcare",))
    clock.set_now(tender.bid_deadline + timedelta(minutes=1))
    open_sealed(tender)
    db.session.commit()
    return Scene(tender, bidders, outsider, pool)


ELIGIBLE = ("ok1", "ok2", "ok3", "ok4", "ok5", "ok6", "outsider", "other_agency", "back")


def _draw(s: Scene, world, monkeypatch=None, experts_n=5, reserves=2, **extra) -> ExpertDraw:
    if monkeypatch is not None:
        monkeypatch.setattr(draws, "new_seed", lambda: SEED)
    data = {"category": "elderly_care", "experts": experts_n, "reserves": reserves, **extra}
    return expert_draws.draw_committee(s.tender, data, world["officer"])


def _withdraw(member: CommitteeMember, s: Scene) -> None:
    from marketplace.tenders.bids.opening import opened_bids

    bids = opened_bids(s.tender)
    assert not declare(member, {b.id: (b is bids[0], "former colleague") for b in bids}, member.user)


# --- the draw ----------------------------------------------------------------------------------------


def test_draw_skips_the_excluded_and_records_everything(scene, world, db, monkeypatch):
    s = scene
    record = _draw(s, world, monkeypatch)
    eligible = sorted(s.pool[k].id for k in ELIGIBLE)
    # Worked by hand: the pool is the nine eligible experts in id order, the seed is ours, and the
    # picks are what Python's random.Random(seed).sample gives on that pool.
    assert record.pool == eligible
    assert record.seed == SEED
    assert record.picked == random.Random(int(SEED, 16)).sample(eligible, 7)
    assert {x["expert_id"]: x["reason"] for x in record.excluded} == {
        s.pool["buyer"].id: "buyer",
        s.pool["bidder"].id: "bidder",
        s.pool["away"].id: "unavailable",
    }
    assert s.pool["childcare"].id not in record.pool + [x["expert_id"] for x in record.excluded]
    assert record.drawn_by_id == world["officer"].id and record.drawn_at == clock.now()
    assert record.appointed == 5 and len(record.reserves) == 2
    # The first five are appointed, the first one drawn chairs; the reserves have no seat.
    seated = committee(s.tender)
    by_user = {e.user_id: e.id for e in s.pool.values()}
    assert [by_user[m.user_id] for m in seated] == record.picked[:5]
    assert seated[0].is_chair and s.tender.status == "evaluation"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "committee.draw"))
    assert event.summary.startswith("Drew %(appointed)s experts")
    assert event.params == {"appointed": 5, "reserves": 2, "pool": 9, "draw": record.id}
    assert event.changes["seed"] == SEED and event.changes["picked"] == record.picked


def test_a_draw_is_reproducible_from_its_recorded_seed(scene, world, db):
    record = _draw(scene, world)  # a fresh seed from the operating system
    db.session.commit()
    stored = db.session.get(ExpertDraw, record.id)
    assert draws.repeat({"seed": stored.seed, "pool": stored.pool, "picked": stored.picked}) == stored.picked
    assert expert_draws.verify(stored)
    assert draws.draw(stored.pool, 7, stored.seed).picked == stored.picked
    stored.picked = list(reversed(stored.picked))  # a record someone changed no longer checks out
    assert not expert_draws.verify(stored)
    db.session.rollback()


def test_the_committee_cannot_be_drawn_from_too_small_a_pool(scene, world, db):
    s = scene
    with pytest.raises(RuleViolation, match="Only 9 experts of this category can be drawn"):
        _draw(s, world, experts_n=11, reserves=0)
    with pytest.raises(RuleViolation, match="Only 0 experts"):
        expert_draws.draw_committee(
            s.tender, {"category": "sports", "experts": 5, "reserves": 0}, world["officer"]
        )
    with pytest.raises(RuleViolation, match="at least 5"):
        _draw(s, world, experts_n=3)
    with pytest.raises(RuleViolation, match="officer of the procuring agency"):
        expert_draws.draw_committee(
            s.tender, {"category": "elderly_care", "experts": 5}, world["other_officer"]
        )
    assert not committee(s.tender) and not expert_draws.draws_of(s.tender)
    _draw(s, world)
    with pytest.raises(RuleViolation, match="drawn once"):
        _draw(s, world)


def test_reserves_replace_withdrawn_experts_in_draw_order(scene, world, db, monkeypatch):
    s = scene
    record = _draw(s, world, monkeypatch)
    users = {e.id: e.user_id for e in s.pool.values()}
    first, second = record.reserves
    members = committee(s.tender)
    _withdraw(members[1], s)
    assert expert_draws.next_reserve(s.tender).id == first
    replacement = expert_draws.appoint_reserve(members[1], world["officer"])
    assert replacement.user_id == users[first] and replacement.active
    # The second reserve became unavailable: the next withdrawal passes it over (none left).
    db.session.get(Expert, second).availability = "unavailable"
    _withdraw(members[2], s)
    assert expert_draws.next_reserve(s.tender) is None
    with pytest.raises(RuleViolation, match="No reserve is left"):
        expert_draws.appoint_reserve(members[2], world["officer"])
    # A further draw of reserves leaves out everyone who sat or declared a conflict.
    more = expert_draws.draw_reserves(s.tender, {"category": "elderly_care", "reserves": 1}, world["officer"])
    reasons = {x["expert_id"]: x["reason"] for x in more.excluded}
    by_user = {e.user_id: e.id for e in s.pool.values()}
    assert reasons[by_user[members[1].user_id]] == "conflict"
    assert reasons[by_user[members[2].user_id]] == "conflict"
    assert reasons[by_user[members[0].user_id]] == "seated" and reasons[first] == "seated"
    assert reasons[second] == "unavailable"
    assert more.kind == "reserve" and more.appointed == 0 and len(more.picked) == 1
    assert set(more.pool) == set(record.pool) - set(record.picked)
    replacement = expert_draws.appoint_reserve(members[2], world["officer"])
    assert replacement.user_id == users[more.picked[0]]
    assert len(committee(s.tender)) == 5
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "committee.reserve")
        )
        == 2
    )


def test_a_declared_conflict_excludes_from_later_draws(scene, world, db):
    s = scene
    _draw(s, world, reserves=0)
    conflicted = committee(s.tender)[3]
    _withdraw(conflicted, s)
    excluded = expert_draws.exclusions(s.tender, list(s.pool.values()))
    assert excluded[experts.pool_entry(conflicted.user).id] == "conflict"


# --- a bidder's employee never sits on its committee -------------------------------------------------


def test_a_bidders_employee_is_refused_by_every_appointment_path(scene, world, db):
    s = scene
    officer, employee = world["officer"], s.pool["bidder"].user
    others = [s.pool[k].user for k in ("ok1", "ok2", "ok3", "ok4")]
    # By name, when the committee is formed.
    with pytest.raises(RuleViolation, match="works for an organization that bid on this tender"):
        form_committee(
            s.tender, [Appointment(u, "expert", i == 0) for i, u in enumerate([*others, employee])], officer
        )
    # By draw: never drawn, even when every eligible expert is drawn.
    record = _draw(s, world, experts_n=5, reserves=4)
    assert s.pool["bidder"].id not in record.picked and len(record.picked) == 9
    # As a replacement, by name.
    members = committee(s.tender)
    _withdraw(members[0], s)
    with pytest.raises(RuleViolation, match="works for an organization that bid on this tender"):
        replace_member(members[0], employee, officer)
    # As a reserve: a reserve who took a job with a bidder since the draw is passed over.
    first = db.session.get(Expert, record.reserves[0])
    experts.edit_expert(
        first,
        {
            "categories": ["elderly_care"],
            "employer": "投标机构1",
            "employer_organization_id": s.bidders[1][0].id,
        },
        world["admin"],
    )
    assert experts.works_for_bidder(s.tender, first)
    assert expert_draws.next_reserve(s.tender).id == record.reserves[1]
    with pytest.raises(RuleViolation, match="works for an organization that bid on this tender"):
        replace_member(members[0], first.user, officer)
    assert (
        expert_draws.appoint_reserve(members[0], officer).user_id
        == db.session.get(Expert, record.reserves[1]).user_id
    )


def test_the_committee_form_refuses_a_bidders_employee(client, login_as, scene, world, db):
    s = scene
    login_as("officer")
    chosen = [s.pool[k].user.id for k in ("ok1", "ok2", "ok3", "ok4")] + [s.pool["bidder"].user.id]
    r = client.post(
        f"/committee/{s.tender.id}/members",
        data={"members": chosen, "buyer_rep": "", "chair": str(chosen[0])},
    )
    assert r.status_code == 400 and b"works for an organization that bid on this tender" in r.data
    assert not committee(s.tender)


# --- the independent share -----------------------------------------------------------------------------


def test_the_independent_share_comes_from_the_procedure_profile(app, scene, world, db, monkeypatch):
    s = scene
    colleague = auth_services.create_user(
        email="o2@test.org", role="officer", password=PASSWORD, agency=world["agency"]
    )
    experts4 = [Appointment(s.pool[f"ok{i}"].user, "expert", i == 1) for i in range(1, 5)]
    experts3 = experts4[:3]
    reps2 = [Appointment(world["officer"], "buyer_rep"), Appointment(colleague, "buyer_rep")]
    four_and_one = experts4 + reps2[:1]
    three_and_two = experts3 + reps2
    # The default profile: two thirds.
    assert composition_problems(s.tender, four_and_one) == []
    assert composition_problems(s.tender, three_and_two) == [
        "At least 66.67% of the members must be independent experts."
    ]
    monkeypatch.setitem(
        app.config, "PROCEDURE_OVERRIDES", {"public_tender": {"independent_share": Decimal("0.9")}}
    )
    assert composition_problems(s.tender, four_and_one) == [
        "At least 90% of the members must be independent experts."
    ]
    with pytest.raises(RuleViolation, match="At least 90%"):
        form_committee(s.tender, four_and_one, world["officer"])
    with pytest.raises(RuleViolation, match="At least 90%"):
        _draw(s, world, experts_n=4, buyer_rep_id=world["officer"].id)
    monkeypatch.setitem(
        app.config, "PROCEDURE_OVERRIDES", {"public_tender": {"independent_share": Decimal("0.6")}}
    )
    assert composition_problems(s.tender, three_and_two) == []
    monkeypatch.setitem(
        app.config, "PROCEDURE_OVERRIDES", {"public_tender": {"independent_share": Decimal("0.8")}}
    )
    assert composition_problems(s.tender, four_and_one) == []
    members = form_committee(s.tender, four_and_one, world["officer"])
    assert len(members) == 5


def test_the_dashboard_shows_the_profiles_share(app, client, login_as, scene, world, db, monkeypatch):
    login_as("officer")
    assert b"at least 66.67% of them independent experts" in client.get(f"/committee/{scene.tender.id}").data
    monkeypatch.setitem(
        app.config, "PROCEDURE_OVERRIDES", {"public_tender": {"independent_share": Decimal("0.75")}}
    )
    assert b"at least 75% of them independent experts" in client.get(f"/committee/{scene.tender.id}").data


# --- pages: drawing, the record, confidentiality -------------------------------------------------------


def test_the_officer_draws_through_the_committee_page(client, login_as, scene, world, db):
    s = scene
    login_as("officer")
    page = client.get(f"/committee/{s.tender.id}")
    assert b"Draw the experts from the expert pool" in page.data
    url = f"/committee/{s.tender.id}/draws"
    form = {"category": "elderly_care", "experts": "5", "reserves": "2", "buyer_rep": ""}
    r = client.post(url, data=form)  # not confirmed
    assert r.status_code == 400 and b"Tick the box to confirm the draw." in r.data
    r = client.post(url, data={**form, "experts": "40", "confirm": "y"})
    assert r.status_code == 400 and b"Draw from 1 to 25 experts." in r.data
    r = client.post(url, data={**form, "experts": "many", "confirm": "y"})
    assert r.status_code == 400
    r = client.post(url, data={**form, "category": "nonsense", "confirm": "y"})
    assert r.status_code == 400 and b"Choose a category from the list." in r.data
    assert not expert_draws.draws_of(s.tender)
    r = client.post(url, data={**form, "confirm": "y"})
    assert r.status_code == 302, r.data
    assert len(committee(s.tender)) == 5 and len(expert_draws.draws_of(s.tender)) == 1


@pytest.fixture
def drawn(scene, world, db, monkeypatch):
    record = _draw(scene, world, monkeypatch)
    db.session.commit()
    names = [db.session.get(Expert, i).user.name.encode() for i in record.picked]
    return scene, record, names


@pytest.mark.parametrize("role", ["officer", "auditor", "admin"])
def test_the_draw_record_shows_names_to_the_officer_auditors_and_admins(client, login_as, drawn, role):
    s, record, names = drawn
    login_as(role)
    page = client.get(f"/committee/{s.tender.id}/draws")
    assert page.status_code == 200
    assert record.seed.encode() in page.data and b"Same picks" in page.data
    assert all(n in page.data for n in names)
    assert b"Employed by a bidder" in page.data and b"Expert Bidder" in page.data


@pytest.mark.parametrize("role", ["other_officer", "org_member", "evaluator"])
def test_nobody_else_sees_who_was_drawn_before_the_award_notice(client, login_as, drawn, role):
    s, record, names = drawn
    login_as(role)
    assert client.get(f"/committee/{s.tender.id}/draws").status_code == 403
    assert client.get(f"/committee/{s.tender.id}").status_code == 403
    detail = client.get(f"/tenders/{s.tender.id}")
    assert not any(n in detail.data for n in names)
    assert client.get(f"/tenders/{s.tender.id}/notice").status_code == 404  # no award notice yet


def test_a_drawn_member_sees_only_their_own_seat(client, drawn, db):
    s, record, names = drawn
    member = committee(s.tender)[0]
    with client.session_transaction() as sess:
        sess["_user_id"] = str(member.user_id)
        sess["_fresh"] = True
    assert client.get(f"/committee/{s.tender.id}/draws").status_code == 403
    seats = client.get("/committee/seats")
    assert seats.status_code == 200 and not any(n in seats.data for n in names[1:])


def test_anonymous_visitors_are_sent_to_sign_in(client, drawn):
    s, _record, _names = drawn
    r = client.get(f"/committee/{s.tender.id}/draws")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_the_officer_appoints_the_next_reserve_on_the_page(client, login_as, drawn, world, db):
    s, record, names = drawn
    member = committee(s.tender)[2]
    _withdraw(member, s)
    db.session.commit()
    login_as("officer")
    page = client.get(f"/committee/{s.tender.id}")
    assert b"Appoint the next reserve" in page.data and names[5] in page.data
    r = client.post(f"/committee/{s.tender.id}/members/{member.id}/reserve", data={})
    assert r.status_code == 302
    reserve_user = db.session.get(Expert, record.reserves[0]).user_id
    assert reserve_user in {m.user_id for m in committee(s.tender)}


# --- the pool pages (admins) ---------------------------------------------------------------------------


def test_admins_keep_the_pool(client, login_as, scene, world, db):
    login_as("admin")
    home = client.get("/")
    assert b"/committee/experts" in home.data  # reachable from the navigation
    page = client.get("/committee/experts")
    assert page.status_code == 200 and b"Expert OK1" in page.data and b"Expert Childcare" in page.data
    only = client.get("/committee/experts?category=childcare")
    assert b"Expert Childcare" in only.data and b"Expert OK1" not in only.data
    away = client.get("/committee/experts?availability=unavailable")
    assert b"Expert Away" in away.data and b"Expert Back" not in away.data and b"Expert OK1" not in away.data
    assert b"No expert matches" in client.get("/committee/experts?q=nobody-like-this").data
    paged = client.get("/committee/experts?per_page=2&page=2")
    assert paged.status_code == 200 and b"page=3" in paged.data
    newcomer = auth_services.create_user(
        email="new@test.org", role="evaluator", password=PASSWORD, name="Newcomer"
    )
    db.session.commit()
    assert b"Newcomer" in client.get("/committee/experts/new").data
    r = client.post("/committee/experts/new", data={"user_id": str(newcomer.id), "availability": "available"})
    assert r.status_code == 400 and b"Choose at least one category." in r.data
    r = client.post(
        "/committee/experts/new",
        data={
            "user_id": str(newcomer.id),
            "categories": ["sports"],
            "availability": "available",
            "employer_organization_id": "999999",
        },
    )
    assert r.status_code == 400 and b"Choose an organization from the list." in r.data
    r = client.post(
        "/committee/experts/new",
        data={
            "user_id": str(newcomer.id),
            "categories": ["sports", "education"],
            "district_codes": ["110101"],
            "employer": "某大学",
            "employer_agency_id": str(world["other_agency"].id),
            "availability": "unavailable",
            "unavailable_until": "2026-06-30",
        },
    )
    assert r.status_code == 302
    entry = experts.pool_entry(newcomer)
    assert entry.categories == ["sports", "education"] and [d.code for d in entry.districts] == ["110101"]
    assert entry.employer_agency_id == world["other_agency"].id and entry.unavailable_until == date(
        2026, 6, 30
    )
    r = client.post(
        f"/committee/experts/{entry.id}/edit",
        data={"categories": ["sports"], "availability": "available", "unavailable_until": "2026-06-30"},
    )
    assert r.status_code == 302
    db.session.refresh(entry)
    assert (
        entry.categories == ["sports"]
        and entry.availability == "available"
        and entry.unavailable_until is None
    )
    assert entry.employer_agency_id is None
    assert (
        client.post(
            "/committee/experts/new", data={"user_id": str(newcomer.id), "categories": ["sports"]}
        ).status_code
        == 400
    )
    assert client.get("/committee/experts/999999/edit").status_code == 404


@pytest.mark.parametrize("role", ["officer", "org_member", "evaluator", "auditor"])
def test_only_admins_reach_the_pool_pages(client, login_as, scene, role):
    login_as(role)
    entry = scene.pool["ok1"]
    assert client.get("/committee/experts").status_code == 403
    assert client.get("/committee/experts/new").status_code == 403
    assert (
        client.post(f"/committee/experts/{entry.id}/edit", data={"categories": ["sports"]}).status_code == 403
    )
    assert b"/committee/experts" not in client.get("/").data


def test_only_an_admin_may_change_the_pool(scene, world, db):
    with pytest.raises(RuleViolation, match="Only an administrator"):
        experts.edit_expert(scene.pool["ok1"], {"categories": ["sports"]}, world["officer"])
    user = auth_services.create_user(email="x@test.org", role="org_member", password=PASSWORD)
    with pytest.raises(RuleViolation, match="Only an evaluator account"):
        experts.add_expert({"user_id": user.id, "categories": ["sports"]}, world["admin"])
