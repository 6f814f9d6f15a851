"""``make bench``: every issue-16 goal side by side with its reference, in one run, on PostgreSQL.

In the order they run:

- Goal 1, tender search over HTTP (bench/search.py): gunicorn as deployed, 8 keep-alive connections,
  at 10,000, 50,000 and 100,000 tenders, against a hello-world route on the same server. Goal: ≥ 35 %
  of its throughput and p99 < 100 ms. A SQLite figure (test client, no server) is kept.
- Goal 4, static assets (bench/assets.py), on the same server: the home page's cold transfer and the
  asset requests of a warm visit. Goal: < 120 KB and 0.
- Goal 2, CSV export (bench/exports.py) of 10,000 and 50,000 contracts through ``flask export
  contracts``, against ``psql \\copy`` of the same rows. Goal: ≤ 3 × the time, peak RSS < 150 MB.
- Goal 3, flag-overdue (bench/jobs.py) over 200,000 and 1,000,000 milestones (10,000 and 50,000
  overdue) against one set-based UPDATE of the same rows. Goal: ≤ 1.5 × the time, memory flat.
- Red flags (bench/redflags.py, issue 22): the full computation over 100,000 processes against a bare
  ``count(*)`` pass over the same tables. Goal: under 10 minutes.
- The older benches: one bid submission against its references (bench/submission.py) and the
  export memory case on SQLite (bench/export_memory.py).

A part that fails (the code measured changes under the bench) is reported and the others go on.
Each part writes its section of docs/benchmarks.md as soon as it is measured; a "Goals (issue 16)"
section sums them up. ``BENCH_SCALE=small`` runs everything small (under two minutes) and only
prints, unless ``BENCH_WRITE=1`` (``BENCH_WRITE=0`` keeps a full run from writing);
``BENCH_ONLY=search,assets,exports,jobs,redflags,submission,export_memory`` runs some parts only
(``BENCH_EXPORT=0`` still leaves out the export memory case). ``BENCH_DATABASE_URL`` names the
PostgreSQL server (default: postgres on 127.0.0.1:5432); databases named ``marketplace_bench_*``
are dropped and created on it. Data sets: bench/loaders.py. Sizes: bench/scale.py.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from bench import scale

PARTS = ("search", "assets", "exports", "jobs", "redflags", "submission", "export_memory")
CONTRACTS_DB = "marketplace_bench_contracts"
REDFLAGS_DB = "marketplace_bench_redflags"


def _parts() -> set[str]:
    only = {p.strip() for p in os.environ.get("BENCH_ONLY", "").split(",") if p.strip()}
    unknown = only - set(PARTS)
    if unknown:
        raise SystemExit(
            f"BENCH_ONLY: unknown part(s) {', '.join(sorted(unknown))}; parts: {', '.join(PARTS)}"
        )
    parts = only or set(PARTS)
    if os.environ.get("BENCH_EXPORT", "1") == "0":
        parts.discard("export_memory")
    return parts


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Run:
    pg: str
    version: str
    parts: set[str]
    goals: list[tuple[str, str, str, str, bool]] = field(
        default_factory=list
    )  # goal, measured, ref, target, met
    failed: list[str] = field(default_factory=list)  # parts that raised, or older benches that missed

    def write_section(self, title: str, intro: str, table: str, postgres: bool = True) -> None:
        if scale.WRITE:
            from bench.report import write_section

            write_section(
                title, f"{intro} Scale: `{scale.SCALE}`.", table, self.version if postgres else None
            )


def search_and_assets(run: Run) -> None:
    from bench import assets, loaders, search

    assets_report = []

    def measure_assets(base: str) -> None:
        if "assets" in run.parts:
            assets_report.append(assets.measure(base))

    if "search" in run.parts:
        results = search.run_postgres(run.pg, on_first_server=measure_assets)
        sqlite = None
        if scale.SQLITE_TENDERS:
            try:
                sqlite = search.run_sqlite(scale.SQLITE_TENDERS)
            except Exception:  # noqa: BLE001 - a side figure: the PostgreSQL one is reported anyway
                traceback.print_exc()
                run.failed.append("the SQLite search figure (error: see the output)")
        intro, table = search.report(results, sqlite)
        run.write_section("Tender search", intro, table)
        print(table)
        size = max(results)
        measured, refs, shares = [], [], []
        for cached, which in ((True, "cache hits"), (False, "cache misses (uncached)")):
            hello, slow, late = search.worst(results, cached)
            measured.append(
                f"{which}: {slow.result.rps:.0f} req/s ({slow.name}), p99 up to {late.result.p99:.0f} ms"
            )
            refs.append(f"hello-world {hello.result.rps:.0f} req/s")
            shares.append(f"×{slow.result.rps / hello.result.rps:.2f}" if hello.result.rps else "—")
        run.goals.append(
            (
                f"1. search at {size:,} tenders (worst case, cached and uncached)",
                "; ".join(measured),
                " / ".join(refs),
                f"≥ 35 % (now {' cached, '.join(shares)} uncached); p99 < 100 ms; both must meet it",
                search.goal_met(results),
            )
        )
    else:
        from bench.report import fresh_pg_database
        from bench.server import gunicorn

        url = fresh_pg_database(run.pg, search.DB_NAME)
        ids = loaders.prepare(url)
        loaders.load_tenders(url, 0, scale.SEARCH_SIZES[0], ids)
        with gunicorn(url) as server:
            measure_assets(server.base)
    if assets_report:
        r = assets_report[0]
        intro, table = assets.report(r)
        run.write_section("Static assets", intro, table)
        print(table)
        run.goals.append(
            (
                "4. static assets, home page",
                f"{r.cold_bytes / 1000:.1f} KB cold, {len(r.warm_requests)} warm request(s)",
                "—",
                f"< {assets.GOAL_COLD_KB} KB cold, 0 warm",
                r.met(),
            )
        )


def exports_and_jobs(run: Run) -> None:
    from bench import exports, jobs, loaders
    from bench.report import fresh_pg_database

    export_results, job_results, start = {}, [], None
    for size in scale.CONTRACT_SIZES:
        t0 = time.perf_counter()
        url = fresh_pg_database(run.pg, CONTRACTS_DB)
        ids = loaders.prepare(url)
        counts = loaders.load_contracts(url, size, ids, scale.MILESTONES_PER_CONTRACT)
        _say(
            f"[contracts] {size:,} contracts, {counts['milestones']:,} milestones loaded "
            f"({time.perf_counter() - t0:.1f} s)"
        )
        if "exports" in run.parts:
            if start is None:
                start = exports.startup(url)
            export_results[size] = exports.measure(url, size)
        if "jobs" in run.parts:
            job_results.append(jobs.measure(url, counts))
    if export_results:
        intro, table = exports.report(export_results, start)
        run.write_section("CSV export", intro, table)
        print(table)
        size = max(export_results)
        for c in export_results[size]:
            run.goals.append(
                (
                    f"2. CSV export ({c.kind}) of {size:,} contracts",
                    f"{c.seconds:.2f} s with start-up"
                    + (
                        f" ({start[0]:.2f} s of it: ×{c.ratio_without(start[0]):.1f} without)"
                        if start
                        else ""
                    )
                    + f", peak RSS {c.max_rss_mb:.0f} MB",
                    f"`\\copy` {c.reference_seconds:.2f} s",
                    f"≤ ×{exports.GOAL_RATIO:g} (×{c.ratio:.1f} now), < {exports.GOAL_RSS_MB:.0f} MB",
                    c.met(),
                )
            )
    if job_results:
        intro, table = jobs.report(job_results)
        run.write_section("Flag overdue", intro, table)
        print(table)
        c = job_results[-1]
        run.goals.append(
            (
                f"3. flag-overdue over {c.milestones:,} milestones ({c.overdue:,} overdue)",
                f"{c.seconds:.2f} s, peak RSS {c.rss_mb:.0f} MB (grown {c.growth_mb:.1f} MB)",
                f"`UPDATE` {c.reference_seconds:.2f} s",
                f"≤ ×{jobs.GOAL_RATIO:g} (×{c.ratio:.1f} now), memory flat",
                jobs.goal_met(job_results),
            )
        )


def red_flags(run: Run) -> None:
    from bench import loaders, redflags
    from bench.report import fresh_pg_database

    t0 = time.perf_counter()
    url = fresh_pg_database(run.pg, REDFLAGS_DB)
    ids = loaders.prepare(url)
    size = scale.REDFLAG_PROCESSES
    loaders.load_contracts(url, size, ids, scale.REDFLAG_MILESTONES)
    redflags.add_competition(url, size, ids)
    loaders.analyze(url)
    _say(f"[redflags] {size:,} processes loaded ({time.perf_counter() - t0:.1f} s)")
    case = redflags.measure(url, size)
    intro, table = redflags.report(case)
    run.write_section("Red flags", intro, table)
    print(table)
    run.goals.append(
        (
            f"5. red flags, full computation over {size:,} processes",
            f"{case.seconds:.1f} s ({case.flags:,} flags); incremental {case.incremental_seconds:.1f} s",
            f"`count(*)` pass {case.reference_seconds:.2f} s (×{case.ratio:.0f})",
            f"< {redflags.GOAL_SECONDS} s",
            case.met(),
        )
    )


def submission(run: Run) -> None:
    from bench import submission

    if not all(submission.met(r) for r in submission.main(run.pg, write=scale.WRITE)):
        run.failed.append("submission (target missed)")


def export_memory(run: Run) -> None:
    from bench import export_memory

    with tempfile.TemporaryDirectory() as tmp:
        exported = export_memory.run(f"sqlite:///{Path(tmp) / 'export.sqlite3'}", "SQLite")
    if not export_memory.flat(exported):
        run.failed.append("export_memory (not flat)")
    section = export_memory.lines(exported)  # "## Export memory", "", intro, "", table…
    run.write_section("Export memory", section[2], "\n".join(section[4:]), postgres=False)
    print("\n".join(section))


def _previous_goal_rows() -> list[str]:
    """The rows of the goals table now in docs/benchmarks.md (``| 1. search …``), kept for the goals a
    partial run (``BENCH_ONLY``) does not measure."""
    from bench.report import DOC

    if not DOC.exists():
        return []
    section = DOC.read_text("utf-8").split("## Goals (issue 16)", 1)
    if len(section) < 2:
        return []
    body = section[1].split("\n## ", 1)[0]
    return [line for line in body.splitlines() if line[:4].rstrip(".").lstrip("| ").isdigit()]


def main() -> int:
    scale.apply_to_older_benches()
    from bench.report import DEFAULT_PG, postgres_version

    parts = _parts()
    pg = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_PG
    version = postgres_version(pg)
    if not version:
        raise SystemExit(f"PostgreSQL is not reachable at {pg} (set BENCH_DATABASE_URL)")
    run = Run(pg, version, parts)
    _say(
        f"make bench: scale {scale.SCALE}, parts {', '.join(p for p in PARTS if p in parts)}, PostgreSQL {version}"
    )
    began = time.perf_counter()
    steps = [
        ({"search", "assets"}, "search and assets", search_and_assets),
        ({"exports", "jobs"}, "exports and flag-overdue", exports_and_jobs),
        ({"redflags"}, "red flags", red_flags),
        ({"submission"}, "bid submission", submission),
        ({"export_memory"}, "export memory", export_memory),
    ]
    for wanted, name, step in steps:
        if not wanted & parts:
            continue
        t0 = time.perf_counter()
        try:
            step(run)
        except Exception:  # noqa: BLE001 - the code measured changes under the bench: report, go on
            traceback.print_exc()
            run.failed.append(f"{name} (error: see the output)")
        _say(f"[{name}] {time.perf_counter() - t0:.0f} s")

    if run.goals or run.failed:
        rows = [f"| {g} | {m} | {r} | {t} | {'yes' if ok else 'NO'} |" for g, m, r, t, ok in run.goals]
        measured = {row.split(".", 1)[0] for row in rows}
        kept = [row for row in _previous_goal_rows() if row.split(".", 1)[0] not in measured]
        lines = ["| goal | measured | reference (same run) | target | met |", "|---|---|---|---|---|"]
        lines += sorted(rows + kept, key=lambda row: row.split(".", 1)[0])
        if kept:
            lines += [
                "",
                "Goals "
                + ", ".join(sorted({r.split(".", 1)[0][2:] for r in kept}))
                + " kept from an earlier run.",
            ]
        if run.failed:
            lines += ["", "Not measured or missed in this run: " + "; ".join(run.failed) + "."]
        run.write_section(
            "Goals (issue 16)",
            f"`make bench` ({time.perf_counter() - began:.0f} s): each goal against its reference measured in the "
            "same run; the sections below give every case.",
            "\n".join(lines),
        )
        print("\n".join(lines))
    _say(f"make bench: done in {time.perf_counter() - began:.0f} s")
    return 1 if run.failed or not all(ok for *_rest, ok in run.goals) else 0


if __name__ == "__main__":
    sys.exit(main())
