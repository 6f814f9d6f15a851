"""/api/v1 delivery endpoints (issue 19): the service-record import with its Idempotency-Key and dry
run, the records list, progress reports and milestone submissions with evidence, and who may use
them."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.auth import api_tokens
from marketplace.contracts.delivery.models import ServiceImport, ServiceImportRequest
from marketplace.contracts.models import MilestoneSubmission, ProgressReport, ServiceRecord
from marketplace.core.errors import PROBLEM_JSON
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from tests import bid_factories as bf
from tests.contract_factories import contract_rows

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def token_for(user, scopes=("read", "delivery:write")) -> str:
    _token, raw = api_tokens.create_token(
        user, {"name": "test", "scopes": list(scopes), "expires_in_days": 30}
    )
    db.session.commit()
    return raw


def headers(raw: str, key: str | None = "key-1") -> dict:
    out = {"Authorization": f"Bearer {raw}"}
    if key is not None:
        out["Idempotency-Key"] = key
    return out


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.get_data(as_text=True)[:800]
    assert r.mimetype == PROBLEM_JSON
    return r.get_json()


def day(offset: int) -> str:
    return (local_date(clock.now()) + timedelta(days=offset)).isoformat()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def scene(world, db):
    contract, org, member = contract_rows(world)
    clock.advance(timedelta(days=10))
    db.session.commit()
    return contract, member


def records(contract, n=3):
    return [
        {"service_date": day(-i), "activity_type": "home_visit", "target_id": contract.targets[0].id,
         "quantity": "1", "beneficiaries": 1, "hours": "1.5"}
        for i in range(1, n + 1)
    ]  # fmt: skip


def url(contract, suffix="service-records/import"):
    return f"/api/v1/contracts/{contract.id}/{suffix}"


def test_import_stores_every_record_and_replays_the_same_request(client, scene):
    contract, member = scene
    raw = token_for(member)
    body = records(contract)
    r = client.post(url(contract), json=body, headers=headers(raw))
    assert r.status_code == 201, r.get_data(as_text=True)
    first = r.get_json()
    assert first["count"] == 3 and first["valid"] and len(first["record_ids"]) == 3
    assert count(ServiceRecord) == 3
    # The same key and body (a retry after a lost answer): the first answer again, nothing stored.
    again = client.post(url(contract), json=body, headers=headers(raw))
    assert again.status_code == 201 and again.get_json() == first
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(ServiceRecord) == 3 and count(ServiceImport) == 1
    # The same key with another body is refused.
    changed = problem(client.post(url(contract), json=records(contract, 2), headers=headers(raw)), 422)
    assert "Idempotency-Key" in changed["errors"]
    # The same records under a new key: the content was already imported.
    dup = problem(client.post(url(contract), json=body, headers=headers(raw, "key-2")), 409)
    assert "already imported" in dup["detail"]
    assert count(ServiceRecord) == 3 and count(ServiceImportRequest) == 1


def test_invalid_records_store_nothing_and_every_error_names_its_row(client, scene):
    contract, member = scene
    raw = token_for(member)
    body = records(contract, 2) + [
        {"service_date": day(2), "activity_type": "home_visit"},
        {
            "service_date": day(-1),
            "activity_type": "x",
            "notes": "身份证 11010119491001123X",
            "target_id": 999999,
        },
        "not an object",
    ]
    p = problem(client.post(url(contract), json=body, headers=headers(raw)), 422)
    assert set(p["errors"]) == {
        "rows.3.service_date",
        "rows.4.activity_type",
        "rows.4.notes",
        "rows.4.target_id",
        "rows.5._schema",
    }
    assert count(ServiceRecord) == 0 and count(ServiceImport) == 0 and count(ServiceImportRequest) == 0
    # The key stays free: the corrected body goes through under it.
    assert client.post(url(contract), json=records(contract, 2), headers=headers(raw)).status_code == 201


def test_dry_run_checks_and_stores_nothing(client, scene):
    contract, member = scene
    raw = token_for(member)
    body = records(contract, 2) + [{"service_date": day(5), "activity_type": "home_visit"}]
    r = client.post(url(contract) + "?dry_run=1", json=body, headers=headers(raw))
    assert r.status_code == 200
    result = r.get_json()
    assert result["dry_run"] and not result["valid"] and result["record_ids"] == []
    assert [row["valid"] for row in result["rows"]] == [True, True, False]
    assert "service_date" in result["rows"][2]["errors"]
    assert count(ServiceRecord) == 0 and count(ServiceImport) == 0 and count(ServiceImportRequest) == 0
    # A dry run does not use up its key.
    assert client.post(url(contract), json=records(contract, 2), headers=headers(raw)).status_code == 201


def test_bad_requests_are_problems(client, scene):
    contract, member = scene
    raw = token_for(member)
    problem(client.post(url(contract), json=records(contract), headers=headers(raw, None)), 422)
    problem(client.post(url(contract), json={"service_date": day(-1)}, headers=headers(raw)), 422)
    problem(client.post(url(contract), data="not json", headers=headers(raw)), 422)
    problem(client.post(url(contract), json=[], headers=headers(raw)), 422)
    problem(client.post(url(contract), json=records(contract), headers=headers(raw, "k" * 256)), 422)
    assert count(ServiceRecord) == 0


def test_who_may_import(client, world, scene):
    contract, member = scene
    _other_org, other_member = bf.organization("别家机构 Another org")
    db.session.commit()
    body = records(contract)
    problem(client.post(url(contract), json=body, headers={"Idempotency-Key": "k"}), 401)
    problem(client.post(url(contract), json=body, headers=headers(token_for(member, ["read"]))), 403)
    problem(client.post(url(contract), json=body, headers=headers(token_for(other_member))), 404)
    problem(
        client.post(url(contract), json=body, headers=headers(token_for(world["officer"], ["read"]))), 403
    )
    problem(
        client.post(url(contract), json=body, headers=headers(token_for(world["auditor"], ["read"]))), 403
    )
    problem(
        client.post(
            "/api/v1/contracts/999999/service-records/import", json=body, headers=headers(token_for(member))
        ),
        404,
    )
    assert count(ServiceRecord) == 0


def test_the_records_list_is_paged_by_cursor_for_the_parties(client, world, scene):
    contract, member = scene
    raw = token_for(member)
    assert client.post(url(contract), json=records(contract, 5), headers=headers(raw)).status_code == 201
    seen, cursor = [], None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        r = client.get(url(contract, "service-records") + query, headers=headers(raw, None))
        assert r.status_code == 200
        page = r.get_json()
        seen += [item["service_date"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [day(-i) for i in range(1, 6)]
    officer = token_for(world["officer"], ["read"])
    assert client.get(url(contract, "service-records"), headers=headers(officer, None)).status_code == 200
    _other_org, other_member = bf.organization("别家机构 Another org")
    db.session.commit()
    other = token_for(other_member, ["read"])
    problem(client.get(url(contract, "service-records"), headers=headers(other, None)), 404)


def test_progress_report_and_milestone_submission_with_evidence(client, world, scene):
    contract, member = scene
    raw = token_for(member)
    r = client.post(
        url(contract, "progress-reports"),
        json={"period_start": day(-9), "period_end": day(-1), "summary": "第一阶段服务进展顺利"},
        headers=headers(raw, None),
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    assert count(ProgressReport) == 1
    p = problem(
        client.post(
            url(contract, "progress-reports"), json={"period_start": day(-1)}, headers=headers(raw, None)
        ),
        422,
    )
    assert {"period_end", "summary"} <= set(p["errors"])
    milestone = contract.milestones[0]
    r = client.post(
        url(contract, f"milestones/{milestone.id}/submission"),
        data={"report": "启动阶段完成", "documents": [(io.BytesIO(PNG), "签到表.png")]},
        headers=headers(raw, None),
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    submission = r.get_json()
    assert [d["filename"] for d in submission["documents"]] == ["签到表.png"]
    assert count(MilestoneSubmission) == 1
    # Submitted already: a 422 problem, nothing more stored.
    again = client.post(
        url(contract, f"milestones/{milestone.id}/submission"),
        data={"report": "again"},
        headers=headers(raw, None),
        content_type="multipart/form-data",
    )
    problem(again, 422)
    officer = token_for(world["officer"], ["read"])
    problem(client.post(url(contract, "progress-reports"), json={}, headers=headers(officer, None)), 403)
    problem(
        client.post(
            url(contract, "milestones/999999/submission"), data={"report": "x"}, headers=headers(raw, None)
        ),
        404,
    )
    assert count(MilestoneSubmission) == 1 and count(ProgressReport) == 1
