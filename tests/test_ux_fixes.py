"""Issue 20's small mistakes and lost work, through the pages: the registration reports every error
at once, the payments table's column, the search's empty states, the favicon, survey comments with
a phone number."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from sqlalchemy import select

from marketplace import clock
from marketplace.contracts.delivery import payments
from marketplace.orgs.models import Organization
from marketplace.performance import surveys
from marketplace.performance.models import SurveyResponse
from tests import factories
from tests.contract_factories import contract_rows
from tests.test_orgs import count, form_data, register


def _text(r) -> str:
    return r.get_data(as_text=True)


def _field_errors(page: str) -> str:
    return " ".join(re.findall(r'<div class="invalid-feedback[^"]*">(.*?)</div>', page, re.S))


def test_registration_reports_format_and_rules_together(client, world, db):
    taken, _member = register()
    db.session.commit()
    # A format error caught by the form (no legal representative, passwords differ), a format error of
    # the schema (a phone), and business rules (a credit code taken, a founding date in the future,
    # an unknown service area), all in one submission.
    data = form_data(
        uscc=taken.uscc,
        founded_on="2099-01-01",
        legal_representative="",
        phone="call me",
        service_area_codes=["110101", "999999"],
        confirm="something-else-entirely",
    )
    r = client.post("/orgs/register", data=data, content_type="multipart/form-data")
    assert r.status_code == 400
    errors = _field_errors(_text(r))
    for message in (
        "already registered",
        "cannot be in the future",
        "phone number",
        "The two passwords differ",
        "is not a valid choice",  # the unknown service area
    ):
        assert message in errors, (message, errors)
    assert "This field is required" in errors  # the legal representative
    assert count(db, Organization) == 1
    # The rules alone (the form itself is valid): still every rule at once.
    r = client.post(
        "/orgs/register",
        data=form_data(uscc=taken.uscc, founded_on="2099-01-01", account_email="x@y.cn"),
        content_type="multipart/form-data",
    )
    errors = _field_errors(_text(r))
    assert r.status_code == 400 and "already registered" in errors and "cannot be in the future" in errors


def test_the_payments_table_names_the_payment_reference(client, world, db):
    contract, _org, _member = contract_rows(world)
    payments.record_payment(
        contract, clock.today_local(ZoneInfo("Asia/Shanghai")), "1000", "GK-01", None, world["officer"]
    )
    db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = world["officer"].get_id()
        sess["_fresh"] = True
        sess["lang"] = "zh_CN"
    page = client.get(f"/contracts/{contract.id}/payments")
    assert page.status_code == 200, page.status_code
    head = re.search(r"<thead>.*?</thead>", _text(page), re.S)
    assert head is not None and "项目编号" not in head.group(0)
    assert "支付凭证号" in head.group(0)


def test_a_page_past_the_results_says_so_and_the_count_matches(client, world, db):
    for i in range(3):
        factories.published(world["officer"], title=f"居家养老服务项目{i}")
    db.session.commit()
    page = _text(client.get("/tenders?page=5"))
    assert "3 tenders found" in page
    assert "No tender has been published yet" not in page and "past the last page" in page
    page = _text(client.get("/tenders?q=zzzzqqq"))
    assert "0 tenders found" in page and "No tender matches" in page
    assert "No tender has been published yet" not in page


def test_the_favicon_answers_at_the_root(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.data[:4] == b"\x00\x00\x01\x00"


def test_a_survey_comment_with_a_phone_number_is_refused(client, world, db):
    contract, _org, _member = contract_rows(world)
    survey = surveys.survey_for(contract)
    db.session.commit()
    client.get(f"/s/{survey.key}")  # the device cookie
    answers = {"q1": 5, "q2": 4, "q3": 3, "q4": 4}
    for comment in ("有事请打 138 1234 5678 找我", "家里电话010-6512 3456", "身份证110101194910011234"):
        r = client.post(f"/s/{survey.key}", data={**answers, "comment": comment})
        assert r.status_code == 400 and "Remove the phone number or identity number" in _text(r), comment
    assert db.session.scalar(select(SurveyResponse)) is None
    # A comment stored before the check is held, not shown verbatim.
    db.session.add(
        SurveyResponse(
            survey_id=survey.id,
            submitted_at=clock.now(),
            answers=answers,
            mean=4,
            comment="请回电 13812345678",
            comment_status="shown",
            device_hash="d" * 64,
            address_hash="a" * 64,
        )
    )
    db.session.flush()
    results = surveys.results(survey)
    assert results.comments == [] and results.held == 1
