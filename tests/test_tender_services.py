"""The tender verbs: every rule of DOMAIN.md they enforce, and the audit events they write."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.core.errors import RuleViolation
from marketplace.core.timeutil import start_of_local_day
from marketplace.tenders.amendments import amend, amendment_min_deadline_date
from marketplace.tenders.cancellation import cancel
from marketplace.tenders.clarifications import answer_clarification, ask_clarification
from marketplace.tenders.drafting import update_draft
from marketplace.tenders.models import Tender
from marketplace.tenders.publication import earliest_deadline_date, publication_problems, publish
from marketplace.tenders.search import TenderFilters, public_tenders_query
from tests import factories
from tests.factories import deadline_in


def _events(db, action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_create_draft_writes_audit_event(world, db):
    t = factories.draft(world["officer"])
    assert t.status == "draft" and t.reference is None
    assert [c.weight for c in t.criteria] == [30, 40, 20, 10]
    assert t.criteria[0].is_price
    (ev,) = _events(db, "tender.create")
    assert ev.actor_id == world["officer"].id and ev.object_id == str(t.id)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"price_weight": 30, "criteria": [{"name": "Plan", "weight": 50}]}, "criteria"),  # sums to 80
        ({"price_weight": 5, "criteria": [{"name": "Plan", "weight": 95}]}, "price_weight"),  # price < 10
        (
            {
                "method": "competitive_consultation",
                "price_weight": 40,
                "criteria": [{"name": "P", "weight": 60}],
            },
            "price_weight",
        ),  # consultation: 10-30
        ({"budget_ceiling": Decimal("-5")}, "budget_ceiling"),
        ({"budget_ceiling": Decimal("0")}, "budget_ceiling"),
        ({"budget_ceiling": Decimal("1e12")}, "budget_ceiling"),
        ({"budget_ceiling": Decimal("100.001")}, "budget_ceiling"),
        ({"budget_ceiling": Decimal("NaN")}, "budget_ceiling"),
        ({"title": "x" * 201}, "title"),
        ({"title": "   "}, "title"),
        ({"description": "y" * 20001}, "description"),
        ({"category": "weapons"}, "category"),
        ({"method": "auction"}, "method"),
        ({"district_code": "999999"}, "district_code"),
        ({"district_code": "110101001"}, "district_code"),  # a street is not a district
        ({"service_area_codes": ["110102001"]}, "service_area_codes"),
        ({"funding_sources": []}, "funding_sources"),
        ({"funding_sources": ["lottery"]}, "funding_sources"),
        ({"contract_term_months": 0}, "contract_term_months"),
        ({"contract_term_months": 37}, "contract_term_months"),
        ({"bid_deadline": clock.now() - timedelta(days=1)}, "bid_deadline"),
        ({"evaluation_method": "lowest_price"}, "price_weight"),  # lowest price: price is 100, no criteria
    ],
)
def test_bad_tender_input_is_refused_and_nothing_saved(world, db, overrides, field):
    if "bid_deadline" in overrides:
        overrides["bid_deadline"] = clock.now() - timedelta(days=1)
    before = db.session.scalar(select(func.count()).select_from(Tender))
    with pytest.raises(RuleViolation) as exc:
        factories.draft(world["officer"], **overrides)
    assert exc.value.field == field
    assert exc.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Tender)) == before


def test_lowest_price_method_takes_price_only(world, db):
    t = factories.draft(world["officer"], evaluation_method="lowest_price", price_weight=100, criteria=[])
    assert [(c.weight, c.is_price) for c in t.criteria] == [(100, True)]


def test_publish_requires_o102_confirmation(world, db):
    t = factories.draft(world["officer"])
    with pytest.raises(RuleViolation) as exc:
        publish(t, world["officer"], confirm_not_excluded=False)
    assert exc.value.field == "confirm_not_excluded"
    assert t.status == "draft"


def test_publish_enforces_minimum_calendar_days(world, db):
    # Public tender: at least 20 days (GPL 35). Frozen "now" is Tue 10 Mar 2026; day 20 is Mon 30 Mar.
    t = factories.draft(world["officer"], bid_deadline=deadline_in(19))
    problems = publication_problems(t)
    assert problems and "2026" in problems[0]
    with pytest.raises(RuleViolation):
        publish(t, world["officer"], confirm_not_excluded=True)
    t2 = factories.draft(world["officer"], bid_deadline=deadline_in(20))
    publish(t2, world["officer"], confirm_not_excluded=True)
    assert t2.status == "open" and t2.published_at == clock.now()
    assert len(_events(db, "tender.publish")) == 1


def test_publish_counts_working_days_for_negotiation(world, db):
    # Competitive negotiation: 3 working days. From Tue 10 Mar: Wed, Thu, Fri 13 Mar.
    kw = {"method": "competitive_negotiation", "price_weight": 30}
    assert publication_problems(factories.draft(world["officer"], bid_deadline=deadline_in(2), **kw))
    assert not publication_problems(factories.draft(world["officer"], bid_deadline=deadline_in(3), **kw))


def test_working_days_skip_holidays(world, db):
    # Published Wed 30 Sep 2026: 3 WD = Thu 8, Fri 9, Sat 10 Oct (a make-up working day).
    clock.set_now(clock.now().replace(month=9, day=30))
    kw = {
        "method": "request_for_quotation",
        "evaluation_method": "lowest_price",
        "price_weight": 100,
        "criteria": [],
    }
    assert earliest_deadline_date("request_for_quotation", clock.now().date()).isoformat() == "2026-10-10"
    too_early = factories.draft(world["officer"], bid_deadline=deadline_in(9), **kw)  # Fri 9 Oct
    assert publication_problems(too_early)


def test_deadline_on_holiday_refused(world, db):
    clock.set_now(clock.now().replace(month=9, day=1))
    t = factories.draft(world["officer"], bid_deadline=deadline_in(30))  # Thu 1 Oct, National Day
    assert any("working day" in p for p in publication_problems(t))


def test_procedure_overrides_come_from_config(app, world, db):
    app.config["PROCEDURE_OVERRIDES"] = {"public_tender": {"min_days": 25}}
    try:
        t = factories.draft(world["officer"], bid_deadline=deadline_in(21))  # Tue 31 Mar
        assert publication_problems(t)
    finally:
        app.config["PROCEDURE_OVERRIDES"] = {}
    assert not publication_problems(t)


def test_update_draft_replaces_criteria(world, db):
    t = factories.draft(world["officer"])
    update_draft(
        t,
        factories.tender_input(price_weight=20, criteria=[{"name": "Plan", "weight": 80}]),
        world["officer"],
    )
    db.session.flush()
    assert [(c.name, c.weight) for c in t.criteria] == [("价格 Price", 20), ("Plan", 80)]
    (ev,) = _events(db, "tender.update")
    assert "criteria" in ev.changes


def test_published_tender_cannot_be_edited_as_draft(world, db):
    t = factories.published(world["officer"])
    with pytest.raises(RuleViolation):
        update_draft(t, factories.tender_input(title="New"), world["officer"])


def test_amend_records_reason_and_changes(world, db):
    t = factories.published(world["officer"], bid_deadline=deadline_in(30))
    a = amend(
        t,
        {"reason": "预算调整 Budget revised", "budget_ceiling": Decimal("500000")},
        world["officer"],
    )
    assert a.number == 1 and t.budget_ceiling == Decimal("500000")
    assert a.changes["budget_ceiling"] == ["480000.00", "500000"]
    assert a.previous_deadline == a.new_deadline == t.bid_deadline
    assert len(_events(db, "tender.amend")) == 1


def test_amend_with_under_15_days_left_must_move_deadline(world, db):
    t = factories.published(world["officer"], bid_deadline=deadline_in(20))
    clock.advance(timedelta(days=10))  # 10 days left
    with pytest.raises(RuleViolation) as exc:
        amend(t, {"reason": "Scope clarified", "description": "New text"}, world["officer"])
    assert exc.value.field == "bid_deadline"
    # Now Fri 20 Mar; 15 days on is Sat 4 Apr, in the Qingming break (4-6 Apr): Tue 7 Apr is the earliest.
    earliest = amendment_min_deadline_date()
    assert earliest.isoformat() == "2026-04-07"
    with pytest.raises(RuleViolation):
        amend(
            t,
            {
                "reason": "Scope clarified",
                "description": "New text",
                "bid_deadline": start_of_local_day(earliest) - timedelta(hours=15),
            },
            world["officer"],
        )
    a = amend(
        t,
        {
            "reason": "Scope clarified",
            "description": "New text",
            "bid_deadline": start_of_local_day(earliest) + timedelta(hours=9),
        },
        world["officer"],
    )
    assert a.new_deadline > a.previous_deadline and t.description == "New text"


def test_amend_cannot_shorten_deadline_or_change_nothing(world, db):
    t = factories.published(world["officer"], bid_deadline=deadline_in(30))
    with pytest.raises(RuleViolation):
        amend(t, {"reason": "r", "bid_deadline": deadline_in(25)}, world["officer"])
    with pytest.raises(RuleViolation):
        amend(t, {"reason": "r"}, world["officer"])
    with pytest.raises(RuleViolation):
        amend(t, {"reason": "  ", "description": "changed"}, world["officer"])


def test_cancel_needs_reason_and_is_final(world, db):
    t = factories.published(world["officer"])
    with pytest.raises(RuleViolation):
        cancel(t, "", world["officer"])
    cancel(t, "预算取消 Budget withdrawn", world["officer"])
    assert t.status == "cancelled" and t.cancel_reason
    with pytest.raises(RuleViolation):
        cancel(t, "again", world["officer"])
    with pytest.raises(RuleViolation):
        amend(t, {"reason": "r", "description": "d"}, world["officer"])


def test_after_deadline_no_amend_or_cancel(world, db):
    t = factories.published(world["officer"], bid_deadline=deadline_in(20))
    clock.advance(timedelta(days=21))
    assert t.display_status == "closed" and not t.accepting_bids
    with pytest.raises(RuleViolation):
        amend(t, {"reason": "r", "description": "d"}, world["officer"])
    with pytest.raises(RuleViolation):
        cancel(t, "late", world["officer"])


def test_clarification_flow(world, db):
    t = factories.published(world["officer"])
    c = ask_clarification(t, "Do phone calls count?", world["org_member"])
    answer_clarification(c, "No.", world["officer"])
    assert c.answer == "No." and c.answered_by_id == world["officer"].id
    with pytest.raises(RuleViolation):
        answer_clarification(c, "Again", world["officer"])
    with pytest.raises(RuleViolation):
        ask_clarification(t, "x" * 2001, world["org_member"])


def test_search_filters(world, db):
    o = world["officer"]
    a = factories.published(o, title="助餐服务 Meal service", budget_ceiling=Decimal("100000"))
    b = factories.published(
        o,
        title="托育 Childcare",
        category="childcare",
        budget_ceiling=Decimal("900000"),
        service_area_codes=["110101003"],
        bid_deadline=deadline_in(42),
    )
    c = factories.published(o, title="100%_literal", budget_ceiling=Decimal("200000"))
    factories.draft(o, title="助餐 draft never public")
    cancel(c, "withdrawn", o)

    def ids(**kw):
        return [t.id for t in db.session.scalars(public_tenders_query(TenderFilters(**kw)))]

    assert ids(q="助餐") == [a.id]
    assert ids(q="meal SERVICE") == [a.id]
    assert ids(q="100%_") == [c.id]
    assert ids(q="%") == [c.id]  # a wildcard character is searched literally
    assert ids(category="childcare") == [b.id]
    assert ids(district="110101003") == [b.id]
    assert set(ids(budget_min=Decimal("150000"))) == {b.id, c.id}
    assert ids(budget_max=Decimal("150000")) == [a.id]
    assert ids(status="cancelled") == [c.id]
    assert set(ids(status="open")) == {a.id, b.id}
    assert ids(sort="-budget")[0] == b.id
    d40 = (clock.now() + timedelta(days=42)).date()
    assert ids(deadline_from=d40) == [b.id]
    assert b.id not in ids(deadline_to=d40 - timedelta(days=1))
    clock.advance(timedelta(days=35))
    assert ids(status="closed") == [a.id]
