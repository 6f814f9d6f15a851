"""Using the results: track record, the officers' review list and the final-payment holdback."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import render_template
from sqlalchemy import select

from marketplace import clock
from marketplace.contracts.delivery import payments
from marketplace.core.errors import RuleViolation
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.orgs import sanctions
from marketplace.performance import surveys, track_record
from marketplace.performance.models import Evaluation, IndicatorTemplate
from marketplace.tenders.bids.models import Bid
from tests.contract_factories import contract_rows


def today() -> date:
    return local_date(clock.now())


def graded(contract, grade: str, world, stage: str = "ex_post", total: str = "55.00") -> Evaluation:
    template = IndicatorTemplate(name="通用 General", created_at=clock.now())
    db.session.add(template)
    db.session.flush()
    evaluation = Evaluation(
        contract_id=contract.id,
        stage=stage,
        template_id=template.id,
        assessor_id=world["evaluator"].id,
        assigned_by_id=world["officer"].id,
        assigned_at=clock.now(),
        status="submitted",
        total=Decimal(total),
        grade=grade,
        submitted_at=clock.now(),
    )
    db.session.add(evaluation)
    db.session.flush()
    return evaluation


def accepted(milestone, met_on: date) -> None:
    milestone.status = "accepted"
    milestone.met_on = met_on
    milestone.accepted_at = clock.now()


@pytest.fixture
def scene(world, db):
    contract, org, member = contract_rows(world)  # moves the clock; the due dates are set after it
    start = today()
    first, second, final = contract.milestones
    first.due_date, first.amount = start + timedelta(days=10), Decimal("80000.00")
    second.due_date, second.amount = start + timedelta(days=20), Decimal("80000.00")
    final.due_date, final.amount = start + timedelta(days=30), Decimal("120000.00")
    db.session.flush()
    return contract, org, member


def test_track_record_for_a_hand_built_scene(scene, world):
    contract, org, _member = scene
    first, second, final = contract.milestones
    accepted(first, first.due_date - timedelta(days=2))  # on time
    accepted(second, second.due_date + timedelta(days=2))  # late
    clock.advance(timedelta(days=25))  # first and second are due; the final is not yet
    survey = surveys.survey_for(contract)
    surveys.answer(survey, {"q1": 5, "q2": 5, "q3": 5, "q4": 5}, "", "device-" + "a" * 20, "10.0.0.1")
    surveys.answer(survey, {"q1": 3, "q2": 3, "q3": 4, "q4": 4}, "", "device-" + "b" * 20, "10.0.0.1")
    graded(contract, "good", world, stage="in_progress")  # not a final grade
    graded(contract, "fair", world, total="72.50")
    record = track_record.track_record(org.id)
    assert (record.milestones_due, record.milestones_on_time) == (2, 1)
    assert record.on_time_rate == Decimal("0.5")
    assert [(g.contract.id, g.grade, g.total) for g in record.grades] == [
        (contract.id, "fair", Decimal("72.50"))
    ]
    assert record.grade_counts == {"excellent": 0, "good": 0, "fair": 1, "poor": 0}
    assert record.satisfaction.count == 2 and record.satisfaction.mean == Decimal("4.25")

    clock.advance(timedelta(days=10))  # the final milestone is now due and not met
    assert track_record.on_time(org.id) == (3, 1)


def test_an_empty_track_record(world, db):
    _contract, org, _member = contract_rows(world)
    record = track_record.track_record(org.id)
    assert record.is_empty and record.on_time_rate is None and record.satisfaction.mean is None


def test_the_public_profile_shows_the_track_record(scene, world, client):
    contract, org, _member = scene
    graded(contract, "poor", world)
    db.session.commit()
    text = client.get(f"/orgs/{org.id}").get_data(as_text=True)
    assert "Track record" in text and "Poor" in text


def test_committee_members_see_bidders_track_records_as_reference(scene, world, app):
    contract, org, _member = scene
    graded(contract, "excellent", world)
    bids = db.session.scalars(select(Bid).where(Bid.tender_id == contract.tender_id)).all()
    with app.test_request_context():
        html = render_template("performance/_track_record_refs.html", bids=bids)
    assert org.name in html and "Excellent" in html and "for reference" in html


def test_a_poor_final_grade_puts_the_organization_on_the_review_list(scene, world, client):
    contract, org, _member = scene
    graded(contract, "poor", world, stage="in_progress")
    assert track_record.review_list() == []  # only final (ex-post) grades count
    evaluation = graded(contract, "poor", world)
    entries = track_record.review_list()
    assert [(e.organization.id, e.contract.id, e.evaluation.id) for e in entries] == [
        (org.id, contract.id, evaluation.id)
    ]
    db.session.commit()

    with client.session_transaction() as sess:
        sess["_user_id"] = str(world["officer"].id)
    page = client.get("/performance/review-list")
    assert page.status_code == 200 and org.name in page.get_data(as_text=True)
    assert f"/orgs/{org.id}/review" in page.get_data(as_text=True)

    clock.advance(timedelta(days=1))
    sanctions.suspend(
        org, today() + timedelta(days=90), "差评后暂停 Suspended after a poor grade", world["officer"]
    )
    db.session.commit()
    assert track_record.review_list() == []  # dealt with since the grade


@pytest.mark.parametrize(
    "role, code",
    [("org_member", 403), ("evaluator", 403), ("auditor", 403), ("admin", 200), ("officer", 200)],
)
def test_the_review_list_is_for_officers(world, db, client, login_as, role, code):
    login_as(role)
    assert client.get("/performance/review-list").status_code == code
    # Reachable from the navigation by exactly those who may open it.
    assert ('href="/performance/review-list"' in client.get("/").get_data(as_text=True)) == (code == 200)


def test_holdback_refuses_the_excess_on_the_final_milestone(scene, world, app):
    contract, _org, _member = scene
    officer = world["officer"]
    final = contract.milestones[-1]
    accepted(final, final.due_date)
    assert track_record.holdback_amount(contract) == Decimal("0.00")  # no poor grade: nothing held
    graded(contract, "poor", world)
    assert track_record.holdback_amount(contract) == Decimal("12000.00")  # 10 % of 120,000
    with pytest.raises(RuleViolation) as exc:
        payments.record_payment(contract, today(), "108000.01", "PZ-F1", final, officer)
    assert "¥12,000.00" in exc.value.message and exc.value.field == "amount"
    payments.record_payment(contract, today(), "100000", "PZ-F1", final, officer)
    with pytest.raises(RuleViolation):
        payments.record_payment(contract, today(), "8000.01", "PZ-F2", final, officer)
    payments.record_payment(contract, today(), "8000", "PZ-F2", final, officer)
    assert payments.unpaid_share(final) == Decimal("12000.00")

    app.config["FINAL_PAYMENT_HOLDBACK_SHARE"] = "0.25"
    try:
        assert track_record.holdback_amount(contract) == Decimal("30000.00")
    finally:
        app.config["FINAL_PAYMENT_HOLDBACK_SHARE"] = "0.10"


def test_holdback_also_limits_payments_tied_to_no_milestone(scene, world):
    contract, _org, _member = scene
    graded(contract, "poor", world)
    held = track_record.holdback_amount(contract)
    payable = contract.value - held
    with pytest.raises(RuleViolation) as exc:
        payments.record_payment(contract, today(), payable + Decimal("0.01"), "PZ-X", None, world["officer"])
    assert "held back" in exc.value.message
    payments.record_payment(contract, today(), payable, "PZ-X", None, world["officer"])
    assert payments.ledger(contract).paid == payable


def test_other_milestones_are_not_held_back(scene, world):
    contract, _org, _member = scene
    first = contract.milestones[0]
    accepted(first, first.due_date)
    graded(contract, "poor", world)
    payments.record_payment(contract, today(), "80000", "PZ-1", first, world["officer"])
    assert payments.unpaid_share(first) == Decimal("0.00")
