"""``make bench``: public tender search on a large catalogue, on SQLite (and PostgreSQL when
``BENCH_DATABASE_URL`` is set). Results are printed and written to ``docs/benchmarks.md``.

Targets, with 20,000 tenders (a large city's archive over a decade; a district publishes a few hundred
a year):
- home page (open tenders): median < 100 ms
- search and filter pages ``/tenders?q=…``: median < 300 ms

Keyword search is a substring scan (LIKE over title and description, which works for Chinese without
a tokenizer); it grows linearly with the archive. Past ~50,000 tenders it wants an index (pg_trgm on
PostgreSQL, FTS5 trigram on SQLite).

Then the cost of one bid submission against its references (``bench/submission.py``: at most 8 SQL
statements and 20 ms of service time), and the export memory case (``bench/export_memory.py``; ``BENCH_EXPORT=0`` skips it): peak memory of
a contract export at 2,000 and 20,000 contracts must stay flat.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

N_TENDERS = int(os.environ.get("BENCH_TENDERS", "20000"))
REPEAT = 15
CATEGORIES = ["elderly_care", "childcare", "disability", "public_health", "social_work", "employment"]
WORDS = ["居家养老", "助餐", "托育", "康复", "心理", "就业", "社工", "助浴", "法律", "文化"]


def _populate(app) -> None:
    from flask_migrate import upgrade

    from marketplace.auth import services as auth_services
    from marketplace.core import districts
    from marketplace.extensions import db
    from marketplace.tenders.models import Criterion, Tender

    with app.app_context():
        upgrade()
        districts.load(districts.demo_rows())
        agency = auth_services.create_agency(name="Bench agency", district_code="110101")
        officer = auth_services.create_user(
            email="bench@example.org", role="officer", password="bench-password-1", agency=agency
        )
        db.session.commit()
        now = datetime.now(UTC)
        rows, crits = [], []
        for i in range(N_TENDERS):
            word = WORDS[i % len(WORDS)]
            rows.append(
                dict(
                    id=i + 1,
                    reference=f"110101-2026-{i + 1:06d}",
                    title=f"{word}服务项目 {i}",
                    description=f"为辖区居民提供{word}服务，第{i}号。Service number {i}.",
                    category=CATEGORIES[i % len(CATEGORIES)],
                    agency_id=agency.id,
                    district_code="110101",
                    method="public_tender",
                    evaluation_method="comprehensive_scoring",
                    budget_ceiling=Decimal(100000 + (i * 37) % 900000),
                    funding_sources=["county_budget"],
                    contract_term_months=12,
                    eligibility="",
                    reserved_for_small=False,
                    bid_deadline=now + timedelta(days=(i % 60) - 20),
                    contact_name="",
                    contact_phone="",
                    contact_email="",
                    not_excluded_confirmed=True,
                    status="open" if i % 10 else "cancelled",
                    published_at=now - timedelta(days=30),
                    created_by_id=officer.id,
                    created_at=now,
                    updated_at=now,
                )
            )
            crits.append(
                dict(tender_id=i + 1, position=0, name="价格", description="", weight=100, is_price=True)
            )
        db.session.execute(Tender.__table__.insert(), rows)
        db.session.execute(Criterion.__table__.insert(), crits)
        db.session.commit()


def _time(client, url: str) -> float:
    samples = []
    client.get(url)  # warm
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        r = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    return statistics.median(samples)


def run(database_url: str, label: str) -> list[tuple[str, str, float, float]]:
    from marketplace import create_app

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_ENABLED": False,
            "LOG_LEVEL": "WARNING",
            "BABEL_DEFAULT_LOCALE": "en",
        }
    )
    t0 = time.perf_counter()
    _populate(app)
    print(f"[{label}] loaded {N_TENDERS} tenders in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    client = app.test_client()
    cases = [
        ("home page (open tenders)", "/", 100.0),
        ("search q=助餐", "/tenders?q=%E5%8A%A9%E9%A4%90", 300.0),
        (
            "search q + category + budget + status",
            "/tenders?q=%E5%BF%83%E7%90%86&category=public_health&budget_min=200000&status=open",
            300.0,
        ),
        ("list sorted by budget, page 50", "/tenders?sort=-budget&page=50", 300.0),
    ]
    return [(label, name, _time(client, url), target) for name, url, target in cases]


def main() -> int:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results += run(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", "SQLite")
    pg = os.environ.get("BENCH_DATABASE_URL")
    if pg:
        import sqlalchemy as sa

        engine = sa.create_engine(pg)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
        results += run(pg, "PostgreSQL")
    from bench.report import write_section

    lines = [
        "| database | case | median ms | target ms | met |",
        "|---|---|---:|---:|---|",
    ]
    failed = False
    for label, name, ms, target in results:
        ok = ms <= target
        failed |= not ok
        lines.append(f"| {label} | {name} | {ms:.1f} | {target:.0f} | {'yes' if ok else 'NO'} |")
    lines += [
        "",
        "Keyword search is a substring scan (LIKE over title, description and reference; it needs no",
        "tokenizer for Chinese) and grows linearly with the archive: at 50,000 tenders it measured about",
        "270 ms (SQLite) and 310 ms (PostgreSQL) for a one-word query. Past that size it wants an index",
        "(pg_trgm on PostgreSQL, an FTS5 trigram table on SQLite).",
    ]
    write_section(
        "Tender search",
        f"`make bench` (bench/__main__.py), {N_TENDERS:,} published tenders, median of {REPEAT} requests "
        "through the Flask test client (rendering included).",
        "\n".join(lines),
    )
    print("\n".join(lines))
    from bench import submission

    failed |= not all(submission.met(r) for r in submission.main(pg))
    if os.environ.get("BENCH_EXPORT", "1") != "0":
        from bench import export_memory

        with tempfile.TemporaryDirectory() as tmp:
            exported = export_memory.run(f"sqlite:///{Path(tmp) / 'export.sqlite3'}", "SQLite")
        failed |= not export_memory.flat(exported)
        section = export_memory.lines(exported)  # "## Export memory", "", intro, "", table…
        write_section("Export memory", section[2], "\n".join(section[4:]))
        print("\n".join(section))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
