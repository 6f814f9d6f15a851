"""Red flags (issue 22): the full computation over 100,000 processes, against a bare pass over the same
tables, in the same run.

The data set: bench/loaders.py's contracts (``load_contracts``: per process a tender, a bid, the award,
the contract with ``REDFLAG_MILESTONES`` milestones, a payment and two service records), plus, inserted
here set-based, two losing bids per process from other organizations, the opening record and the
qualification of every bid, so that the bid-based indicators (shared contacts, rotation, never-winning
bidders, disqualification) read real volumes.

- the reference: ``SELECT count(*)`` of every table the indicators read, one after the other, on one
  connection (how long merely reading the rows once takes);
- the computation: ``marketplace.jobs.runner.run_job("red-flags-full")`` in a fresh process, as the
  scheduler runs it (each indicator committed on its own), the flags and watermarks deleted first;
- then an incremental run (``red-flags``) after 100 processes were touched.

Goal: the full computation within 10 minutes at 100,000 processes (``GOAL_SECONDS``); the ratio to the
reference is reported beside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass

import sqlalchemy as sa

from bench.loaders import _array, _insert_series, bench_app, pg_dsn
from bench.server import ROOT, server_env

GOAL_SECONDS = 600
TABLES = (
    "tenders",
    "bids",
    "bid_openings",
    "qualifications",
    "awards",
    "award_pass_overs",
    "amendments",
    "organizations",
    "contracts",
    "variations",
    "milestones",
    "milestone_submissions",
    "milestone_documents",
    "service_records",
    "payments",
    "acceptances",
    "evaluations",
)


@dataclass
class RedFlagCase:
    processes: int
    seconds: float
    reference_seconds: float
    incremental_seconds: float
    flags: int
    status: str

    @property
    def ratio(self) -> float:
        return self.seconds / self.reference_seconds if self.reference_seconds else float("inf")

    def met(self) -> bool:
        return self.status == "ok" and self.seconds < GOAL_SECONDS


def add_competition(url: str, n: int, ids: dict) -> None:
    """Two losing bids per process (ids n+1…3n), the opening records and every bid's qualification."""
    from marketplace.extensions import db
    from marketplace.tenders.bids.models import Bid, BidOpening
    from marketplace.tenders.committee.models import Qualification

    orgs = ids["organizations"]
    app = bench_app(url)
    with app.app_context():
        s = db.session
        tender = "(1 + (i - 1) / 2)"
        _insert_series(
            s,
            Bid.__table__,
            2 * n,
            {
                "id": f"{n} + i",
                "public_id": "left(md5('rfbid-' || i::text || random()::text), 22)",
                "tender_id": tender,
                # Never the winner's organization (loaders: orgs[1 + tender % L]) nor the other loser's.
                "organization_id": f"({_array(orgs, 'int')})[1 + ({tender} % {len(orgs)} + 1 + (i - 1) % 2 "
                f"+ ({tender} / 7) % {len(orgs) - 2}) % {len(orgs)}]",
                "status": "'submitted'",
                "price": "(250000 + (i * 41) % 250000)::numeric(14, 2)",
                "responses": "'{}'",
                "declarations": "'[]'",
                "version": "1",
                "needs_reconfirmation": "false",
                "created_by_id": str(ids["officers"][0]),
                "created_at": "now() - interval '400 days'",
                "updated_at": "now() - interval '400 days'",
            },
        )
        _insert_series(
            s,
            BidOpening.__table__,
            n,
            {
                "tender_id": "i",
                "opened_at": "now() - interval '400 days'",
                "bid_count": "3",
                "failed": "false",
                "record": "'[]'",
                "unconfirmed_count": "0",
            },
        )
        _insert_series(
            s,
            Qualification.__table__,
            3 * n,
            {
                "bid_id": "i",
                "tender_id": f"CASE WHEN i <= {n} THEN i ELSE 1 + (i - {n} - 1) / 2 END",
                "passed": "i <= " + str(n) + " OR i % 7 <> 0",
                "reason": "''",
                "decided_at": "now() - interval '399 days'",
                "decided_by_id": str(ids["officers"][0]),
            },
        )
        s.execute(sa.text("SELECT setval(pg_get_serial_sequence('bids', 'id'), (SELECT max(id) FROM bids))"))
        s.commit()
        s.remove()
        db.engine.dispose()


def _reset(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in ("red_flags", "red_flag_watermarks", "job_runs", "job_locks"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("VACUUM ANALYZE red_flags, red_flag_watermarks")


def _reference(dsn: str) -> float:
    import psycopg

    with psycopg.connect(dsn) as conn:
        start = time.perf_counter()
        for table in TABLES:
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return time.perf_counter() - start


def _job(url: str, name: str) -> dict:
    env = server_env(url)
    out = subprocess.run(
        [sys.executable, "-m", "bench.redflags", "--child", name],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _child(name: str) -> None:
    from marketplace import create_app
    from marketplace.jobs import scheduler
    from marketplace.jobs.runner import run_job

    app = create_app()
    with app.app_context():
        scheduler.prepare()
        start = time.perf_counter()
        run = run_job(name)
        seconds = time.perf_counter() - start
        print(json.dumps({"seconds": seconds, "status": run.status, "error": (run.error or "")[-1500:]}))


def _count(dsn: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchone()[0]


def _touch(dsn: str, k: int) -> None:
    import psycopg

    # The loader dates some delivery rows up to a few weeks ahead of today: the watermarks are moved past
    # them (as if the last run had been then), and the touched tenders written after that.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE red_flag_watermarks SET computed_through = now() + interval '90 days'")
        conn.execute("UPDATE tenders SET updated_at = now() + interval '91 days' WHERE id <= %s", (k,))


def measure(url: str, processes: int) -> RedFlagCase:
    dsn = pg_dsn(url)
    _reset(dsn)
    reference = min(_reference(dsn) for _ in range(3))
    full = _job(url, "red-flags-full")
    if full["status"] != "ok":
        raise RuntimeError(f"red-flags-full ended {full['status']}: {full['error']}")
    flags = _count(dsn, "SELECT count(*) FROM red_flags WHERE cleared_at IS NULL")
    _touch(dsn, 100)
    incremental = _job(url, "red-flags")
    case = RedFlagCase(processes, full["seconds"], reference, incremental["seconds"], flags, full["status"])
    print(
        f"[redflags] {processes:,} processes: full {case.seconds:.1f} s vs count(*) pass "
        f"{case.reference_seconds:.2f} s (×{case.ratio:.0f}); incremental after 100 changes "
        f"{case.incremental_seconds:.1f} s; {flags:,} flags",
        file=sys.stderr,
    )
    return case


def report(case: RedFlagCase) -> tuple[str, str]:
    intro = (
        '`make bench` (bench/redflags.py, issue 22) on PostgreSQL: `run_job("red-flags-full")` in a fresh '
        "process (every indicator, each committed on its own) over the contracts data set plus two losing bids, "
        "the opening and the qualification per process, against a bare `SELECT count(*)` of every table the "
        'indicators read, in the same run; then `run_job("red-flags")` after 100 processes changed. Goal: '
        f"the full computation under {GOAL_SECONDS // 60} minutes."
    )
    lines = [
        "| processes | full s | `count(*)` pass s | ratio | incremental s (100 changed) | flags | goal met |",
        "|---:|---:|---:|---:|---:|---:|---|",
        f"| {case.processes:,} | {case.seconds:.1f} | {case.reference_seconds:.2f} | ×{case.ratio:.0f} | "
        f"{case.incremental_seconds:.1f} | {case.flags:,} | {'yes' if case.met() else 'NO'} |",
    ]
    return intro, "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2])
    else:
        raise SystemExit("run through `python -m bench` (make bench)")
