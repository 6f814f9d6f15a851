"""Hand-worked cases of the procurement rules issue 14 found broken: the budget ceiling at the opening
(GPL 36), a failed opening that discloses nothing (O87 41), consultation with two bids, clarification
answers and amendments classified by the officer (IR 31; O87 27), a variation never below what was
paid and is due. The award's rank order (O87 68) is in tests/test_award_services.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.audit.sealed import sealed_bid_event_filter
from marketplace.contracts import variations
from marketplace.contracts.delivery import milestones, payments
from marketplace.core.errors import RuleViolation
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.tenders.amendments import amend
from marketplace.tenders.bids import submission
from marketplace.tenders.bids.visibility import visible_bid
from marketplace.tenders.clarifications import answer_clarification, ask_clarification
from marketplace.tenders.committee.review import qualify
from tests import bid_factories as bf
from tests import factories
from tests.bid_factories import open_sealed
from tests.contract_factories import contract_rows


def _tender(world, **overrides):
    clock.set_now(datetime(2026, 8, 20, 2, 0, tzinfo=UTC))  # Thu 20 Aug 2026
    overrides.setdefault("bid_deadline", start_of_local_day(date(2026, 9, 15)) + timedelta(hours=9))
    return factories.published(world["officer"], **overrides)


def _bids(tender, prices):
    out = []
    for i, price in enumerate(prices):
        org, member = bf.organization(f"规则机构{i}")
        bid, _receipt = bf.submitted_bid(tender, org, member, price=price)
        out.append((bid, member))
    return out


def _open(tender):
    clock.set_now(tender.bid_deadline + timedelta(minutes=1))
    return open_sealed(tender)


# --- the budget ceiling at the opening (GPL 36) ------------------------------------------------------


def test_every_bid_over_a_ceiling_lowered_by_an_amendment_fails_the_tender(world, db):
    tender = _tender(world, budget_ceiling=Decimal("350000.00"))
    bids = _bids(tender, ["300000.00", "310000.00", "320000.00"])
    clock.set_now(datetime(2026, 8, 25, 2, 0, tzinfo=UTC))  # 21 days before the deadline
    amend(tender, {"reason": "预算调减", "budget_ceiling": Decimal("299999.99")}, world["officer"])
    assert all(b.needs_reconfirmation for b, _m in bids)
    for bid, member in bids:  # each re-confirms its bid as it stands
        submission.reconfirm(bid, member)
    opening = _open(tender)
    assert opening.failed and tender.status == "failed"
    assert "Every bid exceeds the budget ceiling" in opening.failure_reason
    assert all(row["over_ceiling"] for row in opening.record)


def test_a_bid_exactly_at_the_ceiling_is_within_it(world, db):
    tender = _tender(world, budget_ceiling=Decimal("350000.00"))
    bids = _bids(tender, ["350000.00", "340000.00", "320000.00"])
    opening = _open(tender)
    assert not opening.failed and not any(row["over_ceiling"] for row in opening.record)
    assert opening.sealed_organizations is None  # opened: the bid events show in the audit log
    bid_events = select(AuditEvent).where(AuditEvent.tender_id == tender.id, AuditEvent.object_type == "bid")
    assert db.session.scalars(bid_events.where(sealed_bid_event_filter())).all()
    assert bids


def test_bids_not_reconfirmed_after_an_amendment_are_neither_opened_nor_counted(world, db):
    tender = _tender(world, budget_ceiling=Decimal("350000.00"))
    bids = _bids(tender, ["300000.00", "310000.00", "320000.00"])
    clock.set_now(datetime(2026, 8, 25, 2, 0, tzinfo=UTC))
    amend(tender, {"reason": "服务内容说明", "description": "新的服务说明"}, world["officer"])
    submission.reconfirm(*bids[0])
    submission.reconfirm(*bids[1])  # the third does not re-confirm
    opening = _open(tender)
    assert opening.bid_count == 2 and opening.unconfirmed_count == 1
    assert opening.failed and "Only 2 bid(s)" in opening.failure_reason  # open tender needs 3
    assert bids[2][0].price is None and bids[2][0].submissions[-1].content is None  # never decrypted


def test_too_few_within_the_ceiling_fail_the_tender(world, db):
    tender = _tender(world, budget_ceiling=Decimal("350000.00"))
    bids = _bids(tender, ["300000.00", "310000.00", "320000.00"])
    clock.set_now(datetime(2026, 8, 25, 2, 0, tzinfo=UTC))
    amend(tender, {"reason": "预算调减", "budget_ceiling": Decimal("305000.00")}, world["officer"])
    for bid, member in bids:
        submission.reconfirm(bid, member)
    opening = _open(tender)
    assert opening.failed and "Only 1 bid(s) are within the budget ceiling" in opening.failure_reason
    assert [r["over_ceiling"] for r in opening.record] == [False, True, True]


def test_a_bid_over_the_ceiling_cannot_pass_qualification(world, db):
    tender = _tender(world, budget_ceiling=Decimal("350000.00"))
    bids = _bids(tender, ["300000.00", "310000.00", "320000.00", "330000.00"])
    clock.set_now(datetime(2026, 8, 25, 2, 0, tzinfo=UTC))
    amend(tender, {"reason": "预算调减", "budget_ceiling": Decimal("325000.00")}, world["officer"])
    for bid, member in bids:
        submission.reconfirm(bid, member)
    opening = _open(tender)
    assert not opening.failed  # three are within the ceiling
    tender.status = "evaluation"
    with pytest.raises(RuleViolation, match="over the budget ceiling"):
        qualify(tender, bids[3][0], True, "", world["officer"])
    assert qualify(tender, bids[2][0], True, "", world["officer"]).passed


# --- a failed opening discloses nothing (O87 41) ---------------------------------------------------


def test_too_few_bids_stay_sealed(world, db, client):
    tender = _tender(world)
    (first, first_member), (second, _m) = _bids(tender, ["300000.00", "280000.00"])
    opening = _open(tender)
    assert opening.failed and opening.record == [] and opening.bid_count == 2
    assert "Only 2 bid(s)" in opening.failure_reason
    assert visible_bid(second.public_id, world["officer"]) is None  # not even the officer reads it
    assert visible_bid(second.public_id, world["auditor"]) is None
    # Nor does the audit log name the bidders: their bid events stay hidden (audit.sealed).
    bid_events = select(AuditEvent).where(AuditEvent.tender_id == tender.id, AuditEvent.object_type == "bid")
    assert db.session.scalars(bid_events).all()  # they exist…
    assert db.session.scalars(bid_events.where(sealed_bid_event_filter())).all() == []  # …and stay hidden
    db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(first_member.id)
        sess["_fresh"] = True
    page = client.get(f"/bids/opening/{tender.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "The tender failed" in text and "were not opened" in text
    assert second.organization.name not in text and "280,000" not in text and "300,000" not in text
    with client.session_transaction() as sess:
        sess["_user_id"] = str(world["officer"].id)
    text = client.get(f"/bids/opening/{tender.id}").get_data(as_text=True)
    assert first.organization.name not in text and second.organization.name not in text


# --- competitive consultation may go on with two bids ------------------------------------------------


@pytest.mark.parametrize(("prices", "failed"), [(["300000.00", "280000.00"], False), (["300000.00"], True)])
def test_consultation_goes_on_with_two_bids_and_stops_with_one(world, db, prices, failed):
    clock.set_now(datetime(2026, 8, 20, 2, 0, tzinfo=UTC))
    tender = factories.published(
        world["officer"],
        method="competitive_consultation",
        bid_deadline=start_of_local_day(date(2026, 9, 15)) + timedelta(hours=9),
    )
    _bids(tender, prices)
    opening = _open(tender)
    assert opening.failed is failed and tender.status == ("failed" if failed else "opened")


# --- clarifications and amendments, classified ---------------------------------------------------------


def test_an_answer_that_changes_the_documents_is_an_amendment_under_the_15_day_rule(world, db):
    # Deadline Fri 9 Oct 2026 09:00, the first working day after National Day (1-8 Oct off).
    tender = _tender(world, bid_deadline=start_of_local_day(date(2026, 10, 9)) + timedelta(hours=9))
    org, member = bf.organization("提问机构")
    bid, _r = bf.submitted_bid(tender, org, member)
    question = ask_clarification(tender, "服务时长是否包含夜间？", member)
    clock.set_now(start_of_local_day(date(2026, 9, 25)) + timedelta(hours=10))  # 14 days before
    with pytest.raises(RuleViolation, match="must move to"):
        answer_clarification(
            question, {"answer": "包含夜间服务。", "changes_documents": True}, world["officer"]
        )
    assert question.answer is None
    # 15 days after Fri 25 Sep is Sat 10 Oct, a make-up working day (调休).
    with pytest.raises(RuleViolation, match="must move to"):
        answer_clarification(
            question,
            {
                "answer": "包含夜间服务。",
                "changes_documents": True,
                "bid_deadline": datetime(2026, 10, 9, 15, 0),
            },
            world["officer"],
        )
    answer_clarification(
        question,
        {"answer": "包含夜间服务。", "changes_documents": True, "bid_deadline": datetime(2026, 10, 10, 9, 0)},
        world["officer"],
    )
    assert question.changes_documents and question.amendment_id is not None
    assert local_date(tender.bid_deadline) == date(2026, 10, 10)
    assert tender.amendments[-1].substantive and bid.needs_reconfirmation


def test_an_answer_that_changes_nothing_leaves_the_deadline(world, db):
    tender = _tender(world)
    org, member = bf.organization("提问机构")
    question = ask_clarification(tender, "联系电话是多少？", member)
    deadline = tender.bid_deadline
    clock.set_now(deadline - timedelta(days=3))
    answer_clarification(question, {"answer": "见公告联系人。", "changes_documents": False}, world["officer"])
    assert question.changes_documents is False and question.amendment_id is None
    assert tender.bid_deadline == deadline and tender.amendments == []


def test_a_change_that_is_not_substantive_keeps_the_deadline_and_the_bids(world, db):
    tender = _tender(world)
    org, member = bf.organization("投标机构")
    bid, _r = bf.submitted_bid(tender, org, member)
    deadline = tender.bid_deadline
    clock.set_now(deadline - timedelta(days=2))
    with pytest.raises(RuleViolation, match="must move"):  # a substantive change needs 15 days
        amend(tender, {"reason": "电话更正", "contact_phone": "010-87654321"}, world["officer"])
    a = amend(
        tender,
        {"reason": "电话号码笔误更正", "contact_phone": "010-87654321", "substantive": False},
        world["officer"],
    )
    assert not a.substantive and tender.bid_deadline == deadline and not bid.needs_reconfirmation
    with pytest.raises(RuleViolation, match="classify it as substantive"):
        amend(
            tender,
            {"reason": "预算调整", "budget_ceiling": Decimal("400000.00"), "substantive": False},
            world["officer"],
        )


# --- a variation never takes the value below what was paid and is due ----------------------------------


def test_a_variation_cannot_take_the_value_below_paid_plus_due(world, db):
    contract, _org, member = contract_rows(world)  # 280,000: 84,000 / 84,000 / 112,000
    first, _second, final = contract.milestones
    milestones.submit_milestone(first, "第一阶段完成", [], member)
    milestones.accept_milestone(first, world["officer"])  # 84,000 due
    payments.record_payment(contract, payments.today(), "50000.00", "PZ-1", None, world["officer"])
    # Paid 50,000 and due-but-unpaid 34,000: the value may not go below 84,000. Lowering the two unmet
    # shares to 1 yuan each would make it 84,002 (allowed); the final share cannot drop to 0.
    too_low = {"value": Decimal("84000.00") - Decimal("0.01"), "reason": "减少"}
    with pytest.raises(RuleViolation, match="paid plus what is due: ¥84,000.00"):
        variations.request_variation(contract, too_low, member)
    ok = {
        "value": Decimal("84002.00"),
        "milestones": [
            {"id": _second.id, "amount": Decimal("1.00")},
            {"id": final.id, "amount": Decimal("1.00")},
        ],
        "reason": "服务对象大幅减少",
    }
    v = variations.request_variation(contract, ok, member)
    assert v.status == "requested"


# --- the rule numbers are settings, the rule the default ------------------------------------------------


def test_the_rule_numbers_follow_the_settings(world, db, app, monkeypatch):
    from marketplace.performance.scoring import grade
    from marketplace.tenders.committee.awards import challenge_window

    tender = _tender(world)
    clock.set_now(tender.bid_deadline - timedelta(days=12))
    with pytest.raises(RuleViolation, match="Fewer than 15 days"):
        amend(tender, {"reason": "说明", "description": "新说明"}, world["officer"])
    monkeypatch.setitem(app.config, "AMENDMENT_NOTICE_DAYS", 10)
    amend(tender, {"reason": "说明", "description": "新说明"}, world["officer"])  # 12 days are enough now

    published = datetime(2026, 9, 29, 2, 0, tzinfo=UTC)  # Tue; National Day holidays follow
    _notice_end, deadline = challenge_window(published)
    assert local_date(deadline) == date(2026, 10, 15)
    monkeypatch.setitem(app.config, "CHALLENGE_WINDOW_WORKING_DAYS", 10)
    assert local_date(challenge_window(published)[1]) == date(2026, 10, 20)

    assert grade(Decimal("89.99")) == "good"
    monkeypatch.setitem(app.config, "PERFORMANCE_GRADE_FLOORS", {"excellent": 85, "good": 75, "fair": 60})
    assert grade(Decimal("85.00")) == "excellent" and grade(Decimal("84.99")) == "good"

    contract, _org, member = contract_rows(world)
    raise_final = {
        "value": contract.value + Decimal("42000.00"),
        "milestones": [{"id": contract.milestones[-1].id, "amount": contract.milestones[-1].amount + 42000}],
        "reason": "增加服务",
    }
    with pytest.raises(RuleViolation, match="10%"):
        variations.request_variation(contract, raise_final, member)
    monkeypatch.setitem(app.config, "VARIATION_CAP_SHARE", "0.15")
    assert variations.request_variation(contract, raise_final, member).status == "requested"
