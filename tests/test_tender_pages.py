"""Tender pages through the test client: the officer journey, public search, bad input, permissions."""

import hashlib
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.core.timeutil import to_local
from marketplace.tenders.models import Clarification, Tender
from tests import factories
from tests.factories import deadline_in


def _local(dt):
    return to_local(dt).strftime("%Y-%m-%dT%H:%M")


def form_data(**overrides):
    data = {
        "title": "社区助餐服务 Community meals",
        "description": "为老年人提供助餐服务。Meals for older residents.",
        "category": "elderly_care",
        "district_code": "110101",
        "service_area_codes": ["110101001", "110101002"],
        "method": "public_tender",
        "evaluation_method": "comprehensive_scoring",
        "budget_ceiling": "350000.00",
        "funding_sources": ["county_budget", "higher_transfer"],
        "contract_term_months": "12",
        "eligibility": "登记满一年",
        "bid_deadline": _local(deadline_in(29)),
        "price_weight": "30",
        "criteria-0-name": "服务方案",
        "criteria-0-weight": "50",
        "criteria-0-description": "plan",
        "criteria-1-name": "团队",
        "criteria-1-weight": "20",
        "contact_name": "王老师",
        "contact_phone": "010-1234",
        "contact_email": "buyer@test.org",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _count(db, model=Tender):
    return db.session.scalar(select(func.count()).select_from(model))


def test_officer_creates_previews_publishes(client, login_as, db):
    login_as("officer")
    assert client.get("/tenders/new").status_code == 200
    r = client.post("/tenders/new", data=form_data())
    assert r.status_code == 302, r.data.decode()[:2000]
    tender = db.session.scalars(select(Tender)).one()
    assert r.headers["Location"].endswith(f"/tenders/{tender.id}/preview")
    assert [d.code for d in tender.service_areas] == ["110101001", "110101002"]
    assert tender.funding_sources == ["county_budget", "higher_transfer"]
    page = client.get(f"/tenders/{tender.id}/preview")
    assert page.status_code == 200 and "社区助餐服务".encode() in page.data
    # Not yet public.
    client.post("/auth/logout")
    assert client.get(f"/tenders/{tender.id}").status_code == 403
    login_as("officer")
    r = client.post(f"/tenders/{tender.id}/publish", data={})
    assert r.status_code == 400 and tender.status == "draft"
    r = client.post(f"/tenders/{tender.id}/publish", data={"confirm_not_excluded": "y"})
    assert r.status_code == 302
    db.session.refresh(tender)
    assert tender.status == "open" and tender.reference
    client.post("/auth/logout")
    page = client.get(f"/tenders/{tender.id}")
    assert page.status_code == 200 and tender.reference.encode() in page.data


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"bid_deadline": "2020-01-01T09:00"}, b"must be in the future"),
        ({"price_weight": "20"}, b"add up to 100"),
        ({"budget_ceiling": "-100"}, b"between 0.01 and"),
        ({"budget_ceiling": "99999999999999"}, b"between 0.01 and"),
        ({"budget_ceiling": "abc"}, b"Not a valid decimal"),
        ({"title": "x" * 201}, b"200"),
        ({"description": "y" * 20001}, b"20000"),
        ({"category": "weapons"}, b"Not a valid choice"),
        ({"service_area_codes": ["999999999"]}, b"not a valid choice"),
        ({"bid_deadline": "tomorrow"}, b"Not a valid datetime"),
        ({"contract_term_months": "120"}, b"between 1 and 36"),
        ({"title": ""}, b"This field is required"),
        ({"funding_sources": []}, b"This field is required"),
        ({"criteria-1-weight": "-20"}, b"between 1 and 100"),
    ],
)
def test_bad_form_input_saves_nothing(client, login_as, db, overrides, message):
    login_as("officer")
    before = _count(db), _count(db, AuditEvent)
    r = client.post("/tenders/new", data=form_data(**overrides))
    assert r.status_code == 400
    assert message in r.data, r.data.decode()[:3000]
    assert (_count(db), _count(db, AuditEvent)) == before


def test_missing_csrf_token_is_refused(client, login_as, db, csrf):
    login_as("officer")
    r = client.post("/tenders/new", data=form_data())
    assert r.status_code == 400
    assert b"form expired" in r.data
    assert _count(db) == 0


def test_unknown_ids_are_404(client, login_as, world):
    login_as("officer")
    for url in (
        "/tenders/999999",
        "/tenders/999999/edit",
        "/tenders/999999/preview",
        "/tenders/abc",
        "/tenders/1/documents/999",
        "/tenders/-1",
        "/api/v1/tenders/424242",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post("/tenders/999999/publish").status_code == 404
    assert client.post("/tenders/999999/questions/1/answer", data={"answer": "x"}).status_code == 404


def test_api_errors_are_json(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.mimetype == "application/problem+json" and r.json["status"] == 404
    r = client.post("/api/v1/tenders")
    assert r.status_code == 405 and r.json["status"] == 405 and "GET" in r.headers["Allow"]


def test_html_error_pages(client):
    r = client.get("/no/such/page")
    assert r.status_code == 404 and b"<html" in r.data
    assert client.post("/").status_code == 405


def test_oversized_upload_is_413(app, client, login_as, db):
    login_as("officer")
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        data = form_data()
        data["documents"] = (io.BytesIO(b"x" * 4096), "big.pdf")
        r = client.post("/tenders/new", data=data, content_type="multipart/form-data")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 20 * 1024 * 1024
    assert r.status_code == 413
    assert _count(db) == 0


def test_document_upload_keeps_sha256(client, login_as, db):
    login_as("officer")
    payload = b"%PDF-1.4 tender document"
    data = form_data()
    data["documents"] = [(io.BytesIO(payload), "招标文件.pdf")]
    r = client.post("/tenders/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    tender = db.session.scalars(select(Tender)).one()
    (doc,) = tender.documents
    assert doc.sha256 == hashlib.sha256(payload).hexdigest() and doc.filename == "招标文件.pdf"
    got = client.get(f"/tenders/{tender.id}/documents/{doc.id}")
    assert got.status_code == 200 and got.data == payload


def test_bad_document_type_saves_nothing(client, login_as, db):
    login_as("officer")
    data = form_data()
    data["documents"] = [(io.BytesIO(b"MZ..."), "virus.exe")]
    r = client.post("/tenders/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 400 and b"not accepted" in r.data
    assert _count(db) == 0


def test_amend_and_cancel_pages(client, login_as, world, db):
    t = factories.published(world["officer"], bid_deadline=deadline_in(30))
    db.session.commit()
    login_as("officer")
    base = {
        "description": t.description,
        "budget_ceiling": "480000.00",
        "contract_term_months": "12",
        "bid_deadline": _local(t.bid_deadline),
    }
    r = client.post(f"/tenders/{t.id}/amend", data={**base, "reason": ""})
    assert r.status_code == 400
    r = client.post(
        f"/tenders/{t.id}/amend", data={**base, "reason": "Nothing", "bid_deadline": "2020-01-01T09:00"}
    )
    assert r.status_code == 400 and b"never earlier" in r.data
    r = client.post(f"/tenders/{t.id}/amend", data={**base, "reason": "预算增加", "budget_ceiling": "520000"})
    assert r.status_code == 302
    page = client.get(f"/tenders/{t.id}")
    assert "预算增加".encode() in page.data
    r = client.post(f"/tenders/{t.id}/cancel", data={"reason": "withdrawn"})
    assert r.status_code == 400  # confirmation box not ticked
    r = client.post(f"/tenders/{t.id}/cancel", data={"reason": "withdrawn", "confirm": "y"})
    assert r.status_code == 302
    db.session.refresh(t)
    assert t.status == "cancelled"
    assert client.get(f"/tenders/{t.id}/amend").status_code == 403


def test_other_agency_cannot_touch_tender(client, login_as, world, db):
    t = factories.published(world["officer"])
    d = factories.draft(world["officer"])
    db.session.commit()
    login_as("other_officer")
    assert client.get(f"/tenders/{d.id}").status_code == 403
    assert client.get(f"/tenders/{d.id}/edit").status_code == 403
    assert client.post(f"/tenders/{d.id}/publish", data={"confirm_not_excluded": "y"}).status_code == 403
    assert client.post(f"/tenders/{t.id}/cancel", data={"reason": "x", "confirm": "y"}).status_code == 403
    db.session.refresh(t)
    assert t.status == "open"


def test_clarification_asker_never_public(client, login_as, world, db):
    t = factories.published(world["officer"])
    db.session.commit()
    login_as("org_member")
    r = client.post(f"/tenders/{t.id}/questions", data={"question": "电话回访算服务人次吗？"})
    assert r.status_code == 302
    c = db.session.scalars(select(Clarification)).one()
    login_as("officer")
    page = client.get(f"/tenders/{t.id}")
    assert "电话回访算服务人次吗".encode() in page.data
    assert b"member@test.org" not in page.data
    r = client.post(f"/tenders/{t.id}/questions/{c.id}/answer", data={"answer": "不算。"})
    assert r.status_code == 302
    client.post("/auth/logout")
    page = client.get(f"/tenders/{t.id}")
    assert "不算。".encode() in page.data and b"member@test.org" not in page.data
    api = client.get(f"/api/v1/tenders/{t.id}").json
    assert api["clarifications"] == [
        {"question": c.question, "answer": "不算。", "answered_at": api["clarifications"][0]["answered_at"]}
    ]
    assert "member@test.org" not in str(api)


def test_only_org_members_ask(client, login_as, world, db):
    t = factories.published(world["officer"])
    db.session.commit()
    for who in ("officer", "evaluator", "auditor"):
        login_as(who)
        assert client.post(f"/tenders/{t.id}/questions", data={"question": "q"}).status_code == 403
    assert _count(db, Clarification) == 0


def test_public_search_page(client, world, db):
    factories.published(world["officer"], title="助浴服务 Bathing help")
    factories.published(world["officer"], title="心理疏导 Counselling", category="public_health")
    factories.draft(world["officer"], title="助浴 secret draft")
    db.session.commit()
    r = client.get("/tenders?q=助浴")
    assert r.status_code == 200
    assert "助浴服务".encode() in r.data and b"secret draft" not in r.data
    r = client.get("/tenders?category=public_health&sort=-budget")
    assert b"Counselling" in r.data and b"Bathing" not in r.data
    r = client.get("/tenders?q=nothing-matches-this")
    assert b"No tender matches" in r.data
    for bad in (
        "budget_min=abc",
        "deadline_from=2026-99-99",
        "category=nope",
        "page=-3&per_page=100000",
        "budget_min=10&budget_max=5",
        "sort=DROP TABLE",
    ):
        assert client.get(f"/tenders?{bad}").status_code in (200, 400), bad
    assert client.get("/tenders?budget_min=10&budget_max=5").status_code == 400


def test_pagination(client, world, db):
    for i in range(25):
        factories.published(world["officer"], title=f"项目 {i:02d}")
    db.session.commit()
    first = client.get("/tenders?per_page=10")
    assert first.status_code == 200 and b"page=3" in first.data
    last = client.get("/tenders?per_page=10&page=3")
    assert last.data.count(b"/tenders/") >= 5
    assert client.get("/tenders?page=999").status_code == 200


def test_home_lists_open_tenders(client, world, db):
    factories.published(world["officer"], title="开放项目 Open one")
    closed = factories.published(world["officer"], title="截止项目 Past one", bid_deadline=deadline_in(20))
    db.session.commit()
    clock.advance(timedelta(days=22))
    factories.published(world["officer"], title="后来项目 Later one", bid_deadline=deadline_in(28))
    db.session.commit()
    page = client.get("/")
    assert b"Later one" in page.data and b"Past one" not in page.data
    assert closed.display_status == "closed"


def test_language_switch(client, world, db):
    factories.published(world["officer"])
    db.session.commit()
    r = client.get("/lang/zh_CN?next=/tenders")
    assert r.status_code == 302 and r.headers["Location"] == "/tenders"
    zh = client.get("/tenders")
    assert b'lang="zh-CN"' in zh.data
    client.get("/lang/en")
    en = client.get("/tenders")
    assert b'lang="en"' in en.data and b"Tenders" in en.data
    assert client.get("/lang/fr").status_code == 404
    assert client.get("/lang/en?next=https://evil.example").headers["Location"] == "/"
