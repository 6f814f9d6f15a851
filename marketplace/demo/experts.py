"""The demo expert pool: the five demo evaluators and seven more, across the common categories. One works
for the civil affairs bureau (the buyer of most demo tenders), one for an organization that bid on the
first closed tender (whose committee is drawn), one is away for a month: the draw leaves them out, and
its record says why."""

from __future__ import annotations

from datetime import datetime, timedelta

from marketplace.auth import services as auth_services
from marketplace.auth.models import Agency, User
from marketplace.core.timeutil import local_date
from marketplace.demo.accounts import COUNTY, PASSWORD
from marketplace.extensions import db
from marketplace.orgs.models import Organization
from marketplace.tenders.bids.visibility import bidding_organization_ids
from marketplace.tenders.committee import experts
from marketplace.tenders.models import Tender

# (e-mail, name, categories, employer, employed by: "" | "buyer" | "bidder" | "health", away)
POOL = [
    ("expert1@example.org", None, ["elderly_care", "social_work"], "首都师范大学社会工作系", "", False),
    ("expert2@example.org", None, ["elderly_care", "disability"], "北京康复医院", "", False),
    ("expert3@example.org", None, ["elderly_care", "public_health"], "东城区社区卫生服务中心", "", False),
    (
        "expert4@example.org",
        None,
        ["elderly_care", "childcare", "minors_youth"],
        "北京青年政治学院",
        "",
        False,
    ),
    ("expert5@example.org", None, ["elderly_care", "community_governance"], "退休 Retired", "", False),
    ("expert6@example.org", "评审专家 6 Evaluator 6", ["elderly_care"], "东城区民政局", "buyer", False),
    ("expert7@example.org", "评审专家 7 Evaluator 7", ["elderly_care", "social_work"], "", "bidder", False),
    ("expert8@example.org", "评审专家 8 Evaluator 8", ["elderly_care"], "北京社会管理职业学院", "", True),
    (
        "expert9@example.org",
        "评审专家 9 Evaluator 9",
        ["elderly_care", "disability"],
        "中华女子学院",
        "",
        False,
    ),
    (
        "expert10@example.org",
        "评审专家 10 Evaluator 10",
        ["elderly_care", "childcare"],
        "律师事务所",
        "",
        False,
    ),
    (
        "expert11@example.org",
        "评审专家 11 Evaluator 11",
        ["disability", "public_health"],
        "东城区卫健委",
        "health",
        False,
    ),
    (
        "expert12@example.org",
        "评审专家 12 Evaluator 12",
        ["childcare", "education"],
        "北京教育学院",
        "",
        False,
    ),
]


def load_expert_pool(
    users: dict[str, User], agencies: list[Agency], drawn_tender: Tender, real_now: datetime
) -> int:
    """Add the pool entries (and the evaluator accounts the demo logins do not have); one expert works
    for a bidder on ``drawn_tender``."""
    admin = users["admin@example.org"]
    civil, health = agencies
    bidder = db.session.get(Organization, min(bidding_organization_ids(drawn_tender)))
    away_until = local_date(real_now) + timedelta(days=30)
    for email, name, categories, employer, employed_by, away in POOL:
        user = users.get(email) or auth_services.create_user(
            email=email, role="evaluator", password=PASSWORD, name=name
        )
        experts.add_expert(
            {
                "user_id": user.id,
                "categories": categories,
                "district_codes": [COUNTY],
                "employer": bidder.name if employed_by == "bidder" else employer,
                "employer_organization_id": bidder.id if employed_by == "bidder" else None,
                "employer_agency_id": {"buyer": civil.id, "health": health.id}.get(employed_by),
                "availability": "unavailable" if away else "available",
                "unavailable_until": away_until if away else None,
            },
            admin,
        )
    return len(POOL)
