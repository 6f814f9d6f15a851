"""Demo residents' needs (issue 21): two grid workers, grids in the communities of the demo streets, and
needs in every state — waiting for screening, open (one with a merged duplicate), screened out,
declined, dispatched into a tender draft, routed to an active contract, and met by its delivery."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from marketplace import clock
from marketplace.auth.models import Agency, User
from marketplace.contracts.delivery import records
from marketplace.contracts.models import ACTIVE, Contract
from marketplace.core.districts import COMMUNITY, District
from marketplace.extensions import db
from marketplace.needs import services
from marketplace.needs.models import Grid

WORKERS = {"grid1@example.org": 0, "grid2@example.org": 1}  # which half of the grids each works in


def _grids(users: dict[str, User]) -> list[Grid]:
    communities = list(
        db.session.scalars(
            select(District).where(District.level == COMMUNITY).order_by(District.code).limit(8)
        )
    )
    rows = ["code,name,community_code,households,population,workers"]
    for i, community in enumerate(communities):
        worker = [email for email, half in WORKERS.items() if half == i % 2][0]
        rows.append(
            f"{community.code}-01,{community.name}第一网格,{community.code},{180 + 7 * i},{450 + 13 * i},{worker}"
        )
    services.load_grids("\n".join(rows) + "\n", users["admin@example.org"])
    return list(db.session.scalars(select(Grid).order_by(Grid.code)))


def _need(grid: Grid, category: str, description: str, people: int, urgency: str = "normal") -> dict:
    return {
        "grid_id": grid.id,
        "category": category,
        "description": description,
        "households": max(people - 3, 0),
        "people": people,
        "urgency": urgency,
    }


def _worker(grid: Grid) -> User:
    return grid.workers[0]


def _contract_covering(agency: Agency, category: str) -> Contract | None:
    for contract in db.session.scalars(
        select(Contract)
        .where(Contract.agency_id == agency.id, Contract.status == ACTIVE)
        .order_by(Contract.id)
    ):
        if contract.tender.category == category and contract.tender.service_areas:
            return contract
    return None


def _deliver(contract: Contract, need, when: datetime) -> None:
    """The contracted organization logs a home visit in the need's community."""
    clock.set_now(when)
    member = db.session.scalar(
        select(User).where(User.organization_id == contract.organization_id).order_by(User.id)
    )
    targets = contract.targets
    records.log_service_record(
        contract,
        {
            "service_date": when.date(),
            "activity_type": "home_visit",
            "target_id": targets[1].id if len(targets) > 1 else None,
            "quantity": Decimal("3"),
            "beneficiaries": 8,
            "hours": Decimal("4"),
            "community_code": need.grid.community_code,
            "notes": "照护技能培训（回应居民需求） Care skills training, answering residents' need",
        },
        [],
        member,
    )


def load_needs(users: dict[str, User], agency: Agency, real_now: datetime) -> int:
    """Every state of a need; returns how many needs were made (merged duplicates included)."""
    officer = users["officer@example.org"]
    grids = _grids(users)
    made = 0

    def record(grid, *args, **kwargs):
        nonlocal made
        made += 1
        return services.record_need(_need(grid, *args, **kwargs), _worker(grid))

    clock.set_now(real_now - timedelta(days=40))
    # Open, with a duplicate merged into it, and more open needs of different urgency.
    record(grids[0], "elderly_care", "独居老人希望每周有人上门探访、帮忙买菜", 18, "high")
    record(grids[0], "elderly_care", "社区助餐点太远，行动不便的老人吃饭难", 9)
    record(grids[1], "childcare", "双职工家庭放学后无人看护的小学生", 25)
    record(grids[2], "disability", "残疾人康复训练需要有人陪同", 7, "urgent")
    record(grids[3], "employment", "失业青年希望有技能培训和就业指导", 30, "low")
    # Declined with a reason.
    declined = record(grids[4], "public_culture", "希望增加广场舞场地的照明", 40)
    services.decline([declined], {"reason": "已纳入街道公共设施维修计划，不通过购买服务解决。"}, officer)
    # Dispatched into a tender draft.
    clock.set_now(real_now - timedelta(days=30))
    a = record(grids[5], "social_work", "困境家庭需要社工上门评估和个案跟进", 12, "high")
    b = record(grids[6], "social_work", "刑满释放人员回归社区需要社工帮扶", 6)
    services.dispatch_to_tender(
        [a, b],
        {
            "title": "社区社会工作服务（居民需求派单）",
            "budget_ceiling": Decimal("260000.00"),
            "contract_term_months": 12,
        },
        officer,
    )
    # Routed to an active contract; and one of those met by its delivery in the grid.
    contract = _contract_covering(agency, "elderly_care")
    if contract is not None:
        street_codes = {d.code for d in contract.tender.service_areas}
        covered = [g for g in grids if g.community.parent_code in street_codes]
        if covered:
            clock.set_now(real_now - timedelta(days=20))
            routed = record(covered[-1], contract.tender.category, "高龄老人需要定期上门助浴", 5, "high")
            services.route_to_contract([routed], contract, officer)
            if len(covered) > 1:
                met = record(covered[0], contract.tender.category, "失能老人家属需要照护技能培训", 8)
                services.route_to_contract([met], contract, officer)
                _deliver(contract, met, real_now - timedelta(days=10))
                services.close_the_loop(clock.now())
    # From the residents' form: one waiting for screening, one screened out.
    clock.set_now(real_now - timedelta(days=2))
    services.submit_from_resident(_need(grids[7], "minors_youth", "小区里缺少青少年课后活动的场所", 20))
    screened = services.submit_from_resident(
        _need(grids[7], "legal_services", "希望有律师定期来社区答疑", 15)
    )
    services.reject_need(
        screened, {"reason": "已有每月一次的社区法律咨询日，已告知居民时间地点。"}, _worker(grids[7])
    )
    made += 2
    return made
