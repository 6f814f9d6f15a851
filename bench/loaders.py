"""The benches' data sets, loaded in bulk into a freshly migrated database (never the ORM row by row).

- :func:`prepare`: ``flask_migrate.upgrade``, the demo districts (``marketplace.core.districts``), two
  agencies with an officer each (the account services), and verified organizations with one member
  each.
- :func:`load_tenders`: a public catalogue of tenders over ten years, made in Python from word lists
  (Chinese titles and descriptions, 40 % with an English summary, categories, streets served,
  procedure methods, statuses consistent with their deadlines), with the columns the ``Tender`` model
  derives from them (the search tokens), written with COPY on PostgreSQL (``cursor.copy``) and in
  chunked executemany INSERTs on SQLite. A catalogue grows in place: the first ``n`` tenders are a
  catalogue of ``n``.
- :func:`load_contracts`: ``n`` active contracts, each with its tender, winning bid and final award,
  ``milestones_per_contract`` milestones of which exactly one is past due and not met (so ``n`` are
  overdue), a payment, two service records in different months and four audit events, all with
  ``INSERT … SELECT … FROM generate_series`` (PostgreSQL only).

Columns the bench does not name get the models' Python-side defaults (``include_defaults`` for
INSERT … SELECT, filled in for COPY), so a column added with a default does not break the loaders.
"""

from __future__ import annotations

import multiprocessing
import os
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

N_AGENCIES = 2
N_ORGANIZATIONS = 40
CHUNK = 5000

# (category, service in Chinese, in English). Elderly care comes more often, as in a city's archive.
SERVICES = [
    ("elderly_care", "居家养老上门服务", "home care visits for older residents"),
    ("elderly_care", "老年助餐服务", "meals for older residents"),
    ("elderly_care", "社区养老服务驿站运营", "running a community elderly care station"),
    ("elderly_care", "高龄独居老人巡访关爱", "visits to older people living alone"),
    ("elderly_care", "失能老人助浴助洁", "bathing and cleaning help for frail older people"),
    ("elderly_care", "居家养老家庭照护床位", "home care beds"),
    ("childcare", "普惠托育服务", "affordable childcare"),
    ("childcare", "婴幼儿家庭养育指导", "parenting guidance for families with infants"),
    ("disability", "残疾人居家康复", "home rehabilitation for people with disabilities"),
    ("disability", "残疾人辅助性就业", "supported employment for people with disabilities"),
    ("social_assistance", "困难群众救助帮扶", "assistance for households in hardship"),
    ("minors_youth", "困境儿童关爱保护", "protection of children in difficulty"),
    ("social_work", "街道社工站运营", "running the street social work station"),
    ("public_health", "社区心理健康服务", "community mental health services"),
    ("public_health", "慢性病健康管理", "chronic disease management"),
    ("employment", "就业困难人员援助", "employment assistance"),
    ("legal_services", "公共法律服务", "public legal services"),
    ("mediation", "人民调解", "people's mediation"),
    ("public_culture", "社区文化活动", "community cultural activities"),
    ("volunteer_services", "志愿服务项目化运营", "volunteer services"),
    ("community_governance", "社区协商议事", "community consultation"),
    ("veterans", "退役军人关爱服务", "care for veterans"),
]
GROUPS = ["老年人", "高龄独居老人", "残疾人", "困境儿童", "婴幼儿家庭", "社区居民", "低保家庭", "退役军人"]
ACTIVITIES = [
    "助餐",
    "助浴",
    "助洁",
    "助医",
    "助行",
    "康复训练",
    "心理疏导",
    "上门探访",
    "健康讲座",
    "政策咨询",
    "法律咨询",
    "就业指导",
    "亲子活动",
    "社区议事",
    "志愿服务",
    "应急救助",
    "日间照料",
    "喘息服务",
    "家庭教育",
    "文体活动",
]
SUFFIXES = ["项目", "采购项目", "购买服务项目", "服务采购", "运营项目"]
FUNDING = [["county_budget"], ["county_budget", "higher_transfer"], ["higher_transfer"], ["social_funds"]]


def bench_app(url: str):
    """The marketplace app on ``url``, configured for loading and measuring (no rate limits)."""
    from marketplace import create_app

    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "LOG_LEVEL": "WARNING",
            "BABEL_DEFAULT_LOCALE": "en",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )


def pg_dsn(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as a libpq connection string (psycopg, psql)."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def prepare(url: str) -> dict:
    """Migrate the (fresh) database and add what every data set hangs off. Returns the ids:
    ``agencies``, ``officers`` (one per agency, same order), ``organizations``, ``members``."""
    from flask_migrate import upgrade

    from marketplace.auth import services as auth_services
    from marketplace.core import districts
    from marketplace.extensions import db
    from marketplace.orgs.models import Organization

    app = bench_app(url)
    with app.app_context():
        upgrade()
        districts.load(districts.demo_rows())
        names = [
            ("东城区民政局", "Dongcheng Civil Affairs Bureau"),
            ("东城区卫生健康委", "Dongcheng Health Commission"),
        ]
        agencies, officers = [], []
        for k, (name, name_en) in enumerate(names[:N_AGENCIES]):
            agency = auth_services.create_agency(name=name, name_en=name_en, district_code="110101")
            officer = auth_services.create_user(
                email=f"bench-officer{k}@example.org",
                role="officer",
                password="bench-password-1",
                agency=agency,
            )
            agencies.append(agency.id)
            officers.append(officer.id)
        db.session.commit()
        now = datetime.now(UTC)
        from marketplace.auth.models import User

        s = db.session
        s.execute(
            Organization.__table__.insert(),
            [
                {
                    "name": f"阳光社会工作服务中心{k}号",
                    "uscc": f"52110101MJ{k:07d}X",
                    "org_type": "social_service_agency",
                    "registration_authority": "东城区民政局",
                    "registered_district_code": "110101",
                    "founded_on": date(2015, 5, 1) + timedelta(days=k),
                    "legal_representative": "张三",
                    "contact_person": "李四",
                    "phone": f"010-6512{k:04d}",
                    "email": f"bench-org{k}@example.org",
                    "categories": ["elderly_care"],
                    "annual_inspection": "qualified",
                    "status": "verified",
                    "submitted_at": now,
                    "verified_at": now,
                }
                for k in range(1, N_ORGANIZATIONS + 1)
            ],
        )
        orgs = list(s.scalars(sa.select(Organization.id).order_by(Organization.id)))
        password = s.scalar(sa.select(User.password_hash).where(User.id == officers[0]))
        s.execute(
            User.__table__.insert(),
            [
                {
                    "email": f"bench-member{k}@example.org",
                    "name": f"机构联系人{k}",
                    "password_hash": password,
                    "role": "org_member",
                    "active": True,
                    "organization_id": org_id,
                }
                for k, org_id in enumerate(orgs, 1)
            ],
        )
        members = list(s.scalars(sa.select(User.id).where(User.role == "org_member").order_by(User.id)))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return {"agencies": agencies, "officers": officers, "organizations": orgs, "members": members}


# --- tenders --------------------------------------------------------------------------------------------


def tender_rows(start: int, stop: int, ids: dict, now: datetime) -> Iterator[tuple[dict, list[str]]]:
    """Published tenders ``start + 1`` to ``stop``, with the streets each serves. Each is drawn on its
    own (its own seeded generator, published at a uniformly drawn moment of the last ten years), so
    the first ``n`` are a catalogue of ``n`` whatever the whole: a larger catalogue adds to a smaller."""
    from marketplace.core.districts import demo_rows
    from marketplace.tenders.procedures import PROFILES

    streets = [(r["code"], r["name"], r["name_en"]) for r in demo_rows() if r["level"] == "street"]
    methods = ["public_tender"] * 7 + [code for code in PROFILES if code != "public_tender"]
    for i in range(start + 1, stop + 1):
        rng = random.Random(1_000_003 * 16 + i)
        category, service, service_en = SERVICES[rng.randrange(len(SERVICES))]
        served = rng.sample(streets, rng.choice((1, 1, 1, 2, 3)))
        street, street_name, street_en = served[0]
        published = now - timedelta(days=rng.uniform(2, 3652))
        deadline = published + timedelta(days=rng.randint(20, 35), hours=rng.randint(0, 8))
        status, extra = _tender_status(rng, deadline, now)
        activities = "、".join(rng.sample(ACTIVITIES, 3))
        description = (
            f"为{street_name}辖区{rng.choice(GROUPS)}提供{service}，主要内容包括{activities}等。"
            f"服务期{rng.choice((6, 12, 12, 24))}个月，预计服务{rng.randint(2, 60) * 50}人次。"
            f"承接机构须配备持证社会工作者不少于{rng.randint(1, 5)}名。"
        )
        if rng.random() < 0.4:
            description += f" English summary: {service_en} in {street_en or street_name}."
        row = {
            "id": i,
            "reference": f"110101-{published.year}-{i:06d}",
            "title": f"{published.year}年{street_name}{service}{rng.choice(SUFFIXES)}",
            "description": description,
            "category": category,
            "agency_id": ids["agencies"][i % len(ids["agencies"])],
            "district_code": "110101",
            "method": rng.choice(methods),
            "evaluation_method": "comprehensive_scoring" if rng.random() < 0.85 else "lowest_price",
            "budget_ceiling": Decimal(rng.randrange(50_000, 3_000_000, 1_000)),
            "funding_sources": rng.choice(FUNDING),
            "contract_term_months": rng.choice((6, 12, 12, 24)),
            "eligibility": "",
            "reserved_for_small": rng.random() < 0.2,
            "bid_deadline": deadline,
            "contact_name": "王老师",
            "contact_phone": "010-65120000",
            "contact_email": "",
            "not_excluded_confirmed": True,
            "status": status,
            "published_at": published,
            "created_by_id": ids["officers"][i % len(ids["officers"])],
            "created_at": published - timedelta(days=3),
            "updated_at": published,
            # Every row has the same columns (one COPY column list, one executemany).
            "cancelled_at": None,
            "cancel_reason": None,
            "failed_at": None,
            "failure_reason": None,
            **extra,
        }
        yield row, [code for code, _name, _en in served]


def _tender_status(rng: random.Random, deadline: datetime, now: datetime) -> tuple[str, dict]:
    if deadline > now:
        return ("open", {}) if rng.random() < 0.95 else ("cancelled", _cancelled(deadline))
    if deadline > now - timedelta(days=3):
        return rng.choice(("open", "closed", "opened")), {}
    if deadline > now - timedelta(days=30):
        return rng.choice(("opened", "evaluation", "awarded", "awarded")), {}
    roll = rng.random()
    if roll < 0.82:
        return "awarded", {}
    if roll < 0.92:
        return "failed", {"failed_at": deadline + timedelta(days=1), "failure_reason": "有效投标不足三家"}
    return "cancelled", _cancelled(deadline)


def _cancelled(deadline: datetime) -> dict:
    return {"cancelled_at": deadline - timedelta(days=5), "cancel_reason": "采购需求发生变化"}


def load_tenders(url: str, start: int, stop: int, ids: dict, now: datetime | None = None) -> None:
    """Tenders ``start + 1`` to ``stop`` (see :func:`tender_rows`), with a price criterion each and
    the streets they serve.

    Each row also gets the columns the model derives from it (``Tender(**row)``, never added to a
    session: its validators fill e.g. the search tokens), as the application would have written
    them; that costs about a millisecond a row in Python, so the rows are made on every core."""
    from marketplace.tenders.models import PRICE_CRITERION_NAME, Criterion, Tender, tender_service_areas

    now = now or datetime.now(UTC)
    criterion = {
        "position": 0,
        "name": PRICE_CRITERION_NAME,
        "description": "",
        "weight": 100,
        "is_price": True,
    }
    postgres = not url.startswith("sqlite")
    chunks = [(a, min(a + CHUNK, stop), ids, now, postgres) for a in range(start, stop, CHUNK)]
    with multiprocessing.get_context("fork").Pool(len(os.sched_getaffinity(0))) as pool:
        batches = pool.imap(_derived_tender_rows, chunks)
        if not postgres:
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                for batch in batches:
                    conn.execute(Tender.__table__.insert(), [row for row, _served in batch])
                    areas = [
                        {"tender_id": r["id"], "district_code": code}
                        for r, served in batch
                        for code in served
                    ]
                    conn.execute(tender_service_areas.insert(), areas)
                    conn.execute(
                        Criterion.__table__.insert(), [{"tender_id": r["id"], **criterion} for r, _s in batch]
                    )
            engine.dispose()
            return
        import psycopg

        with psycopg.connect(pg_dsn(url)) as conn, conn.cursor() as cur:
            areas, criteria = [], []
            with _Copy(cur, Tender.__table__, processed=True) as copy:
                for batch in batches:
                    for row, served in batch:
                        copy.write(row)
                        areas += [{"tender_id": row["id"], "district_code": code} for code in served]
                        criteria.append({"tender_id": row["id"], **criterion})
            with _Copy(cur, tender_service_areas) as copy:
                for area in areas:
                    copy.write(area)
            with _Copy(cur, Criterion.__table__) as copy:
                for row in criteria:
                    copy.write(row)
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('tenders', 'id'), (SELECT max(id) FROM tenders))"
            )
            conn.commit()
    analyze(url)


def _derived_tender_rows(args) -> list[tuple[dict, list[str]]]:
    """One chunk of :func:`tender_rows` with the derived columns (and, for COPY to PostgreSQL, the
    values as the column types bind them). Runs in a worker process."""
    from marketplace.tenders.models import Tender

    start, stop, ids, now, postgres = args
    dialect = _pg_dialect() if postgres else None
    out = []
    for row, served in tender_rows(start, stop, ids, now):
        row = _with_derived(Tender, row)
        if dialect is not None:
            row = {k: _bind(Tender.__table__.c[k].type, dialect, v) for k, v in row.items()}
        out.append((row, served))
    return out


def _with_derived(model, row: dict) -> dict:
    """``row`` with the column values the model's constructor and validators derive from it."""
    instance = model(**row)
    state = instance.__dict__
    derived = {c.key: state[c.key] for c in model.__table__.columns if c.key not in row and c.key in state}
    return {**row, **derived}


def _bind(column_type, dialect, value):
    """``value`` as a custom column type binds it (JSON is left to the COPY, see :class:`_Copy`)."""
    if isinstance(column_type, sa.TypeDecorator) and not isinstance(column_type, sa.JSON):
        return column_type.process_bind_param(value, dialect)
    return value


def _pg_dialect():
    from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

    return pg_psycopg.dialect()


class _Copy:
    """``COPY table (columns) FROM STDIN`` of dict rows: the columns of the first row plus those with a
    Python-side default (filled in: COPY only applies the database's defaults), less any the database
    does not have yet. Values go through the column types' bind processing (e.g. a ``tsvector``
    literal) as an INSERT would send them, unless the rows come ``processed`` already."""

    def __init__(self, cursor, table, processed: bool = False):
        self.cursor, self.table, self.processed = cursor, table, processed
        self.copy = None
        self.dialect = _pg_dialect()

    def __enter__(self):
        return self

    def write(self, row: dict) -> None:
        if self.copy is None:
            self._start(row)
        values = []
        for c in self.columns:
            if c not in row:
                values.append(self.defaults[c])
            elif self.processed:
                values.append(self.wrap[c](row[c]))
            else:
                values.append(self.convert[c](row[c]))
        self.copy.write_row(values)

    def _start(self, first: dict) -> None:
        self.cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND table_schema = "
            "current_schema()",
            (self.table.name,),
        )
        existing = {name for (name,) in self.cursor.fetchall()}
        defaults = _python_defaults(self.table, first)
        self.columns = [c for c in [*first, *defaults] if c in existing]
        self.convert = {c: _converter(self.table.c[c].type, self.dialect) for c in self.columns}
        self.wrap = {c: _json_wrapper(self.table.c[c].type) for c in self.columns}
        self.defaults = {c: self.convert[c](v) for c, v in defaults.items() if c in existing}
        self._context = self.cursor.copy(f"COPY {self.table.name} ({', '.join(self.columns)}) FROM STDIN")
        self.copy = self._context.__enter__()

    def __exit__(self, *exc):
        if self.copy is not None:
            return self._context.__exit__(*exc)
        return False


def _json_wrapper(column_type):
    if isinstance(column_type, sa.JSON):
        from psycopg.types.json import Json

        return lambda value: value if value is None or isinstance(value, Json) else Json(value)
    return lambda value: value


def _converter(column_type, dialect):
    if isinstance(column_type, sa.JSON):
        return _json_wrapper(column_type)
    if isinstance(column_type, sa.TypeDecorator):
        return lambda value: column_type.process_bind_param(value, dialect)
    return lambda value: value


# --- contracts ------------------------------------------------------------------------------------------


def load_contracts(
    url: str, n: int, ids: dict, milestones_per_contract: int, today: date | None = None
) -> dict:
    """``n`` active contracts with everything the exports and the overdue job read. Returns counts."""
    from marketplace.audit.models import AuditEvent
    from marketplace.contracts.models import Contract, Milestone, Payment, ServiceRecord
    from marketplace.core.timeutil import local_date
    from marketplace.extensions import db
    from marketplace.tenders.bids.models import Bid
    from marketplace.tenders.committee.models import Award
    from marketplace.tenders.models import Tender

    app = bench_app(url)
    with app.app_context():
        today = today or local_date(datetime.now(UTC))
    m = milestones_per_contract
    streets = [r["name"] for r in _streets()]
    services = [s for _c, s, _e in SERVICES]
    categories = [c for c, _s, _e in SERVICES]

    def pick(values: list[int], x: str = "i") -> str:
        return f"({_array(values, 'int')})[1 + {x} % {len(values)}]"

    def agency(x: str = "i") -> str:
        return pick(ids["agencies"], x)

    def officer(x: str = "i") -> str:
        return pick(ids["officers"], x)

    def org(x: str = "i") -> str:
        return pick(ids["organizations"], x)

    def due0(x: str = "i") -> str:
        # Contract x: its overdue milestone is number k = x % m, past due by 1 to 29 days; the ones
        # before it were accepted on their due dates, the ones after it fall due every 30 days.
        return f"(DATE '{today.isoformat()}' - (1 + {x} % 29) - ({x} % {m}) * 30)"

    def signed(x: str = "i") -> str:
        return f"(({due0(x)} - 30)::timestamp AT TIME ZONE 'Asia/Shanghai' + interval '10 hours')"

    def value(x: str = "i") -> str:
        return f"(200000 + ({x} * 37) % 300000)::numeric(14, 2)"

    def title(x: str = "i") -> str:
        service = f"({x} * 7) % {len(services)}"
        return (
            f"({_array(streets)})[1 + {x} % {len(streets)}] || ({_array(services)})[1 + {service}] || '项目'"
        )

    app = bench_app(url)
    with app.app_context():
        s = db.session
        _insert_series(
            s,
            Tender.__table__,
            n,
            {
                "id": "i",
                "reference": "'110101-C-' || lpad(i::text, 7, '0')",
                "title": title(),
                "description": "'为辖区居民提供服务，主要内容包括助餐、助浴、助洁等。'",
                "category": f"({_array(categories)})[1 + (i * 7) % {len(services)}]",
                "agency_id": agency(),
                "district_code": "'110101'",
                "method": "'public_tender'",
                "evaluation_method": "'comprehensive_scoring'",
                "budget_ceiling": f"{value()} + 10000",
                "funding_sources": "'[\"county_budget\"]'",
                "contract_term_months": "12",
                "eligibility": "''",
                "reserved_for_small": "false",
                "bid_deadline": f"{signed()} - interval '40 days'",
                "contact_name": "''",
                "contact_phone": "''",
                "contact_email": "''",
                "not_excluded_confirmed": "true",
                "status": "'awarded'",
                "published_at": f"{signed()} - interval '70 days'",
                "created_by_id": officer(),
                "created_at": f"{signed()} - interval '75 days'",
                "updated_at": f"{signed()} - interval '30 days'",
            },
        )
        _insert_series(
            s,
            Bid.__table__,
            n,
            {
                "id": "i",
                # A random public id per bid (the Python default would give every row the same one).
                "public_id": "left(md5('bid-' || i::text || random()::text), 22)",
                "tender_id": "i",
                "organization_id": org(),
                "status": "'submitted'",
                "price": value(),
                "responses": "'{}'",
                "declarations": "'[]'",
                "version": "1",
                "submitted_at": f"{signed()} - interval '41 days'",
                "needs_reconfirmation": "false",
                "created_by_id": officer(),
                "created_at": f"{signed()} - interval '45 days'",
                "updated_at": f"{signed()} - interval '41 days'",
            },
        )
        _insert_series(
            s,
            Award.__table__,
            n,
            {
                "id": "i",
                "tender_id": "i",
                "bid_id": "i",
                "rank": "1",
                "reason": "''",
                "status": "'final'",
                "confirmed_by_id": officer(),
                "published_at": f"{signed()} - interval '30 days'",
                "notice_ends_at": f"{signed()} - interval '29 days'",
                "challenge_deadline": f"{signed()} - interval '22 days'",
                "final_at": f"{signed()} - interval '22 days'",
            },
        )
        _insert_series(
            s,
            Contract.__table__,
            n,
            {
                "id": "i",
                "reference": "'HT-' || lpad(i::text, 7, '0')",
                "tender_id": "i",
                "award_id": "i",
                "agency_id": agency(),
                "organization_id": org(),
                "title": title(),
                "status": "'active'",
                "original_value": value(),
                "value": value(),
                "term_start": f"{due0()} - 30",
                "term_end": f"{due0()} + {30 * (m - 1)}",
                "term_justification": "''",
                "scope": "''",
                "created_by_id": officer(),
                "created_at": f"{signed()} - interval '5 days'",
                "officer_signed_at": signed(),
                "officer_signed_by_id": officer(),
                "org_signed_at": signed(),
                "activated_at": signed(),
            },
        )
        # One row per (contract, position): i runs over n × m, contract = 1 + (i - 1) / m.
        c, p = f"(1 + (i - 1) / {m})", f"((i - 1) % {m})"
        _insert_series(
            s,
            Milestone.__table__,
            n * m,
            {
                "contract_id": c,
                "position": p,
                "deliverable": f"'第' || ({p} + 1) || '期服务与月度报告'",
                "kind": f"CASE WHEN {p} % 3 = 2 THEN 'delivery' ELSE 'report' END",
                "due_date": f"{due0(c)} + {p} * 30",
                "amount": f"round({value(c)} / {m}, 2)",
                "is_final": f"{p} = {m - 1}",
                "status": f"CASE WHEN {p} < {c} % {m} THEN 'accepted' ELSE 'pending' END",
                "met_on": f"CASE WHEN {p} < {c} % {m} THEN {due0(c)} + {p} * 30 END",
            },
        )
        _insert_series(
            s,
            Payment.__table__,
            n,
            {
                "contract_id": "i",
                "paid_on": f"{due0()} - 25",
                "amount": f"round({value()} * 0.3, 2)",
                "reference": "'GK-' || lpad(i::text, 7, '0')",
                "recorded_at": f"{signed()} + interval '5 days'",
                "recorded_by_id": officer(),
            },
        )
        half = "(1 + (i - 1) / 2)"
        _insert_series(
            s,
            ServiceRecord.__table__,
            2 * n,
            {
                "contract_id": "1 + (i - 1) / 2",
                "service_date": f"{due0(half)} - 28 + ((i - 1) % 2) * 31",
                "activity_type": "'home_visit'",
                "quantity": "4",
                "beneficiaries": "4",
                "hours": "6.5",
                "notes": "''",
                "recorded_at": f"{signed(half)} + interval '3 days' + ((i - 1) % 2) * interval '31 days'",
                "recorded_by_id": officer(half),
            },
        )
        actions = [
            ("tender.publish", "tender", "70 days", "'published tender 110101-C-' || lpad(i::text, 7, '0')"),
            ("tender.open_bids", "tender", "40 days", "'opened 3 bid(s)'"),
            ("award.publish", "tender", "30 days", "'published the award notice'"),
            ("contract.sign", "contract", "0 days", "'signed for the agency'"),
        ]
        for k, (action, obj, before, summary) in enumerate(actions):
            _insert_series(
                s,
                AuditEvent.__table__,
                n,
                {
                    "occurred_at": f"{signed()} - interval '{before}' + interval '{k} seconds'",
                    "actor_id": officer(),
                    "actor_label": f"'bench-officer' || ({officer()} - {min(ids['officers'])}) || '@example.org'",
                    "action": f"'{action}'",
                    "object_type": f"'{obj}'",
                    "object_id": "i::text",
                    "summary": summary,
                    "tender_id": "i",
                },
            )
        for table in ("tenders", "bids", "awards", "contracts"):
            s.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            )
        s.commit()
        s.remove()
        db.engine.dispose()
    analyze(url)
    return {"contracts": n, "milestones": n * m, "overdue": n, "today": today}


# --- helpers ------------------------------------------------------------------------------------------


def analyze(url: str) -> None:
    """Fresh planner statistics (and visibility map) after a bulk load, as autovacuum would make."""
    import psycopg

    with psycopg.connect(pg_dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _streets() -> list[dict]:
    from marketplace.core.districts import demo_rows

    return [r for r in demo_rows() if r["level"] == "street"]


def _insert_series(session, table, n: int, exprs: dict[str, str]) -> None:
    """INSERT INTO table (…) SELECT … FROM generate_series(1, n) AS i; the other columns get their
    Python-side defaults."""
    select = sa.select(*[sa.literal_column(sql).label(name) for name, sql in exprs.items()]).select_from(
        sa.text(f"generate_series(1, {int(n)}) AS i")
    )
    session.execute(table.insert().from_select(list(exprs), select, include_defaults=True))


def _python_defaults(table, given: dict) -> dict:
    """The Python-side defaults of the columns of ``table`` not in ``given`` (COPY does not apply them)."""
    out = {}
    for column in table.columns:
        if column.name in given or column.default is None or column.primary_key:
            continue
        default = column.default
        if getattr(default, "is_scalar", False):
            out[column.name] = default.arg
        elif getattr(default, "is_callable", False):
            out[column.name] = default.arg(None)
    return out


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _array(values, kind: str = "text") -> str:
    if kind == "int":
        return f"ARRAY[{', '.join(str(int(v)) for v in values)}]::int[]"
    return f"ARRAY[{', '.join(_literal(str(v)) for v in values)}]::text[]"
