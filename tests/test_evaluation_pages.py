"""Evaluation pages through the client: templates for admins, assignment from the contract page, the
assessor's declaration and scoring, the printable report; bad input is a 400, others get 404."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.auth import services as auth_services
from marketplace.extensions import db
from marketplace.performance import indicator_templates, indicators, rounds
from marketplace.performance.models import Evaluation, IndicatorTemplate
from marketplace.performance.outline import to_outline
from tests.contract_factories import contract_rows
from tests.factories import PASSWORD


@pytest.fixture
def scene(world, db):
    contract, org, member = contract_rows(world)
    assessor = auth_services.create_user(email="third@party.org", role="evaluator", password=PASSWORD)
    db.session.commit()
    return contract, org, member, assessor


def _login(client, user):
    with client.session_transaction() as sess:
        sess.clear()
        if user is not None:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _scores_form(ev, **overrides):
    data = {}
    for leaf in indicators.leaves(ev.template):
        key = f"ratio_{leaf.id}" if leaf.rule == "ratio" else f"points_{leaf.id}"
        data[key] = "1" if leaf.rule == "ratio" else str(leaf.weight)
        data[f"evidence_{leaf.id}"] = "台账 Ledger"
    data.update(overrides)
    return data


def test_templates_are_for_admins(client, world, db):
    for who in (world["officer"], world["evaluator"], world["auditor"], world["org_member"]):
        _login(client, who)
        assert client.get("/performance/templates").status_code == 403
    _login(client, world["admin"])
    page = client.get("/performance/templates")
    assert page.status_code == 200 and "Create the default template" in page.text
    assert indicators.all_templates() == []  # looking at the page creates nothing
    r = client.post("/performance/templates/default")
    assert r.status_code == 302
    page = client.get("/performance/templates")
    assert "通用绩效评价指标体系" in page.text and "Create the default template" not in page.text
    assert "Indicator templates" in page.text  # the navbar entry
    default = indicator_templates.default_template()
    page = client.get(f"/performance/templates/{default.id}")
    assert page.status_code == 200 and "目标完成率" in page.text
    assert client.get("/performance/templates/99999").status_code == 404


def test_admin_edits_copies_and_bad_weights_are_a_400(client, world, scene):
    contract, _org, _member, assessor = scene
    _login(client, world["admin"])
    default = indicator_templates.default_template()
    url = f"/performance/templates/{default.id}/edit"
    outline = to_outline(default)
    bad = client.post(
        url, data={"name": "x", "outline": outline.replace("| manual | 10", "| manual | 11", 1)}
    )
    assert bad.status_code == 400 and "must add up to 100" in bad.text
    assert client.post(url, data={"name": "x", "outline": "产出 | 50\n- a | manual | 40"}).status_code == 400
    assert client.post(url, data={}).status_code == 400
    copied = client.post(f"/performance/templates/{default.id}/copy", data={"category": "elderly_care"})
    assert copied.status_code == 302
    assert (
        client.post(f"/performance/templates/{default.id}/copy", data={"category": "nope"}).status_code == 400
    )
    # In use: the edit makes a new version.
    rounds.assign(contract, "ex_ante", assessor, default, world["officer"])
    db.session.commit()
    before = _count(IndicatorTemplate)
    edited = client.post(url, data={"name": "通用 v2", "outline": outline})
    assert edited.status_code == 302
    assert _count(IndicatorTemplate) == before + 1
    db.session.expire_all()
    assert default.archived and indicator_templates.default_template().version == 2


def test_officer_assigns_from_the_contract_page_and_insiders_are_refused(client, world, scene):
    contract, org, member, assessor = scene
    insider = auth_services.create_user(email="insider@agency.org", role="evaluator", password=PASSWORD)
    insider.agency_id = contract.agency_id
    staff = auth_services.create_user(email="insider@org.org", role="evaluator", password=PASSWORD)
    staff.organization_id = org.id
    db.session.commit()
    _login(client, world["officer"])
    page = client.get(f"/contracts/{contract.id}")
    assert page.status_code == 200 and "Performance evaluation" in page.text
    assert f'action="/contracts/{contract.id}/performance"' in page.text
    url = f"/contracts/{contract.id}/performance"
    refused = client.post(url, data={"stage": "ex_post", "assessor": insider.id, "template": 0})
    assert refused.status_code == 400 and "buying agency" in refused.text
    refused = client.post(url, data={"stage": "ex_post", "assessor": staff.id, "template": 0})
    assert refused.status_code == 400 and "contracted organization" in refused.text
    assert client.post(url, data={"stage": "later", "assessor": assessor.id}).status_code == 400
    assert client.post(url, data={"stage": "ex_post", "assessor": "abc"}).status_code == 400
    assert _count(Evaluation) == 0
    done = client.post(url, data={"stage": "ex_post", "assessor": assessor.id, "template": 0})
    assert done.status_code == 302
    assert _count(Evaluation) == 1
    for who in (world["other_officer"], member, world["auditor"], world["evaluator"]):
        _login(client, who)
        assert client.post(url, data={"stage": "ex_ante", "assessor": assessor.id}).status_code in (403, 404)
    assert _count(Evaluation) == 1


def test_the_assessor_declares_scores_and_submits_with_confirmation(client, world, scene):
    contract, _org, member, assessor = scene
    ev = rounds.assign(contract, "ex_post", assessor, None, world["officer"])
    db.session.commit()
    url = f"/performance/{ev.id}"
    for who in (world["evaluator"], world["officer"], member):
        _login(client, who)
        assert client.get(url).status_code == 404
    _login(client, assessor)
    mine = client.get("/performance/mine")
    assert mine.status_code == 200 and contract.reference in mine.text and "My assessments" in mine.text
    page = client.get(url)
    assert page.status_code == 200 and "Independence declaration" in page.text
    assert client.post(url, data={}).status_code == 400  # scoring before the declaration
    assert client.post(f"{url}/independence", data={}).status_code == 400
    assert client.post(f"{url}/independence", data={"choice": "none"}).status_code == 302
    page = client.get(url)
    assert page.status_code == 200 and "目标完成率" in page.text
    quality = next(leaf for leaf in indicators.leaves(ev.template) if leaf.name.startswith("服务质量"))
    bad = client.post(
        url, data=_scores_form(ev, **{f"points_{quality.id}": "11", "submit_scores": "1", "confirm": "y"})
    )
    assert bad.status_code == 400 and "between 0 and 10" in bad.text
    unconfirmed = client.post(url, data=_scores_form(ev, submit_scores="1"))
    assert unconfirmed.status_code == 400 and "confirm" in unconfirmed.text
    db.session.expire_all()
    assert db.session.get(Evaluation, ev.id).status == "declared"
    saved = client.post(url, data=_scores_form(ev, **{f"points_{quality.id}": "7.5", "save": "1"}))
    assert saved.status_code == 302
    done = client.post(
        url, data=_scores_form(ev, **{f"points_{quality.id}": "7.5", "submit_scores": "1", "confirm": "y"})
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/performance/{ev.id}/report")
    db.session.expire_all()
    ev = db.session.get(Evaluation, ev.id)
    assert ev.status == "submitted" and ev.total == Decimal("97.50") and ev.grade == "excellent"
    report = client.get(f"{url}/report")
    assert report.status_code == 200 and "97.50" in report.text and "Excellent (优)" in report.text
    for who in (world["officer"], member, world["auditor"], world["admin"]):
        _login(client, who)
        assert client.get(f"{url}/report").status_code == 200, who.email
    for who in (world["other_officer"], world["evaluator"], world["org_member"]):
        _login(client, who)
        assert client.get(f"{url}/report").status_code == 404, who.email
    _login(client, world["officer"])
    page = client.get(f"/contracts/{contract.id}")
    assert "Excellent (优)" in page.text and f"/performance/{ev.id}/report" in page.text


def test_a_conflict_on_the_page_blocks_scoring(client, world, scene):
    contract, _org, _member, assessor = scene
    ev = rounds.assign(contract, "in_progress", assessor, None, world["officer"])
    db.session.commit()
    _login(client, assessor)
    url = f"/performance/{ev.id}"
    assert client.post(f"{url}/independence", data={"choice": "conflict"}).status_code == 400  # no statement
    assert (
        client.post(
            f"{url}/independence", data={"choice": "conflict", "statement": "亲属 Relative"}
        ).status_code
        == 302
    )
    page = client.get(url)
    assert "declared a conflict" in page.text and "目标完成率" not in page.text
    assert client.post(url, data=_scores_form(ev, submit_scores="1", confirm="y")).status_code == 400
    db.session.expire_all()
    assert db.session.get(Evaluation, ev.id).status == "assigned"
