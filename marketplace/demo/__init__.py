"""The demo data set that ``make run`` loads into an empty database.

Everything is created through the service verbs (with the clock moved into the past where a
tender's history needs it), so the demo has the same audit trail real use would produce.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from marketplace import clock
from marketplace.auth import services as auth_services
from marketplace.auth.models import User
from marketplace.contracts import delivery
from marketplace.contracts import services as contract_services
from marketplace.core import districts
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.extensions import db
from marketplace.orgs.demo import load_demo_orgs
from marketplace.tenders import procedures
from marketplace.tenders import services as tender_services
from marketplace.tenders.bids import services as bid_services
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.committee import services as award_services
from marketplace.tenders.committee.services import Appointment
from marketplace.tenders.services import CriterionInput, TenderInput

PASSWORD = "demo-password"  # noqa: S105 - published demo credential
COUNTY = "110101"

LOGINS = [
    ("officer@example.org", "officer", "东城区民政局 采购经办人 Procurement officer, Civil Affairs Bureau"),
    (
        "officer2@example.org",
        "officer",
        "东城区卫生健康委员会 采购经办人 Procurement officer, Health Commission",
    ),
    ("member@example.org", "org_member", "社会组织成员 Organization member"),
    ("auditor@example.org", "auditor", "审计人员 Auditor"),
    ("admin@example.org", "admin", "平台管理员 Administrator"),
] + [(f"expert{i}@example.org", "evaluator", f"评审专家 {i} Evaluator {i}") for i in range(1, 6)]
ORG_LOGINS = "org1@example.org … org10@example.org"

# (category, title, description, budget, method, evaluation method, months, streets)
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
CLOSED = {0, 20, 21, 22, 23}


def has_data() -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(User)))


def _criteria(method: str) -> tuple[int, list[CriterionInput]]:
    price = 30 if method == "competitive_consultation" else 20
    rest = 100 - price
    return price, [
        CriterionInput(
            "服务方案 Service plan",
            rest // 2,
            "需求理解、服务内容、工作计划 Understanding, content, work plan",
        ),
        CriterionInput(
            "团队与资质 Team and credentials", rest // 4, "专职社工、持证人员 Staff and certified workers"
        ),
        CriterionInput(
            "项目经验 Track record",
            rest - rest // 2 - rest // 4,
            "近三年同类项目 Similar projects, last 3 years",
        ),
    ]


def _deadline(method: str, start, extra_days: int):
    cal = WorkingCalendar.load()
    earliest = tender_services.earliest_deadline_date(method, start)
    day = cal.next_working_day(earliest + timedelta(days=extra_days))
    return start_of_local_day(day) + timedelta(hours=9, minutes=30)


def load_demo() -> dict:
    districts.load(districts.demo_rows())
    civil = auth_services.create_agency(
        name="北京市东城区民政局", name_en="Dongcheng District Civil Affairs Bureau", district_code=COUNTY
    )
    health = auth_services.create_agency(
        name="北京市东城区卫生健康委员会",
        name_en="Dongcheng District Health Commission",
        district_code=COUNTY,
    )
    users = {}
    for email, role, name in LOGINS:
        agency = None
        if role == "officer":
            agency = civil if email.startswith("officer@") else health
        users[email] = auth_services.create_user(
            email=email, role=role, password=PASSWORD, name=name, agency=agency
        )

    previous_fixed = clock._fixed  # restore exactly what the caller had (tests freeze the clock)
    real_now = clock.now()
    counts = {"draft": 0, "open": 0, "closed": 0, "cancelled": 0, "bids": 0, "opened": 0}
    try:
        # Organizations registered (and reviewed) two months ago, before any demo tender.
        clock.set_now(real_now - timedelta(days=60))
        orgs = load_demo_orgs(users["officer@example.org"])
        bidders = [o for o in orgs if o.status == "verified"]
        closed_tenders = []
        for i, (cat, title, desc, budget, method, months, areas) in enumerate(TENDERS):
            officer = (
                users["officer2@example.org"] if cat == "public_health" else users["officer@example.org"]
            )
            evaluation = "comprehensive_scoring"
            price, crits = _criteria(method)
            if method == "request_for_quotation":
                evaluation, price, crits = "lowest_price", 100, []
            # Closed tenders were published ~8 weeks ago (deadline ~5 weeks ago); the others recently.
            back = timedelta(days=(75 - i) if i else 57) if i in CLOSED else timedelta(days=(i % 12))
            clock.set_now(real_now - back)
            start = local_date(clock.now())
            data = TenderInput(
                title=title,
                description=desc,
                category=cat,
                district_code=COUNTY,
                service_area_codes=areas,
                method=method,
                evaluation_method=evaluation,
                budget_ceiling=Decimal(budget),
                funding_sources=["county_budget"] if i % 3 else ["county_budget", "higher_transfer"],
                contract_term_months=months,
                eligibility="在民政部门登记的社会组织，登记满一年，年检合格。Registered with civil affairs for at least a "
                "year, passed the latest annual inspection.",
                bid_deadline=_deadline(method, start, 0 if i in CLOSED else (i % 9) * 2 + 3),
                price_weight=price,
                criteria=crits,
                reserved_for_small=(i % 5 == 0),
                contact_name="王老师" if officer.agency_id == civil.id else "李老师",
                contact_phone="010-6401 2345",
                contact_email="procurement@dongcheng.example.org",
            )
            tender = tender_services.create_draft(data, officer)
            if i in DRAFTS:
                counts["draft"] += 1
                continue
            tender_services.publish(tender, officer, confirm_not_excluded=True)
            if i in CANCELLED:
                tender_services.cancel(
                    tender, "预算调整，项目暂缓实施。Budget reallocated; the project is postponed.", officer
                )
                counts["cancelled"] += 1
            elif i in CLOSED:
                counts["closed"] += 1
                closed_tenders.append(tender)
                counts["bids"] += _demo_bids(tender, bidders, real_now - back, limit=3)
            else:
                counts["open"] += 1
                if i % 3 == 0:
                    counts["bids"] += _demo_bids(tender, bidders, real_now - back, limit=2)
                if i % 4 == 1:
                    clock.set_now(real_now - back + timedelta(hours=3))
                    c = tender_services.ask_clarification(
                        tender,
                        "服务人次是否包括电话回访？Do phone follow-ups count as service visits?",
                        users["member@example.org"],
                    )
                    tender_services.answer_clarification(
                        c, "电话回访不计入上门服务人次。No: only in-person visits count.", officer
                    )
        # The scheduler opens bids at the deadline; the demo opens all but one closed tender now, so one
        # shows "opened at first access".
        clock.set_now(real_now)
        experts = [users[f"expert{i}@example.org"] for i in range(1, 6)]
        awarded = []
        for tender in closed_tenders[:-1]:
            clock.set_now(tender.bid_deadline + timedelta(minutes=1))
            opening = bid_services.open_bids(tender)
            counts["opened"] += 1
            if not opening.failed and len(awarded) < 3:
                # The first two awards' challenge windows have closed (final, then contracted); the
                # third is still in its window.
                late = len(awarded) == 2
                at = real_now - timedelta(days=2) if late else tender.bid_deadline + timedelta(days=2)
                _demo_award(tender, experts, at)
                awarded.append(tender)
        for tender in awarded:
            # The scheduler finalizes an award when its challenge window closes; the demo does it then.
            closes = award_services.current_award(tender).challenge_deadline + timedelta(minutes=1)
            clock.set_now(min(closes, real_now))
            award_services.finalize_if_due(tender)
        clock.set_now(real_now)
        counts["awards"] = len(awarded)
        counts["contracts"] = _demo_contracts(
            [t for t in awarded if award_services.award_is_final(t)], real_now
        )
        counts["evaluations"] = _demo_evaluations(experts, users["officer@example.org"], real_now)
        clock.set_now(real_now)
    finally:
        clock.set_now(previous_fixed)
    db.session.flush()
    bids, opened, awards = counts.pop("bids"), counts.pop("opened"), counts.pop("awards", 0)
    contracts = counts.pop("contracts", 0)
    evaluations = counts.pop("evaluations", 0)
    return {
        "users": len(users),
        "agencies": 2,
        "organizations": len(orgs),
        "tenders": ", ".join(f"{v} {k}" for k, v in counts.items()),
        "bids": bids,
        "openings": opened,
        "awards": awards,
        "contracts": contracts,
        "evaluations": evaluations,
    }


# (activity, target index, quantity base, note): target 0 counts residents taken on, target 1 visits.
ACTIVITIES = [
    ("home_visit", 1, 6, "上门探访、助洁 Home visit and cleaning help"),
    ("day_care", 1, 9, "日间照料、助餐 Day care and meals"),
    ("assessment", 0, 1, "新服务对象入户评估 New residents assessed at home"),
]


def _demo_contracts(final_tenders, real_now) -> int:
    """Draft, sign and deliver a contract for each final award: service records, an accepted and paid
    first milestone, one milestone overdue and one due within a week."""
    today = local_date(real_now)
    for n, tender in enumerate(final_tenders):
        award = award_services.current_award(tender)
        officer = tender.created_by
        org = award.bid.organization
        member = db.session.scalar(select(User).where(User.organization_id == org.id).order_by(User.id))
        clock.set_now(award.final_at + timedelta(days=1))
        start = local_date(clock.now())
        end = contract_services.add_months(start, 12) - timedelta(days=1)
        value = award.bid.price
        shares = [Decimal("0.2"), Decimal("0.3"), Decimal("0.2")]
        amounts = [(value * s).quantize(Decimal("0.01")) for s in shares]
        amounts.append(value - sum(amounts))
        overdue = today - timedelta(days=2 + n)
        dues = [start + (overdue - start) / 2, overdue, today + timedelta(days=5 + n), end]
        names = [
            "项目启动与需求评估 Start-up and needs assessment",
            "第一季度服务与报告 First-quarter services and report",
            "中期评估报告 Mid-term report",
            "终期验收 Final acceptance",
        ]
        data = contract_services.ContractInput(
            title=tender.title,
            term_start=start,
            term_end=end,
            scope=tender.description,
            targets=[
                contract_services.TargetInput("服务对象 Residents served", "人 persons", Decimal("200")),
                contract_services.TargetInput("服务人次 Service visits", "人次 visits", Decimal("1200")),
            ],
            milestones=[
                contract_services.MilestoneInput(
                    name, due, amount, kind="report" if i in (1, 2) else "delivery", is_final=i == 3
                )
                for i, (name, due, amount) in enumerate(zip(names, dues, amounts, strict=True))
            ],
        )
        contract = contract_services.draft_contract(tender, data, officer)
        contract_services.sign(contract, officer)
        clock.set_now(clock.now() + timedelta(hours=4))
        contract_services.sign(contract, member)
        targets = contract.targets
        communities = delivery.communities_for(contract)
        day = start
        while day < today:
            for k, (activity, target, base, note) in enumerate(ACTIVITIES):
                if (day.toordinal() + k) % 3:
                    continue
                clock.set_now(start_of_local_day(day) + timedelta(hours=18))
                delivery.log_service_record(
                    contract,
                    delivery.RecordInput(
                        service_date=day,
                        activity_type=activity,
                        target_id=targets[target].id,
                        quantity=Decimal(base + (day.day + k) % 5),
                        beneficiaries=4 + (day.day % 7),
                        hours=Decimal("2.5") + k,
                        community_code=communities[day.day % len(communities)].code if communities else None,
                        notes=note,
                    ),
                    [],
                    member,
                )
            day += timedelta(days=1)
        first = contract.milestones[0]
        clock.set_now(start_of_local_day(first.due_date) + timedelta(hours=10))
        delivery.submit_milestone(
            first, "已完成入户需求评估与服务计划。 Needs assessed at home; service plan agreed.", [], member
        )
        clock.set_now(clock.now() + timedelta(days=1))
        delivery.accept_milestone(first, officer)
        clock.set_now(clock.now() + timedelta(days=3))
        delivery.record_payment(
            contract, local_date(clock.now()), first.amount, f"GK-{tender.id:04d}-01", first, officer
        )
    return len(final_tenders)


SURVEY_COMMENTS = [
    "阿姨每次都准时上门，很细心。 The carer always comes on time and is very attentive.",
    "",
    "希望周末也能送餐。 We would like meals at weekends too.",
    "",
    "服务很好，谢谢社工！ Great service, thank you!",
    "详情请看 www.example.com 优惠 See www.example.com for offers",  # held by the screening
]


def _demo_evaluations(experts, officer, real_now) -> int:
    """Survey answers on both contracts; on the first an in-progress (事中) round being scored, on the
    second a finished ex-post (事后) round. (The demo contracts are still running: the ex-post round is
    there so its report can be seen.)"""
    from marketplace.contracts.models import Contract
    from marketplace.performance import indicators, surveys
    from marketplace.performance import services as evaluation_services

    contracts = list(db.session.scalars(select(Contract).order_by(Contract.id)))
    for c_index, contract in enumerate(contracts):
        survey = surveys.survey_for(contract)
        for n in range(10 - 3 * c_index):
            clock.set_now(real_now - timedelta(days=12 - n, hours=n))
            score = 5 if n % 3 else 4
            surveys.answer(
                survey,
                {"q1": score, "q2": 5, "q3": 4 if n % 4 else 3, "q4": score},
                SURVEY_COMMENTS[n % len(SURVEY_COMMENTS)],
                surveys.new_device_token(),
                f"198.51.100.{10 + n}",
            )
    template = indicators.default_template()
    leaves = indicators.leaves(template)
    done = 0
    for contract, stage, expert, submit in (
        (contracts[0], "in_progress", experts[0], False),
        (contracts[-1], "ex_post", experts[1], True),
    ):
        clock.set_now(real_now - timedelta(days=3))
        evaluation = evaluation_services.assign(contract, stage, expert, template, officer)
        clock.set_now(real_now - timedelta(days=2, hours=20))
        evaluation_services.declare(
            evaluation, True, "本人与采购人、服务机构均无利害关系。 No ties to either party.", expert
        )
        clock.set_now(real_now - timedelta(days=1))
        pre = evaluation_services.prefill(evaluation)
        scores = {}
        for i, leaf in enumerate(leaves):
            if not submit and i % 2:
                continue  # half scored: the round is still in progress
            if leaf.id in pre:
                p = pre[leaf.id]
                entry = evaluation_services.ScoreInput(points=p.points, ratio=p.ratio)
            else:
                share = Decimal("0.9") if i % 3 else Decimal("0.8")
                entry = evaluation_services.ScoreInput(points=(leaf.weight * share).quantize(Decimal("0.01")))
            entry.evidence = "台账、回访记录与现场查看。 Registers, follow-up calls, site visit."
            scores[leaf.id] = entry
        evaluation_services.save_scores(
            evaluation,
            scores,
            expert,
            submit=submit,
            summary="服务记录完整，进度符合计划。 Complete records; on schedule." if submit else "",
        )
        done += 1
    return done


def _demo_award(tender, experts, award_at) -> None:
    """Committee, declarations, qualification, scores, ranking, sign-off and the award notice."""
    officer = tender.created_by
    clock.set_now(tender.bid_deadline + timedelta(days=1))
    size = procedures.profile(tender.method).committee_size_for(tender.budget_ceiling)
    members = award_services.form_committee(
        tender, [Appointment(e, "expert", i == 0) for i, e in enumerate(experts[:size])], officer
    )
    bids = award_services.opened_bids(tender)
    for m in members:
        award_services.declare(m, {b.id: (False, "") for b in bids}, m.user)
    for b in bids:
        award_services.qualify(tender, b, True, "", officer)
    for mi, m in enumerate(members):
        scores = {}
        for bi, b in enumerate(bids):
            for c in tender.technical_criteria:
                share = Decimal("0.6") + Decimal("0.07") * ((mi + 2 * bi) % 5)
                scores[(b.id, c.id)] = ((c.weight * share).quantize(Decimal("0.01")), "")
        award_services.save_scores(m, scores, m.user, submit=True)
    for bid_id in award_services.abnormally_low_bids(tender):
        award_services.review_price(
            tender,
            db.session.get(Bid, bid_id),
            True,
            "报价构成说明合理。 The cost breakdown explains the price.",
            officer,
        )
    award_services.conclude(tender, officer)
    for m in members:
        award_services.sign_off(m, m.user)
    clock.set_now(award_at)
    first = next(r for r in award_services.results(tender) if r.rank == 1)
    award_services.confirm_award(tender, first.bid, "", officer)


def _demo_bids(tender, bidders, published_at, limit: int) -> int:
    """Bids from eligible verified organizations, submitted two days after publication."""
    clock.set_now(published_at + timedelta(days=2))
    placed = 0
    for n, org in enumerate(bidders):
        if placed >= limit or bid_services.eligibility_problems(org, tender):
            continue
        member = org.members[0]
        price = (tender.budget_ceiling * Decimal(str(0.97 - 0.04 * placed - 0.01 * (n % 3)))).quantize(
            Decimal("1")
        )
        bid = bid_services.save_draft(
            tender,
            org,
            bid_services.BidInput(
                price=price,
                responses={
                    c.id: f"{org.name}关于“{c.name}”的响应。Our response on {c.name}."
                    for c in tender.technical_criteria
                },
                declarations=list(bid_services.required_declarations(tender)),
            ),
            member,
        )
        bid_services.submit(bid, member)
        placed += 1
    return placed


def logins_text() -> str:
    lines = ["", "Demo logins (password: demo-password):"]
    for email, role, name in LOGINS:
        lines.append(f"  {email:24} {role:11} {name}")
    lines.append(
        f"  {ORG_LOGINS:24} org_member  社会组织成员 (org1-7 verified, org8 pending, org9 asked for "
        "information, org10 debarred)"
    )
    return "\n".join(lines) + "\n"
