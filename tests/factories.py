"""Test data builders. They go through the service verbs, like real use."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from marketplace import clock
from marketplace.auth import opening_keys
from marketplace.auth import services as auth_services
from marketplace.core import districts
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.extensions import db
from marketplace.tenders.drafting import create_draft
from marketplace.tenders.publication import publish

PASSWORD = "correct-horse-battery"
# The passphrase of every test officer's opening key (tenders.bids.ceremony).
OPENING_PASSPHRASE = "opening passphrase for tests"


def world() -> dict:
    districts.load(districts.demo_rows())
    agency = auth_services.create_agency(name="东城区民政局", district_code="110101")
    other_agency = auth_services.create_agency(name="东城区卫健委", district_code="110101")
    users = {
        "officer": auth_services.create_user(
            email="officer@test.org", role="officer", password=PASSWORD, agency=agency
        ),
        "other_officer": auth_services.create_user(
            email="other@test.org", role="officer", password=PASSWORD, agency=other_agency
        ),
        "org_member": auth_services.create_user(
            email="member@test.org", role="org_member", password=PASSWORD
        ),
        "evaluator": auth_services.create_user(email="expert@test.org", role="evaluator", password=PASSWORD),
        "auditor": auth_services.create_user(email="auditor@test.org", role="auditor", password=PASSWORD),
        "admin": auth_services.create_user(email="admin@test.org", role="admin", password=PASSWORD),
    }
    db.session.flush()
    for officer in (users["officer"], users["other_officer"]):  # each agency's officer holds an opening key
        opening_keys.set_up(officer, OPENING_PASSPHRASE)
    return {**users, "agency": agency, "other_agency": other_agency}


def deadline_in(days: int, hour: int = 9) -> datetime:
    """A deadline ``days`` local days from the (frozen) clock, at ``hour`` local time."""
    day = local_date(clock.now()) + timedelta(days=days)
    return start_of_local_day(day) + timedelta(hours=hour)


def tender_input(**overrides) -> dict:
    data = dict(
        title="居家养老上门服务 Home care visits",
        description="为辖区独居老人提供上门服务。Home visits for older people living alone.",
        category="elderly_care",
        district_code="110101",
        service_area_codes=["110101001"],
        method="public_tender",
        evaluation_method="comprehensive_scoring",
        budget_ceiling=Decimal("480000.00"),
        funding_sources=["county_budget"],
        contract_term_months=12,
        eligibility="登记满一年 Registered for a year",
        bid_deadline=deadline_in(30),
        price_weight=30,
        criteria=[
            {"name": "服务方案 Plan", "weight": 40},
            {"name": "团队 Team", "weight": 20},
            {"name": "经验", "weight": 10},
        ],
        contact_name="王老师",
        contact_phone="010-12345678",
        contact_email="buyer@test.org",
    )
    data.update(overrides)
    return data


def draft(officer, **overrides):
    return create_draft(tender_input(**overrides), officer)


def published(officer, **overrides):
    t = draft(officer, **overrides)
    publish(t, officer, confirm_not_excluded=True)
    db.session.flush()
    return t
