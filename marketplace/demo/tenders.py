# ruff: noqa: E501 - the tender descriptions are data, one line each
"""Demo tenders: thirty tenders of the Dongcheng agencies, taken to their demo states, and the invited
tender of ``demo.invitations``.

Four stay drafts, two are cancelled, seven were published about eight weeks ago and are past their
deadline (with three bids each), the rest are open (some with bids, some with an answered
clarification). The clock is moved to each tender's publication day, so the history reads true.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from marketplace import clock
from marketplace.auth.models import User
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.demo import bids, invitations
from marketplace.demo.accounts import COUNTY
from marketplace.orgs.models import Organization
from marketplace.tenders import cancellation, clarifications, drafting, publication
from marketplace.tenders.models import Tender

# (category, title, description, budget, method, contract months, streets)
TENDERS = [
    (
        "elderly_care",
        "东华门街道居家养老上门服务项目",
        "为辖区80岁以上独居、空巢老人提供助餐、助洁、助浴、助医等居家上门服务，全年不少于1200人次。Home-care visits for older residents living alone: meals, cleaning, bathing, escort to clinics.",
        "480000",
        "public_tender",
        12,
        ["110101001"],
    ),
    (
        "elderly_care",
        "景山街道养老服务驿站运营服务",
        "委托专业社会组织运营街道养老服务驿站，提供日间照料、文化娱乐、健康讲座等服务。Operating the street's elderly-care station: day care, activities, health talks.",
        "650000",
        "public_tender",
        12,
        ["110101002"],
    ),
    (
        "childcare",
        "交道口街道普惠托育服务试点项目",
        "为辖区3岁以下婴幼儿家庭提供临时托育、育儿指导和亲子活动。Affordable childcare pilot: drop-in care, parenting guidance and parent-child activities.",
        "360000",
        "competitive_consultation",
        12,
        ["110101003"],
    ),
    (
        "disability",
        "安定门街道残疾人康复与就业辅导服务",
        "为持证残疾人提供社区康复训练、辅具适配咨询和就业技能辅导。Community rehabilitation and job coaching for registered persons with disabilities.",
        "280000",
        "competitive_consultation",
        12,
        ["110101004"],
    ),
    (
        "community_correction",
        "东城区社区矫正对象教育帮扶服务",
        "协助司法所开展社区矫正对象心理辅导、教育学习和社会适应性帮扶。Counselling and reintegration support for people under community correction.",
        "420000",
        "public_tender",
        12,
        [],
    ),
    (
        "social_assistance",
        "北新桥街道困难群众社会救助服务",
        "对低保、特困家庭开展入户走访、需求评估和链接救助资源。Home visits, needs assessment and referrals for low-income households.",
        "220000",
        "competitive_negotiation",
        10,
        ["110101005"],
    ),
    (
        "minors_youth",
        "东四街道困境儿童关爱保护项目",
        "为困境儿童建立个案档案，提供课业辅导、心理支持与监护指导。Case management, tutoring and guardianship support for children in difficulty.",
        "300000",
        "competitive_consultation",
        12,
        ["110101006"],
    ),
    (
        "employment",
        "朝阳门街道就业困难人员就业援助服务",
        "为就业困难人员提供职业指导、岗位推荐与技能培训对接。Career guidance and job matching for people facing barriers to work.",
        "180000",
        "request_for_quotation",
        6,
        ["110101007"],
    ),
    (
        "public_health",
        "建国门街道慢性病患者健康管理服务",
        "协助社区卫生服务中心开展高血压、糖尿病患者随访与健康教育。Follow-up visits and health education for residents with chronic illness.",
        "260000",
        "competitive_consultation",
        12,
        ["110101008"],
    ),
    (
        "education",
        "和平里街道社区青少年课后服务项目",
        "在社区活动室为中小学生提供课后托管与兴趣课程。After-school care and interest classes in community rooms.",
        "240000",
        "competitive_consultation",
        10,
        ["110101010"],
    ),
    (
        "public_culture",
        "前门街道社区文化活动组织服务",
        "策划实施全年社区文化节、非遗体验和读书活动不少于40场。A year of community cultural events: festivals, intangible-heritage workshops, reading clubs.",
        "200000",
        "request_for_quotation",
        12,
        ["110101011"],
    ),
    (
        "sports",
        "东城区全民健身指导服务项目",
        "在各街道健身点提供科学健身指导和体质监测。Fitness instruction and physical testing at neighbourhood exercise points.",
        "350000",
        "public_tender",
        12,
        [],
    ),
    (
        "legal_services",
        "东城区村居法律顾问服务",
        "为辖区社区配备法律顾问，提供法律咨询、法治讲座和矛盾纠纷法律意见。Legal advisers for communities: consultations, talks, opinions on disputes.",
        "500000",
        "public_tender",
        12,
        [],
    ),
    (
        "mediation",
        "崇文门外街道人民调解专业化服务",
        "派驻专职调解员开展邻里纠纷、物业纠纷调解。Professional mediators for neighbour and property-management disputes.",
        "160000",
        "competitive_negotiation",
        12,
        ["110101012"],
    ),
    (
        "emergency",
        "东花市街道社区应急救护培训服务",
        "面向居民开展心肺复苏、AED使用等应急救护培训不少于30期。First-aid training (CPR, AED) for residents, at least 30 sessions.",
        "120000",
        "request_for_quotation",
        6,
        ["110101013"],
    ),
    (
        "social_work",
        "龙潭街道社会工作服务站运营项目",
        "运营街道社会工作服务站，配备持证社工开展个案、小组和社区工作。Running the street's social-work station with certified social workers.",
        "720000",
        "public_tender",
        12,
        ["110101014"],
    ),
    (
        "volunteer_services",
        "体育馆路街道志愿服务体系建设项目",
        "招募培训社区志愿者，建立志愿服务积分和激励机制。Recruiting and training volunteers; a volunteer-hours incentive scheme.",
        "150000",
        "competitive_consultation",
        12,
        ["110101015"],
    ),
    (
        "community_governance",
        "天坛街道社区协商议事能力提升项目",
        "指导社区开展居民议事会，培育社区自组织。Coaching resident councils and growing self-organized community groups.",
        "190000",
        "competitive_consultation",
        12,
        ["110101016"],
    ),
    (
        "veterans",
        "永定门外街道退役军人关爱服务项目",
        "为退役军人及其家庭提供走访慰问、心理疏导和就业创业指导。Visits, counselling and employment support for veterans and their families.",
        "210000",
        "competitive_consultation",
        12,
        ["110101017"],
    ),
    (
        "auxiliary_gov",
        "东城区养老服务机构等级评定辅助服务",
        "协助开展养老机构等级评定的资料审核与现场核查。Document review and site checks for care-home quality ratings.",
        "330000",
        "competitive_consultation",
        6,
        [],
    ),
    (
        "elderly_care",
        "东直门街道老年餐桌运营服务",
        "运营社区老年餐桌，为老年人提供营养午餐和送餐服务。Running community canteens for older residents, with meal delivery.",
        "560000",
        "public_tender",
        12,
        ["110101009"],
    ),
    (
        "disability",
        "东城区孤独症儿童家庭支持服务",
        "为孤独症儿童家庭提供喘息服务、家长培训和融合活动。Respite care, parent training and inclusion activities for autistic children's families.",
        "380000",
        "public_tender",
        12,
        [],
    ),
    (
        "public_health",
        "东城区老年人心理健康关爱行动",
        "开展老年人心理健康筛查、团体辅导和危机干预转介。Mental-health screening, group sessions and crisis referrals for older people.",
        "270000",
        "competitive_consultation",
        12,
        [],
    ),
    (
        "childcare",
        "建国门街道0-3岁科学育儿指导服务",
        "为婴幼儿家庭提供入户育儿指导和家长课堂。Home visits and parent classes on early childhood development.",
        "140000",
        "request_for_quotation",
        8,
        ["110101008"],
    ),
    (
        "social_assistance",
        "东城区临时救助对象个案管理服务",
        "对临时救助对象开展个案管理和跟踪回访。Case management and follow-up for recipients of temporary assistance.",
        "230000",
        "competitive_consultation",
        12,
        [],
    ),
    (
        "employment",
        "东城区高校毕业生社区就业见习服务",
        "组织社区就业见习岗位开发与见习人员管理。Developing community internships for graduates and supervising interns.",
        "170000",
        "competitive_consultation",
        6,
        [],
    ),
    (
        "education",
        "东四街道家庭教育指导服务",
        "开展家庭教育讲座、亲子沙龙和个别咨询。Parenting-education talks, parent-child salons and one-to-one advice.",
        "110000",
        "single_source",
        6,
        ["110101006"],
    ),
    (
        "social_work",
        "和平里街道社区社工督导服务",
        "为社区工作者提供专业督导和能力培训。Professional supervision and training for community workers.",
        "260000",
        "competitive_consultation",
        12,
        ["110101010"],
    ),
    (
        "elderly_care",
        "东城区失能老人家庭照护培训服务",
        "为失能老人家庭照护者提供护理技能培训和上门指导。Care-skills training and home coaching for families of disabled older people.",
        "310000",
        "public_tender",
        12,
        [],
    ),
    (
        "public_culture",
        "东城区社区书屋运营服务",
        "运营社区书屋，开展阅读推广活动。Running community reading rooms and reading-promotion events.",
        "130000",
        "request_for_quotation",
        12,
        [],
    ),
]

# Which of TENDERS end in which state (index → state); the rest are open.
DRAFTS = {26, 27, 28, 29}
CANCELLED = {24, 25}
CLOSED = {0, 1, 3, 20, 21, 22, 23}  # 1 and 3: the award waiting for a contract, the evaluation (issue 20)
OPEN_WITH_BIDS = 3  # every third open tender has bids already
OPEN_WITH_CLARIFICATION = 4  # and every fourth (from the second) an answered clarification


@dataclass
class TenderStage:
    """What the tender stage made: how many tenders per state, the closed ones and the bids."""

    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("draft", "open", "closed", "cancelled"), 0)
    )
    closed: list[Tender] = field(default_factory=list)
    bids: int = 0


def _criteria(method: str) -> tuple[int, list[dict]]:
    price = 30 if method == "competitive_consultation" else 20
    rest = 100 - price
    return price, [
        {
            "name": "服务方案 Service plan",
            "weight": rest // 2,
            "description": "需求理解、服务内容、工作计划 Understanding, content, work plan",
        },
        {
            "name": "团队与资质 Team and credentials",
            "weight": rest // 4,
            "description": "专职社工、持证人员 Staff and certified workers",
        },
        {
            "name": "项目经验 Track record",
            "weight": rest - rest // 2 - rest // 4,
            "description": "近三年同类项目 Similar projects, last 3 years",
        },
    ]


def _deadline(method: str, start, extra_days: int) -> datetime:
    cal = WorkingCalendar.load()
    earliest = publication.earliest_deadline_date(method, start)
    day = cal.next_working_day(earliest + timedelta(days=extra_days))
    return start_of_local_day(day) + timedelta(hours=9, minutes=30)


def _published_ago(i: int) -> timedelta:
    """Closed tenders were published ~8 weeks ago (deadline ~5 weeks ago); the others recently."""
    if i in CLOSED:
        return timedelta(days=(75 - i) if i else 57)
    return timedelta(days=i % 12)


def _officer(users: dict[str, User], category: str) -> User:
    """Health tenders are the health commission's; the rest the civil affairs bureau's."""
    return users["officer2@example.org"] if category == "public_health" else users["officer@example.org"]


def _tender_input(i: int, row: tuple, officer: User, civil) -> dict:
    """The i-th demo tender's data, with its deadline counted from today (the clock's)."""
    category, title, description, budget, method, months, areas = row
    evaluation = "comprehensive_scoring"
    price, criteria = _criteria(method)
    if method == "request_for_quotation":
        evaluation, price, criteria = "lowest_price", 100, []
    start = local_date(clock.now())
    return {
        "title": title,
        "description": description,
        "category": category,
        "district_code": COUNTY,
        "service_area_codes": areas,
        "method": method,
        "evaluation_method": evaluation,
        "budget_ceiling": Decimal(budget),
        "funding_sources": ["county_budget"] if i % 3 else ["county_budget", "higher_transfer"],
        "contract_term_months": months,
        "eligibility": "在民政部门登记的社会组织，登记满一年，年检合格。Registered with civil affairs for at least a "
        "year, passed the latest annual inspection.",
        "bid_deadline": _deadline(method, start, 0 if i in CLOSED else (i % 9) * 2 + 3),
        "price_weight": price,
        "criteria": criteria,
        "reserved_for_small": (i % 5 == 0),
        "contact_name": "王老师" if officer.agency_id == civil.id else "李老师",
        "contact_phone": "010-6401 2345",
        "contact_email": "procurement@dongcheng.example.org",
    }


def _clarify(tender: Tender, officer: User, member: User, published_at: datetime) -> None:
    clock.set_now(published_at + timedelta(hours=3))
    question = clarifications.ask_clarification(
        tender, "服务人次是否包括电话回访？Do phone follow-ups count as service visits?", member
    )
    clarifications.answer_clarification(
        question, "电话回访不计入上门服务人次。No: only in-person visits count.", officer
    )


def _after_publication(
    stage: TenderStage, i: int, tender: Tender, bidders: list[Organization], member: User
) -> None:
    """Take a tender published now (the clock's) to its demo state: cancelled, closed, or open."""
    officer = tender.created_by
    published_at = clock.now()
    if i in CANCELLED:
        cancellation.cancel(
            tender, "预算调整，项目暂缓实施。Budget reallocated; the project is postponed.", officer
        )
        stage.counts["cancelled"] += 1
    elif i in CLOSED:
        stage.counts["closed"] += 1
        stage.closed.append(tender)
        stage.bids += bids.place_bids(tender, bidders, published_at, limit=3)
    else:
        stage.counts["open"] += 1
        if i % OPEN_WITH_BIDS == 0:
            stage.bids += bids.place_bids(tender, bidders, published_at, limit=2)
        if i % OPEN_WITH_CLARIFICATION == 1:
            _clarify(tender, officer, member, published_at)


def load_tenders(
    users: dict[str, User], civil, bidders: list[Organization], real_now: datetime
) -> TenderStage:
    """Draft all thirty tenders, each on its publication day, and take them to their demo states."""
    stage = TenderStage()
    for i, row in enumerate(TENDERS):
        officer = _officer(users, row[0])
        clock.set_now(real_now - _published_ago(i))
        tender = drafting.create_draft(_tender_input(i, row, officer, civil), officer)
        if i in DRAFTS:
            stage.counts["draft"] += 1
            continue
        publication.publish(tender, officer, confirm_not_excluded=True)
        _after_publication(stage, i, tender, bidders, users["member@example.org"])
    stage.bids += invitations.load_invited_tender(users["officer@example.org"], bidders, real_now)
    stage.counts["open"] += 1
    return stage
