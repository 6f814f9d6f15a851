"""The red-flags pages: who sees what, the review (an audit event, the flag kept), exports, filters."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.extensions import db
from marketplace.redflags.compute import compute
from marketplace.redflags.models import RedFlag
from tests.redflag_factories import Scene


@pytest.fixture
def flags(world):
    """A short-period flag at each agency: (ours, theirs)."""
    clock.set_now(datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
    scene = Scene(world)
    ours = scene.tender(period_days=20)
    theirs = scene.tender(period_days=20, agency=world["other_agency"])
    compute("short_tender_period", clock.now(), full=True)
    by_tender = {f.tender_id: f for f in db.session.scalars(select(RedFlag))}
    return by_tender[ours.id], by_tender[theirs.id]


def test_auditor_sees_every_agency(client, login_as, flags):
    login_as("auditor")
    page = client.get("/red-flags")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for flag in flags:
        assert f"/red-flags/{flag.id}" in html
    assert "Flags per agency and year" in html  # the chart's table


def test_officer_sees_only_their_agency(client, login_as, flags):
    ours, theirs = flags
    login_as("officer")
    html = client.get("/red-flags").get_data(as_text=True)
    assert f"/red-flags/{ours.id}" in html and f"/red-flags/{theirs.id}" not in html
    assert client.get(f"/red-flags/{ours.id}").status_code == 200
    assert client.get(f"/red-flags/{theirs.id}").status_code == 404
    # Filtering by the other agency shows nothing of it either.
    html = client.get(f"/red-flags?agency={theirs.tender.agency_id}").get_data(as_text=True)
    assert f"/red-flags/{theirs.id}" not in html


@pytest.mark.parametrize("role", ["org_member", "evaluator"])
def test_others_see_nothing(client, login_as, flags, role):
    login_as(role)
    assert client.get("/red-flags").status_code == 403
    assert client.get(f"/red-flags/{flags[0].id}").status_code == 403
    assert client.post("/red-flags/export.csv", buffered=True).status_code == 403


def test_anonymous_is_sent_to_sign_in(client, flags):
    assert client.get("/red-flags").status_code in (302, 401)


def test_review_is_an_audit_event_and_keeps_the_flag(client, login_as, flags):
    flag = flags[0]
    login_as("auditor")
    response = client.post(f"/red-flags/{flag.id}/review", data={"note": "已核实：法定最短期限 Checked"})
    assert response.status_code == 303
    db.session.expire_all()
    flag = db.session.get(RedFlag, flag.id)
    assert flag.reviewed_at is not None and flag.review_note.startswith("已核实")
    assert flag.cleared_at is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "redflag.reviewed"))
    assert event.object_id == str(flag.id) and event.tender_id == flag.tender_id
    # The next computation keeps the review.
    compute("short_tender_period", clock.now(), full=True)
    assert db.session.get(RedFlag, flag.id).reviewed_at is not None


def test_review_needs_a_note_and_an_auditor(client, login_as, flags):
    flag = flags[0]
    login_as("auditor")
    assert client.post(f"/red-flags/{flag.id}/review", data={"note": "   "}).status_code == 400
    assert client.post(f"/red-flags/{flag.id}/review", data={"note": "x" * 2001}).status_code == 400
    assert db.session.get(RedFlag, flag.id).reviewed_at is None
    login_as("officer")
    assert client.post(f"/red-flags/{flag.id}/review", data={"note": "ok"}).status_code == 403
    assert client.post("/red-flags/999999/review", data={"note": "ok"}).status_code in (403, 404)


def test_csv_export_is_audited_and_limited_to_what_the_user_sees(client, login_as, flags):
    ours, theirs = flags
    login_as("officer")
    response = client.post("/red-flags/export.csv", buffered=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    lines = body.strip().splitlines()
    assert lines[0].lstrip("\ufeff").startswith("flag_id,tender_id")
    assert [line.split(",")[0] for line in lines[1:]] == [str(ours.id)]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "redflags.exported")) is not None


def test_xlsx_export(client, login_as, flags):
    from openpyxl import load_workbook

    login_as("auditor")
    response = client.post("/red-flags/export.xlsx?indicator=short_tender_period")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.data)).active.values)
    assert rows[0][0] == "flag_id" and sorted(r[0] for r in rows[1:]) == sorted(f.id for f in flags)


@pytest.mark.parametrize(
    "query",
    ["year=abc", "year=1900", "district=999999", "agency=x", "indicator=nope", "category=x", "state=x"],
)
def test_bad_filters_are_refused(client, login_as, flags, query):
    login_as("auditor")
    assert client.get(f"/red-flags?{query}").status_code == 400
    assert client.post(f"/red-flags/export.csv?{query}", buffered=True).status_code == 400


def test_filters_and_empty_state(client, login_as, flags):
    login_as("auditor")
    html = client.get("/red-flags?indicator=single_bid").get_data(as_text=True)
    assert "No flags match this filter." in html
    html = client.get("/red-flags?year=2026&category=elderly_care&district=110101").get_data(as_text=True)
    assert f"/red-flags/{flags[0].id}" in html
    html = client.get("/red-flags?year=2025").get_data(as_text=True)
    assert f"/red-flags/{flags[0].id}" not in html


def test_nav_link_for_auditors_and_officers_only(client, login_as, flags):
    login_as("auditor")
    assert 'href="/red-flags"' in client.get("/").get_data(as_text=True)
    login_as("org_member")
    assert 'href="/red-flags"' not in client.get("/").get_data(as_text=True)
