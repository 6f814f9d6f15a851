"""Delivery verbs: service records and progress, reports, milestones, final acceptance, payments."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.contracts.delivery import acceptance, milestones, payments, records, reports
from marketplace.contracts.models import Acceptance, Payment, ServiceRecord
from marketplace.core.errors import RuleViolation
from marketplace.core.notifications import Notification
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from tests import bid_factories as bf
from tests.conftest import PG_URL
from tests.contract_factories import contract_rows

# A realistic-looking (made-up) 18-character resident identity number.
IDENTITY_NUMBER = "11010119491001123X"


@pytest.fixture
def scene(world, db):
    contract, org, member = contract_rows(
        world,
        value="280000.00",
        milestones=[
            ("启动 Start-up", clock.now().date() + timedelta(days=30), "80000.00"),
            ("中期 Mid-term", clock.now().date() + timedelta(days=180), "80000.00"),
            ("终期验收 Final", clock.now().date() + timedelta(days=360), "120000.00"),
        ],
        targets=[("服务老人 Older residents", "人", "200"), ("上门服务 Home visits", "次", "1200")],
    )
    clock.advance(timedelta(days=10))
    return contract, org, member


def today():
    return local_date(clock.now())


def record(contract, member, **overrides):
    data = dict(service_date=today() - timedelta(days=1), activity_type="home_visit")
    data.update(overrides)
    return records.log_service_record(contract, data, [], member)


def person(name: str, community: str = "", role: str = "") -> dict:
    """A service-recipient representative as the acceptance form sends one."""
    return {"name": name, "community": community, "role": role}


def final_acceptance(contract, result: str, summary: str, people: list, officer):
    raw = {"result": result, "summary": summary, "representatives": people}
    return acceptance.final_acceptance(contract, raw, officer)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- service records and progress -------------------------------------------------------------------


def test_progress_aggregates_records_per_target(scene):
    contract, _org, member = scene
    persons, visits = contract.targets
    record(contract, member, target_id=persons.id, quantity="50", beneficiaries=50, hours="10")
    record(contract, member, target_id=persons.id, quantity="30.5", beneficiaries=30, hours="6.5")
    record(contract, member, target_id=visits.id, quantity="600", beneficiaries=12, hours="3")
    record(contract, member, activity_type="training", quantity="7", beneficiaries=8, hours="2")  # no target

    p = records.progress(contract)
    by_target = {row.target.id: row for row in p.targets}
    assert by_target[persons.id].delivered == Decimal("80.50")
    assert by_target[persons.id].planned == Decimal("200")
    assert by_target[persons.id].percent == 40
    assert by_target[visits.id].delivered == Decimal("600.00")
    assert by_target[visits.id].percent == 50
    assert p.beneficiaries == 100
    assert p.hours == Decimal("21.50")
    assert p.records == 4
    assert (
        count(AuditEvent)
        and db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "contract.service_logged")
        )
        == 4
    )


def test_identity_number_in_notes_is_refused(scene):
    contract, _org, member = scene
    for notes in (
        f"探访王阿姨 {IDENTITY_NUMBER}",
        "身份证 110101194910011234",
        "１１０１０１１９４９１００１１２３４",  # full-width digits
        "110101 19491001 1234",
    ):
        with pytest.raises(RuleViolation) as exc:
            record(contract, member, notes=notes)
        assert exc.value.field == "notes"
        assert "identity number" in exc.value.message
    assert count(ServiceRecord) == 0
    # A resident's phone number is refused too (issue 19: no identity numbers, phones or names).
    for notes in ("联系电话 13800138000", "家属电话 010-6512 3456"):
        with pytest.raises(RuleViolation) as exc:
            record(contract, member, notes=notes)
        assert exc.value.field == "notes" and "phone number" in exc.value.message
    # Ordinary numbers (a count, a room, a date) are fine.
    record(contract, member, notes="2026-03-09 活动室 3 号，共 12 人参加，用时 90 分钟")
    assert count(ServiceRecord) == 1


def test_service_record_rules(scene, world):
    contract, _org, member = scene
    other_org, other_member = bf.organization("另一家机构 Other org")
    cases = [
        (dict(service_date=today() + timedelta(days=1)), "service_date"),
        (dict(service_date=contract.term_start - timedelta(days=1)), "service_date"),
        (dict(activity_type="party"), "activity_type"),
        (dict(quantity="-1"), "quantity"),
        (dict(quantity="abc"), "quantity"),
        (dict(hours="-0.5"), "hours"),
        (dict(beneficiaries=-3), "beneficiaries"),
        (dict(target_id=999999), "target_id"),
        (dict(community_code="110101"), "community_code"),  # a county, not a community
    ]
    for overrides, field in cases:
        with pytest.raises(RuleViolation) as exc:
            record(contract, member, **overrides)
        assert exc.value.field == field, overrides
    for actor in (other_member, world["officer"], world["auditor"]):
        with pytest.raises(RuleViolation):
            record(contract, actor)
    assert count(ServiceRecord) == 0
    community = records.communities_for(contract)[0]
    r = record(contract, member, community_code=community.code)
    assert r.community_code == community.code and community.level == "community"


def test_records_filter(scene):
    contract, _org, member = scene
    persons = contract.targets[0]
    record(contract, member, service_date=today() - timedelta(days=5), target_id=persons.id)
    record(contract, member, service_date=today() - timedelta(days=1), activity_type="training")
    all_rows = db.session.scalars(records.records_query(contract)).all()
    assert len(all_rows) == 2 and all_rows[0].service_date > all_rows[1].service_date
    only = records.RecordFilter(activity_type="training")
    assert [r.activity_type for r in db.session.scalars(records.records_query(contract, only))] == [
        "training"
    ]
    by_target = records.RecordFilter(target_id=persons.id)
    assert len(db.session.scalars(records.records_query(contract, by_target)).all()) == 1
    recent = records.RecordFilter(date_from=today() - timedelta(days=2))
    assert len(db.session.scalars(records.records_query(contract, recent)).all()) == 1


def test_progress_report_period_rules(scene):
    contract, _org, member = scene
    start = contract.term_start
    with pytest.raises(RuleViolation) as exc:
        reports.file_progress_report(contract, start + timedelta(days=3), start, "ok", "", member)
    assert exc.value.field == "period_end"
    with pytest.raises(RuleViolation):
        reports.file_progress_report(contract, start, today() + timedelta(days=1), "ok", "", member)
    with pytest.raises(RuleViolation):
        reports.file_progress_report(contract, start, today(), "", "", member)
    report = reports.file_progress_report(contract, start, today(), "第一个月进展", "人手不足", member)
    assert report.id and db.session.scalars(reports.reports_query(contract)).all() == [report]


# --- milestones ---------------------------------------------------------------------------------------


def test_submit_reject_resubmit_accept(scene, world):
    contract, _org, member = scene
    officer = world["officer"]
    first = contract.milestones[0]

    milestones.submit_milestone(first, "启动会已召开，需求评估完成。", [], member)
    assert first.status == "submitted"
    assert db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == officer.id, Notification.kind == "contract.milestone_submitted")
    )
    with pytest.raises(RuleViolation):
        milestones.reject_milestone(first, "  ", officer)  # a reason is required
    milestones.reject_milestone(first, "缺少签到表", officer)
    assert first.status == "rejected"
    assert (
        first.submissions[0].decision == "rejected" and first.submissions[0].decision_reason == "缺少签到表"
    )
    assert payments.ledger(contract).due == Decimal("0.00")

    milestones.submit_milestone(first, "补充了签到表。", [], member)
    assert first.status == "submitted" and len(first.submissions) == 2
    first.overdue_days = 3
    clock.advance(timedelta(days=2))
    milestones.accept_milestone(first, officer)
    assert first.status == "accepted"
    assert first.met_on == today()
    assert first.accepted_at == clock.now() and first.accepted_by_id == officer.id
    assert first.overdue_days is None
    assert first.submissions[1].decision == "accepted"
    book = payments.ledger(contract)
    assert book.due == Decimal("80000.00") and book.outstanding == Decimal("80000.00")
    with pytest.raises(RuleViolation):
        milestones.submit_milestone(first, "again", [], member)  # accepted: nothing to submit


def test_only_the_parties_act_on_milestones(scene, world):
    contract, _org, member = scene
    _other_org, other_member = bf.organization("别家机构 Another org")
    first = contract.milestones[0]
    with pytest.raises(RuleViolation):
        milestones.submit_milestone(first, "not ours", [], other_member)
    with pytest.raises(RuleViolation):
        milestones.submit_milestone(first, "officer", [], world["officer"])
    assert first.status == "pending" and not first.submissions
    milestones.submit_milestone(first, "ours", [], member)
    for outsider in (world["other_officer"], world["auditor"], member):
        with pytest.raises(RuleViolation):
            milestones.accept_milestone(first, outsider)
        with pytest.raises(RuleViolation):
            milestones.reject_milestone(first, "no", outsider)
    assert first.status == "submitted" and first.met_on is None


def test_final_milestone_needs_final_acceptance(scene, world):
    contract, _org, member = scene
    final = contract.milestones[-1]
    milestones.submit_milestone(final, "终期报告", [], member)
    with pytest.raises(RuleViolation) as exc:
        milestones.accept_milestone(final, world["officer"])
    assert "final acceptance" in exc.value.message
    assert final.status == "submitted"


# --- payments -------------------------------------------------------------------------------------------


def accept(milestone, member, officer):
    milestones.submit_milestone(milestone, "done", [], member)
    milestones.accept_milestone(milestone, officer)


def test_payments_never_exceed_the_value_or_a_milestone_share(scene, world):
    contract, _org, member = scene
    officer = world["officer"]
    first, second, _final = contract.milestones
    with pytest.raises(RuleViolation) as exc:
        payments.record_payment(contract, today(), "1000", "PZ-0", second, officer)
    assert exc.value.field == "milestone"  # not accepted: nothing due
    accept(first, member, officer)
    payments.record_payment(contract, today(), "60000", "PZ-1", first, officer)
    with pytest.raises(RuleViolation) as exc:
        payments.record_payment(contract, today(), "20000.01", "PZ-2", first, officer)
    assert "¥20,000.00" in exc.value.message  # the milestone's unpaid share
    payments.record_payment(contract, today(), "20000", "PZ-2", first, officer)
    assert payments.unpaid_share(first) == Decimal("0.00")

    payments.record_payment(contract, today(), "180000", "PZ-3", None, officer)  # an advance
    with pytest.raises(RuleViolation) as exc:
        payments.record_payment(contract, today(), "20000.01", "PZ-4", None, officer)
    assert "¥20,000.00" in exc.value.message  # what remains of the contract value
    with pytest.raises(RuleViolation):
        payments.record_payment(contract, today(), "1e9", "PZ-5", None, officer)

    book = payments.ledger(contract)
    assert book.value == Decimal("280000.00")
    assert book.due == Decimal("80000.00")
    assert book.paid == Decimal("260000.00")
    assert book.balance == Decimal("20000.00")
    assert book.outstanding == Decimal("0.00")
    assert count(Payment) == 3


@pytest.mark.parametrize("amount", ["abc", "-1", "0", "0.001", "NaN", "Infinity", "1e40", ""])
def test_bad_payment_amounts_are_refused(scene, world, amount):
    contract, _org, _member = scene
    with pytest.raises(RuleViolation) as exc:
        payments.record_payment(contract, today(), amount, "PZ", None, world["officer"])
    assert exc.value.field == "amount"
    assert count(Payment) == 0


def test_payment_rules(scene, world):
    contract, _org, _member = scene
    officer = world["officer"]
    with pytest.raises(RuleViolation) as exc:
        payments.record_payment(contract, today() + timedelta(days=1), "100", "PZ", None, officer)
    assert exc.value.field == "paid_on"
    signed = local_date(contract.activated_at)
    for before_signing in (signed - timedelta(days=1), date(1, 1, 1)):  # typed dates reach here
        with pytest.raises(RuleViolation, match="before the contract was signed") as exc:
            payments.record_payment(contract, before_signing, "100", "PZ", None, officer)
        assert exc.value.field == "paid_on"
    with pytest.raises(RuleViolation):
        payments.record_payment(contract, today(), "100", "PZ", None, world["other_officer"])
    with pytest.raises(RuleViolation):
        payments.record_payment(contract, today(), "100", "", None, officer)
    contract.status = "draft"
    with pytest.raises(RuleViolation):
        payments.record_payment(contract, today(), "100", "PZ", None, officer)
    assert count(Payment) == 0
    assert payments.ledger(contract).outstanding == Decimal("0.00")


# --- final acceptance -----------------------------------------------------------------------------------


def ready_for_acceptance(contract, member, officer):
    first, second, final = contract.milestones
    accept(first, member, officer)
    accept(second, member, officer)
    milestones.submit_milestone(final, "终期报告", [], member)
    return final


def test_final_acceptance_needs_the_other_milestones_and_a_representative(scene, world):
    contract, _org, member = scene
    officer = world["officer"]
    reps = [person("王阿姨", "多福巷社区", "服务对象")]
    with pytest.raises(RuleViolation):  # nothing accepted yet
        final_acceptance(contract, "passed", "ok", reps, officer)
    final = ready_for_acceptance(contract, member, officer)
    with pytest.raises(RuleViolation) as exc:
        final_acceptance(contract, "passed", "ok", [], officer)
    assert exc.value.field == "representatives"
    with pytest.raises(RuleViolation) as exc:
        final_acceptance(contract, "passed", "ok", [person("", "", "")], officer)
    assert exc.value.field == "representatives"
    with pytest.raises(RuleViolation) as exc:
        final_acceptance(contract, "passed", "ok", [person(f"王阿姨 {IDENTITY_NUMBER}", "", "")], officer)
    assert exc.value.field == "representatives"
    with pytest.raises(RuleViolation):
        final_acceptance(contract, "passed", "ok", reps, world["other_officer"])
    assert count(Acceptance) == 0 and contract.status == "active" and final.status == "submitted"


def test_final_acceptance_passed_completes_the_contract(scene, world):
    contract, _org, member = scene
    officer = world["officer"]
    final = ready_for_acceptance(contract, member, officer)
    acc = final_acceptance(
        contract,
        "passed",
        "服务对象满意，目标完成。",
        [person("王阿姨", "多福巷社区", "服务对象"), person("欧阳明", "韶九社区", "家属")],
        officer,
    )
    assert acc.result == "passed" and acc.published_at == clock.now()
    assert acc.recipient_representatives[0] == {
        "name": "王阿姨",
        "community": "多福巷社区",
        "role": "服务对象",
    }
    assert final.status == "accepted" and final.met_on == today()
    assert contract.status == "completed" and contract.completed_at == clock.now()
    assert payments.ledger(contract).due == Decimal("280000.00")
    assert acceptance.masked_name("王阿姨") == "王*"


def test_final_acceptance_failed_rejects_the_final_milestone(scene, world):
    contract, _org, member = scene
    officer = world["officer"]
    final = ready_for_acceptance(contract, member, officer)
    final_acceptance(contract, "failed", "台账不全", [person("李大爷")], officer)
    assert final.status == "rejected" and final.submissions[-1].decision_reason == "台账不全"
    assert contract.status == "active"
    # After a resubmission the acceptance runs again and replaces the published result.
    milestones.submit_milestone(final, "台账已补齐", [], member)
    acc = final_acceptance(contract, "passed", "合格", [person("李大爷")], officer)
    assert acc.result == "passed" and count(Acceptance) == 1 and contract.status == "completed"


# --- concurrency (PostgreSQL) ---------------------------------------------------------------------------


@pytest.mark.skipif(not PG_URL, reason="concurrency tests need PostgreSQL: set TEST_DATABASE_URL")
def test_simultaneous_payments_never_exceed_the_contract_value(app, committed):
    import threading

    from marketplace.auth.models import User
    from marketplace.contracts.models import Contract
    from tests import factories

    world = factories.world()
    contract, _org, _member = contract_rows(world)
    db.session.commit()
    contract_id, officer_id, value = contract.id, world["officer"].id, contract.value
    paid_on = today()
    share = (value / 3).quantize(Decimal("0.01"))  # three fit; the other threads must be refused
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def pay():
        with app.app_context():
            try:
                c = db.session.get(Contract, contract_id)
                officer = db.session.get(User, officer_id)
                barrier.wait(10)
                payments.record_payment(c, paid_on, str(share), "PZ", None, officer)
                db.session.commit()
                outcomes.append("paid")
            except RuleViolation:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=pay) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["paid"] * 3 + ["refused"] * 5
    total = db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)))
    assert total == share * 3 and total <= value
