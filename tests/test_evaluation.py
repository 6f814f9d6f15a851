"""Evaluation rounds: independence, declarations, prefilled values, overrides, totals and versions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.auth import services as auth_services
from marketplace.contracts.models import ServiceRecord
from marketplace.core.errors import RuleViolation
from marketplace.core.notifications import Notification
from marketplace.extensions import db as _db
from marketplace.performance import assessment, indicator_templates, indicators, rounds
from marketplace.performance.models import Survey, SurveyResponse
from marketplace.performance.outline import parse_outline, to_outline
from marketplace.performance.prefill import prefill
from tests.contract_factories import contract_rows
from tests.factories import PASSWORD

D = Decimal


def _assessor(email="assessor@third.org"):
    return auth_services.create_user(email=email, role="evaluator", password=PASSWORD)


@pytest.fixture
def scene(world, db):
    contract, org, member = contract_rows(
        world, targets=[("服务老人", "人", "200"), ("上门服务", "次", "100")]
    )
    return contract, org, member


def _declared(world, contract, stage="ex_post"):
    assessor = _assessor(f"a-{stage}@third.org")
    ev = rounds.assign(contract, stage, assessor, None, world["officer"])
    assert rounds.declare(ev, True, "", assessor)
    return ev, assessor


def _leaf(ev, prefix):
    return next(leaf for leaf in indicators.leaves(ev.template) if leaf.name.startswith(prefix))


def _full_marks(ev, **overrides):
    """Every leaf at its maximum (ratio 1), then ``overrides`` by name prefix: points or an entry dict."""
    entries = {}
    for leaf in indicators.leaves(ev.template):
        if leaf.rule == "ratio":
            entries[leaf.id] = dict(ratio="1")
        else:
            entries[leaf.id] = dict(points=str(leaf.weight), evidence="记录", comment="好")
    for prefix, value in overrides.items():
        leaf = _leaf(ev, prefix)
        entries[leaf.id] = value if isinstance(value, dict) else dict(points=value)
    return entries


# --- independence ---------------------------------------------------------------------------------


def test_an_assessor_from_the_buying_agency_is_refused(world, scene):
    contract, _org, _m = scene
    insider = _assessor("insider@agency.org")
    insider.agency_id = contract.agency_id
    with pytest.raises(RuleViolation) as exc:
        rounds.assign(contract, "ex_post", insider, None, world["officer"])
    assert "buying agency" in exc.value.message and exc.value.field == "assessor"
    assert rounds.rounds(contract) == []


def test_an_assessor_from_the_organization_is_refused(world, scene):
    contract, org, _m = scene
    insider = _assessor("insider@org.org")
    insider.organization_id = org.id
    with pytest.raises(RuleViolation) as exc:
        rounds.assign(contract, "ex_post", insider, None, world["officer"])
    assert "contracted organization" in exc.value.message
    assert rounds.rounds(contract) == []


def test_only_evaluators_by_the_buying_agency_and_one_round_per_stage(world, scene):
    contract, _org, member = scene
    with pytest.raises(RuleViolation):
        rounds.assign(contract, "ex_post", world["auditor"], None, world["officer"])  # not an evaluator
    with pytest.raises(RuleViolation):
        rounds.assign(contract, "ex_post", _assessor(), None, world["other_officer"])
    with pytest.raises(RuleViolation):
        rounds.assign(contract, "ex_post", _assessor("x@third.org"), None, member)
    ev, _a = _declared(world, contract)
    with pytest.raises(RuleViolation) as exc:
        rounds.assign(contract, "ex_post", _assessor("y@third.org"), None, world["officer"])
    assert "already has an assessor" in exc.value.message
    other = rounds.assign(contract, "ex_ante", _assessor("z@third.org"), None, world["officer"])
    assert [e.stage for e in rounds.rounds(contract)] == ["ex_ante", "ex_post"] and other.id != ev.id
    event = next(e for e in rounds.rounds(contract))
    assert event.template.is_default


def test_a_draft_contract_has_no_rounds(world, db):
    contract, _org, _m = contract_rows(world, status="draft")
    with pytest.raises(RuleViolation):
        rounds.assign(contract, "ex_ante", _assessor(), None, world["officer"])


def test_a_declared_conflict_blocks_scoring_until_reassigned(world, scene, db):
    contract, _org, _m = scene
    first = _assessor("first@third.org")
    ev = rounds.assign(contract, "in_progress", first, None, world["officer"])
    with pytest.raises(RuleViolation):
        rounds.declare(ev, False, "", first)  # a conflict needs a statement
    assert rounds.declare(ev, False, "我曾在该机构任职 I worked there in 2024", first) is False
    assert ev.status == "assigned" and ev.has_conflict
    with pytest.raises(RuleViolation) as exc:
        assessment.save_scores(ev, _full_marks(ev), first)
    assert "Declare" in exc.value.message
    with pytest.raises(RuleViolation):
        rounds.declare(ev, True, "", first)  # cannot take it back
    officer_notes = db.session.scalars(
        select(Notification).where(
            Notification.user_id == world["officer"].id, Notification.kind.like("evaluation_round.conflict")
        )
    ).all()
    assert officer_notes
    with pytest.raises(RuleViolation):
        rounds.assign(contract, "in_progress", first, None, world["officer"])  # not the same person
    second = _assessor("second@third.org")
    again = rounds.assign(contract, "in_progress", second, None, world["officer"])
    assert again.id == ev.id and again.assessor_id == second.id and not again.has_conflict
    assert rounds.declare(again, True, "", second)
    with pytest.raises(RuleViolation):
        rounds.declare(again, True, "", first)


# --- scoring --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "total", "grade"),
    [
        ({}, "100.00", "excellent"),
        ({"服务质量": "0"}, "90.00", "excellent"),
        ({"服务质量": "0", "及时性": "4.99"}, "89.99", "good"),
        ({"服务质量": "0", "效益": None, "服务对象状况改善": "2"}, "80.00", "good"),
        ({"服务对象状况改善": "0", "可持续性": "0"}, "80.00", "good"),
        (
            {"目标完成率": dict(ratio="0.79"), "服务质量": "0", "服务对象状况改善": "2.67"},
            "67.34",
            "fair",
        ),
        (
            {
                "服务对象状况改善": "0",
                "可持续性": "0",
                "资金使用合规": "0",
                "服务记录完整": "0",
                "无违规转包": "0",
            },
            "60.00",
            "fair",
        ),
        (
            {
                "服务对象状况改善": "0",
                "可持续性": "0",
                "资金使用合规": "0",
                "服务记录完整": "0",
                "无违规转包": "0",
                "及时性": "4.99",
            },
            "59.99",
            "poor",
        ),
    ],
)
def test_hand_checked_totals_and_grades(world, scene, overrides, total, grade):
    contract, _org, _m = scene
    ev, assessor = _declared(world, contract)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    assessment.save_scores(ev, _full_marks(ev, **overrides), assessor, submit=True)
    assert ev.status == "submitted" and ev.total == D(total) and ev.grade == grade


def test_the_ratio_leaf_follows_the_bands(world, scene):
    contract, _org, _m = scene
    ev, assessor = _declared(world, contract)
    leaf = _leaf(ev, "目标完成率")
    for ratio, points in [
        ("1.00", "20.00"),
        ("0.99", "13.33"),
        ("0.80", "13.33"),
        ("0.79", "6.67"),
        ("0.60", "6.67"),
        ("0.59", "0.00"),
    ]:
        assessment.save_scores(ev, _full_marks(ev, 目标完成率=dict(ratio=ratio)), assessor)
        score = assessment.scores_by_indicator(ev)[leaf.id]
        assert (score.ratio, score.points) == (D(ratio), D(points)), ratio


def test_submit_needs_every_leaf_and_points_within_the_maximum(world, scene):
    contract, _org, _m = scene
    ev, assessor = _declared(world, contract)
    entries = _full_marks(ev)
    quality = _leaf(ev, "服务质量")
    entries[quality.id] = dict(points="")
    assessment.save_scores(ev, entries, assessor)  # a draft may leave gaps
    with pytest.raises(RuleViolation) as exc:
        assessment.save_scores(ev, entries, assessor, submit=True)
    assert "服务质量" in exc.value.message and exc.value.field == f"points_{quality.id}"
    for bad in ("10.01", "-1", "abc", "1.234", "NaN"):
        with pytest.raises(RuleViolation) as exc:
            assessment.save_scores(ev, _full_marks(ev, 服务质量=bad), assessor)
        assert exc.value.field == f"points_{quality.id}", bad
    with pytest.raises(RuleViolation):
        assessment.save_scores(ev, _full_marks(ev), world["evaluator"])  # not the assessor
    assessment.save_scores(ev, _full_marks(ev), assessor, submit=True)
    with pytest.raises(RuleViolation):
        assessment.save_scores(ev, _full_marks(ev), assessor, submit=True)


def _records(contract, member, delivered):
    for target, qty in zip(contract.targets, delivered, strict=True):
        _db.session.add(
            ServiceRecord(
                contract_id=contract.id,
                service_date=clock.now().date(),
                activity_type="home_visit",
                target_id=target.id,
                quantity=D(qty),
                recorded_at=clock.now(),
                recorded_by_id=member.id,
            )
        )


def _survey(contract, means):
    survey = Survey(contract_id=contract.id, key=f"k{contract.id}", created_at=clock.now())
    _db.session.add(survey)
    _db.session.flush()
    for i, mean in enumerate(means):
        _db.session.add(
            SurveyResponse(
                survey_id=survey.id,
                submitted_at=clock.now() + timedelta(minutes=i),
                answers={"q1": int(D(mean))},
                mean=D(mean),
                device_hash=f"d{i}",
                address_hash=f"a{i}",
            )
        )
    _db.session.flush()


def test_prefill_from_records_and_survey_and_override_needs_a_reason(world, scene, db):
    contract, _org, member = scene
    # 180 of 200 (0.90) and 120 of 100 (capped at 1): mean 0.95 → two thirds of 20 = 13.33.
    _records(contract, member, ["180", "120"])
    _survey(contract, ["4", "5"])  # mean 4.5 → 4.5 / 5 × 10 = 9.00
    db.session.flush()
    ev, assessor = _declared(world, contract)
    ratio_leaf, survey_leaf = _leaf(ev, "目标完成率"), _leaf(ev, "服务对象满意度")
    pre = prefill(ev)
    assert (pre[ratio_leaf.id].ratio, pre[ratio_leaf.id].points) == (D("0.9500"), D("13.33"))
    assert pre[survey_leaf.id].points == D("9.00") and pre[survey_leaf.id].responses == 2
    assert _leaf(ev, "服务质量").id not in pre

    # Keeping the prefilled values needs no reason: 100 − (20 − 13.33) − (10 − 9) = 92.33.
    same = _full_marks(ev, 目标完成率=dict(ratio="0.95"), 服务对象满意度="9")
    # Changing the ratio (to 1.00: the records missed a late batch) without a reason is refused.
    changed = dict(same)
    changed[ratio_leaf.id] = dict(ratio="1.00")
    with pytest.raises(RuleViolation) as exc:
        assessment.save_scores(ev, changed, assessor)
    assert exc.value.field == f"reason_{ratio_leaf.id}"
    changed[survey_leaf.id] = dict(points="8")
    changed[ratio_leaf.id] = dict(
        ratio="1.00", override_reason="补录的12月记录 December records were filed late"
    )
    with pytest.raises(RuleViolation) as exc:
        assessment.save_scores(ev, changed, assessor)
    assert exc.value.field == f"reason_{survey_leaf.id}"
    changed[survey_leaf.id] = dict(points="8", override_reason="抽样偏差 Sample skewed")
    assessment.save_scores(ev, changed, assessor, submit=True)
    scores = assessment.scores_by_indicator(ev)
    assert scores[ratio_leaf.id].points == D("20.00") and scores[ratio_leaf.id].prefilled_points == D("13.33")
    assert scores[ratio_leaf.id].override_reason.startswith("补录")
    assert scores[survey_leaf.id].points == D("8.00") and scores[survey_leaf.id].override_reason
    assert scores[_leaf(ev, "服务质量").id].override_reason == ""
    assert ev.total == D("98.00") and ev.grade == "excellent"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "evaluation_round.submit"))
    assert event.tender_id == contract.tender_id
    assert set(event.changes["overridden"]) == {ratio_leaf.id, survey_leaf.id}


def test_prefilled_values_kept_total(world, scene, db):
    contract, _org, member = scene
    _records(contract, member, ["180", "120"])
    _survey(contract, ["4", "5"])
    ev, assessor = _declared(world, contract)
    assessment.save_scores(
        ev, _full_marks(ev, 目标完成率=dict(ratio="0.95"), 服务对象满意度="9"), assessor, submit=True
    )
    assert ev.total == D("92.33") and ev.grade == "excellent"


def test_no_records_or_responses_means_no_prefill(world, scene):
    contract, _org, _m = scene
    ev, _a = _declared(world, contract)
    pre = prefill(ev)
    ratio_leaf = _leaf(ev, "目标完成率")
    assert ratio_leaf.id not in pre
    assert _leaf(ev, "服务对象满意度").id not in pre


# --- templates in use -----------------------------------------------------------------------------


def test_a_template_in_use_gets_a_new_version(world, scene):
    contract, _org, _m = scene
    admin = world["admin"]
    copy = indicator_templates.copy_template(indicator_templates.default_template(), "elderly_care", admin)
    assert copy.category == "elderly_care" and indicators.total_weight(copy) == D("100")
    assert indicator_templates.for_category("elderly_care").id == copy.id
    outline = to_outline(copy).replace(
        "服务质量 Service quality | manual | 10", "服务质量 Service quality | manual | 12"
    )
    outline = outline.replace("及时性 Timeliness | manual | 5", "及时性 Timeliness | manual | 3")
    # Not used yet: edited in place.
    same = indicator_templates.update_template(
        copy, indicators.TemplateSpec(copy.name, parse_outline(outline)), admin
    )
    assert same.id == copy.id and copy.version == 1
    ev = rounds.assign(contract, "ex_ante", _assessor(), copy, world["officer"])
    old_leaves = [(leaf.id, leaf.weight) for leaf in indicators.leaves(copy)]
    outline = outline.replace("Service quality | manual | 12", "Service quality | manual | 10")
    outline = outline.replace("Timeliness | manual | 3", "Timeliness | manual | 5")
    new = indicator_templates.update_template(
        copy, indicators.TemplateSpec("新版 v2", parse_outline(outline)), admin
    )
    assert (
        new.id != copy.id
        and new.version == 2
        and new.supersedes_id == copy.id
        and new.category == "elderly_care"
    )
    assert copy.archived and not new.archived
    assert [(leaf.id, leaf.weight) for leaf in indicators.leaves(copy)] == old_leaves  # untouched
    assert ev.template_id == copy.id
    with pytest.raises(RuleViolation):
        indicator_templates.update_template(copy, indicators.TemplateSpec("x", parse_outline(outline)), admin)
    with pytest.raises(RuleViolation):
        rounds.assign(contract, "ex_post", _assessor("b@third.org"), copy, world["officer"])  # archived
    with pytest.raises(RuleViolation):
        indicator_templates.copy_template(new, "elderly_care", world["officer"])  # admins only


def test_editing_the_default_in_use_keeps_a_single_default(world, scene):
    contract, _org, _m = scene
    default = indicator_templates.default_template()
    rounds.assign(contract, "ex_ante", _assessor(), default, world["officer"])
    spec = indicators.TemplateSpec(default.name, parse_outline(to_outline(default)))
    new = indicator_templates.update_template(default, spec, world["admin"])
    assert new.is_default and not default.is_default and indicator_templates.default_template().id == new.id


# --- the audit trail ------------------------------------------------------------------------------


def _events(action):
    return _db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_every_verb_of_a_round_writes_an_audit_event(world, scene):
    contract, _org, _m = scene
    first = _assessor("first@third.org")
    ev = rounds.assign(contract, "ex_post", first, None, world["officer"])
    assert rounds.declare(ev, False, "我曾在该机构任职 I worked there", first) is False
    second = _assessor("second@third.org")
    rounds.assign(contract, "ex_post", second, None, world["officer"])
    assigned = _events("evaluation_round.assign")
    assert [e.changes["assessor"] for e in assigned] == [[None, first.id], [first.id, second.id]]
    assert all(e.tender_id == contract.tender_id and e.actor_id == world["officer"].id for e in assigned)
    assert [e.changes["statement"] for e in _events("evaluation_round.conflict")] == [
        "我曾在该机构任职 I worked there"
    ]
    assert rounds.declare(ev, True, "", second)
    (declared,) = _events("evaluation_round.declare")
    assert declared.actor_id == second.id and declared.changes["status"] == ["assigned", "declared"]
    # A draft save is a state change too: audited with what was scored so far.
    leaf = _leaf(ev, "服务质量")
    assessment.save_scores(ev, {leaf.id: dict(points="8")}, second)
    (saved,) = _events("evaluation_round.save")
    assert saved.actor_id == second.id and saved.tender_id == contract.tender_id
    assert saved.changes == {"evaluation_id": ev.id, "scored": [leaf.id]}
    assert _events("evaluation_round.submit") == []


def test_template_create_copy_and_edit_are_audited(world, db):
    admin = world["admin"]
    default = indicator_templates.default_template(admin)
    (created,) = _events("indicator_template.create")
    assert created.object_id == str(default.id) and created.actor_id == admin.id
    assert default.created_by_id == admin.id
    indicator_templates.default_template(admin)  # found, not made again
    assert len(_events("indicator_template.create")) == 1
    copy = indicator_templates.copy_template(default, "elderly_care", admin)
    (copied,) = _events("indicator_template.copy")
    assert copied.object_id == str(copy.id) and copied.changes == {
        "source": default.id,
        "category": "elderly_care",
    }
    indicator_templates.update_template(
        copy,
        indicators.TemplateSpec("新名称 Renamed", parse_outline(to_outline(copy))),
        admin,
    )
    (updated,) = _events("indicator_template.update")
    assert updated.object_id == str(copy.id) and updated.actor_id == admin.id
