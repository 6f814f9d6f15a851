"""Satisfaction surveys: anonymous answers, one per device, only while active, screened comments,
a per-address rate limit, the QR code and the parties' results page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.core.errors import RuleViolation
from marketplace.extensions import db
from marketplace.performance import surveys
from marketplace.performance.models import SurveyResponse
from marketplace.performance.survey_views import DEVICE_COOKIE
from tests.contract_factories import contract_rows

DEVICE_A = "device-aaaaaaaaaaaaaaaaaaaa"
DEVICE_B = "device-bbbbbbbbbbbbbbbbbbbb"


@pytest.fixture
def scene(world, db):
    contract, org, member = contract_rows(world)
    survey = surveys.survey_for(contract)
    db.session.commit()
    return contract, survey, member


def responses() -> int:
    return db.session.scalar(select(func.count()).select_from(SurveyResponse))


def form(q1=5, q2=4, q3=3, q4=4, comment=""):
    return {"q1": q1, "q2": q2, "q3": q3, "q4": q4, "comment": comment}


def login(client, user):
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True


def test_survey_key_is_made_once_and_unguessable(scene):
    contract, survey, _member = scene
    assert surveys.survey_for(contract).id == survey.id
    assert len(survey.key) >= 30


def test_answering_anonymously_works_and_aggregates(scene, client):
    contract, survey, _member = scene
    page = client.get(f"/s/{survey.key}")
    assert page.status_code == 200
    assert DEVICE_COOKIE in page.headers.get("Set-Cookie", "")  # the device cookie, set on first visit
    r = client.post(f"/s/{survey.key}", data=form(5, 4, 3, 4, "很好，谢谢社工"))
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/s/{survey.key}/thanks")
    assert client.get(r.headers["Location"]).status_code == 200

    # The same browser (same device cookie) cannot answer again; it is thanked instead.
    again = client.post(f"/s/{survey.key}", data=form(1, 1, 1, 1))
    assert again.status_code == 200 and b"already" in again.data
    assert responses() == 1

    surveys.answer(survey, form(3, 2, 1, 2), "", DEVICE_B, "10.0.0.9")
    db.session.commit()
    results = surveys.results(survey)
    assert results.count == 2
    assert results.by_question == {
        "q1": Decimal("4.00"),
        "q2": Decimal("3.00"),
        "q3": Decimal("2.00"),
        "q4": Decimal("3.00"),
    }
    assert results.overall == Decimal("3.00")
    assert [c.text for c in results.comments] == ["很好，谢谢社工"]
    org_level = surveys.organization_satisfaction(contract.organization_id)
    assert org_level.count == 2 and org_level.mean == Decimal("3.00")
    # Neither the address nor the device token is stored in clear.
    row = db.session.scalars(select(SurveyResponse)).first()
    assert "127.0.0.1" not in row.address_hash and len(row.device_hash) == 64


def test_the_same_device_twice_is_refused(scene):
    _contract, survey, _member = scene
    surveys.answer(survey, form(), "", DEVICE_A, "10.0.0.1")
    with pytest.raises(RuleViolation, match="already answered from this device"):
        surveys.answer(survey, form(), "", DEVICE_A, "10.0.0.2")
    assert responses() == 1


def test_answers_must_be_1_to_5_for_every_question(scene, client):
    _contract, survey, _member = scene
    for bad in ({"q1": 6}, {"q2": 0}, {"q3": None}, {"q4": "x"}):
        answers = {**form(), **bad}
        with pytest.raises(RuleViolation):
            surveys.answer(survey, answers, "", DEVICE_A, "10.0.0.1")
    client.set_cookie(DEVICE_COOKIE, DEVICE_A, path="/s/")
    assert client.post(f"/s/{survey.key}", data={"q1": 5}).status_code == 400
    assert client.post(f"/s/{survey.key}", data=form(q2=9)).status_code == 400
    assert responses() == 0


def test_a_post_without_a_device_cookie_is_refused(scene, client):
    _contract, survey, _member = scene
    r = client.post(f"/s/{survey.key}", data=form())
    assert r.status_code == 400 and b"cookies" in r.data
    assert responses() == 0


def test_a_contract_that_is_not_active_refuses_answers(scene, client):
    contract, survey, _member = scene
    contract.status = "completed"
    db.session.commit()
    with pytest.raises(RuleViolation, match="closed"):
        surveys.answer(survey, form(), "", DEVICE_A, "10.0.0.1")
    page = client.get(f"/s/{survey.key}")
    assert page.status_code == 200 and b"This survey is closed" in page.data and b'name="q1"' not in page.data
    client.set_cookie(DEVICE_COOKIE, DEVICE_A, path="/s/")
    assert client.post(f"/s/{survey.key}", data=form()).status_code == 409
    assert responses() == 0


def test_unknown_keys_are_404(scene, client):
    assert client.get("/s/no-such-key").status_code == 404
    assert client.post("/s/no-such-key", data=form()).status_code == 404
    assert client.get("/s/no-such-key/qr.png").status_code == 404


@pytest.mark.parametrize(
    "comment, status",
    [
        ("", "none"),
        ("服务很及时，老人很满意。", "shown"),
        ("see http://spam.example for cheap loans", "held"),
        ("加微信 www.example.cn 领红包", "held"),
        ("visit example.com now", "held"),
        ("全角链接 ｗｗｗ．ｅｘａｍｐｌｅ．ｃｏｍ", "held"),
        ("点这里 example。cn", "held"),
        ("好" * 2000, "held"),
    ],
)
def test_screening_holds_links_and_long_comments(scene, comment, status):
    _contract, survey, _member = scene
    response = surveys.answer(survey, form(), comment, DEVICE_A, "10.0.0.1")
    assert response.comment_status == status


def test_results_show_screened_comments_to_the_buyer_only(scene, client, world):
    contract, survey, member = scene
    surveys.answer(survey, form(), "社工态度很好", DEVICE_A, "10.0.0.1")
    surveys.answer(survey, form(), "https://spam.example", "device-" + "c" * 20, "10.0.0.1")
    surveys.answer(survey, form(), "长" * 2000, "device-" + "d" * 20, "10.0.0.1")
    db.session.commit()
    url = f"/contracts/{contract.id}/survey"
    assert client.get(url).status_code == 302  # login first

    login(client, world["officer"])
    page = client.get(url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "社工态度很好" in text and "spam.example" not in text and "长长长" not in text
    assert "2 comments were held" in text
    assert survey.key in text and "qr.png" in text  # the printable link and QR code

    login(client, member)  # the organization sees the aggregates, not the comments
    text = client.get(url).get_data(as_text=True)
    assert "3 responses" in text and "社工态度很好" not in text

    login(client, world["other_officer"])
    assert client.get(url).status_code == 404


def test_the_contract_page_links_to_the_survey(scene, client, world):
    contract, _survey, _member = scene
    login(client, world["officer"])
    text = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert f"/contracts/{contract.id}/survey" in text


def test_a_party_makes_the_survey_link_with_a_button_not_by_looking(world, db, client):
    contract, _org, _member = contract_rows(world)
    db.session.commit()
    assert surveys.find_survey(contract) is None
    login(client, world["officer"])
    page = client.get(f"/contracts/{contract.id}/survey")
    assert page.status_code == 200 and "Make the survey link" in page.get_data(as_text=True)
    assert surveys.find_survey(contract) is None  # a GET changes nothing
    r = client.post(f"/contracts/{contract.id}/survey")
    assert r.status_code == 302
    assert surveys.find_survey(contract) is not None


def test_the_qr_code_is_an_image_of_the_link(scene, client):
    _contract, survey, _member = scene
    png = client.get(f"/s/{survey.key}/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    svg = client.get(f"/s/{survey.key}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data


def test_csrf_protects_the_public_form(scene, client, csrf):
    _contract, survey, _member = scene
    client.set_cookie(DEVICE_COOKIE, DEVICE_A, path="/s/")
    assert client.post(f"/s/{survey.key}", data=form()).status_code == 400
    assert responses() == 0


def test_a_survey_cannot_be_flooded(scene, client, app):
    """100 answers from one address within a minute, each from a "new device": the 100th is refused."""
    _contract, survey, _member = scene
    assert app.config["RATELIMIT_ENABLED"] and app.config["SURVEY_RATE_LIMIT"] == "30 per minute"
    codes = []
    for i in range(100):
        client.set_cookie(DEVICE_COOKIE, f"flood-device-{i:05d}-xxxxxxxx", path="/s/")
        codes.append(client.post(f"/s/{survey.key}", data=form()).status_code)
    assert codes[:30] == [302] * 30
    assert codes[99] == 429 and set(codes[30:]) == {429}
    assert responses() == 30  # nothing saved for the refused ones
    # Another address is not affected.
    client.set_cookie(DEVICE_COOKIE, "another-address-device-xxxx", path="/s/")
    other = client.post(f"/s/{survey.key}", data=form(), environ_overrides={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 302
    assert responses() == 31


def test_making_the_survey_link_is_audited_and_only_for_parties(world, db, client):
    from marketplace.audit.models import AuditEvent

    contract, _org, _member = contract_rows(world)
    db.session.commit()
    login(client, world["auditor"])  # may see the contract, is not a party: no button, no survey
    page = client.get(f"/contracts/{contract.id}/survey")
    assert page.status_code == 200 and "Make the survey link" not in page.get_data(as_text=True)
    assert client.post(f"/contracts/{contract.id}/survey").status_code == 403
    assert surveys.find_survey(contract) is None
    login(client, world["officer"])
    client.post(f"/contracts/{contract.id}/survey")
    client.post(f"/contracts/{contract.id}/survey")  # made once
    survey = surveys.find_survey(contract)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "survey.create")).all()
    assert [(e.actor_id, e.changes["survey_id"], e.tender_id) for e in events] == [
        (world["officer"].id, survey.id, contract.tender_id)
    ]
