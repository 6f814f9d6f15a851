"""Demo invited tender (邀请招标): a draft prepared with a recorded random draw and a written
recommendation, published ten days ago (which sent the invitations), with two invited bids."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from marketplace import clock
from marketplace.auth.models import User
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.demo import bids
from marketplace.demo.accounts import COUNTY
from marketplace.orgs.models import Organization
from marketplace.tenders import drafting, invitations, publication

PUBLISHED_AGO = timedelta(days=10)


def _input(officer: User) -> dict:
    start = local_date(clock.now())
    day = WorkingCalendar.load().next_working_day(
        publication.earliest_deadline_date("invited_tender", start) + timedelta(days=7)
    )
    return {
        "title": "东城区失能老人家庭照护者培训项目（邀请招标）",
        "description": "为失能老人家庭照护者提供照护技能培训和喘息服务，全年不少于40场。Training and respite "
        "care for family carers of disabled older people: at least 40 sessions a year.",
        "category": "elderly_care",
        "district_code": COUNTY,
        "service_area_codes": [],
        "method": "invited_tender",
        "evaluation_method": "comprehensive_scoring",
        "budget_ceiling": Decimal("300000"),
        "funding_sources": ["county_budget"],
        "contract_term_months": 12,
        "eligibility": "具备养老护理培训经验的社会组织。Social organizations experienced in care training.",
        "bid_deadline": start_of_local_day(day) + timedelta(hours=9, minutes=30),
        "price_weight": 20,
        "criteria": [
            {"name": "培训方案 Training plan", "weight": 50, "description": "课程、师资、频次"},
            {"name": "团队与资质 Team and credentials", "weight": 30, "description": "持证护理培训师"},
        ],
        "reserved_for_small": False,
        "contact_name": "王老师",
        "contact_phone": "010-6401 2345",
        "contact_email": "procurement@dongcheng.example.org",
    }


def load_invited_tender(officer: User, bidders: list[Organization], real_now: datetime) -> int:
    """The invited tender: two organizations drawn, one recommended in writing, then published with
    bids from two invitees. Returns the number of bids."""
    published_at = real_now - PUBLISHED_AGO
    clock.set_now(published_at - timedelta(hours=2))
    tender = drafting.create_draft(_input(officer), officer)
    invitations.draw_invitations(tender, {"count": 2}, officer)
    left = invitations.uninvited_pool(tender)
    if left:
        invitations.recommend(
            tender,
            {
                "organization_id": left[0].id,
                "recommended_by": "采购人代表 王老师 Buyer's representative Wang",
                "reason": "近三年承接区级照护者培训项目两项，考核优秀。Ran two district carer-training "
                "projects in the last three years, both rated excellent.",
            },
            officer,
        )
    clock.set_now(published_at)
    publication.publish(tender, officer, confirm_not_excluded=True)
    return bids.place_bids(tender, bidders, published_at, limit=2)
