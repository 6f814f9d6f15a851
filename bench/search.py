"""Tender search over HTTP at 10,000, 50,000 and 100,000 tenders (issue 16, goal 1).

gunicorn as production runs it (deploy/gunicorn.conf.py: 2 threaded workers) serves ``bench.wsgi``
(the marketplace plus ``GET /bench/hello``) on PostgreSQL. For each catalogue size, ``bench.load``
keeps ``CONCURRENCY`` (8) keep-alive connections busy for ``SEARCH_SECONDS`` per case (after a
warm-up) and counts requests per second and the latency percentiles; the hello-world route on the same
server, in the same run, is the reference. The catalogue grows in place (10,000, then 40,000 more,
then 50,000 more: each tender is drawn on its own, see ``bench.loaders.tender_rows``).

Goal, at the largest size: every search case at 35 % or more of the hello-world throughput, with a
p99 under 100 ms, and no errors. Every case must find tenders (checked before it is measured).

A small SQLite figure (the Flask test client, median of 15 requests, no server) is kept for
comparison with earlier runs.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests

from bench import load, loaders, scale
from bench.report import fresh_pg_database
from bench.server import gunicorn

DB_NAME = "marketplace_bench_search"
GOAL_SHARE = 0.35
GOAL_P99_MS = 100.0
HELLO = ("hello-world (reference)", "/bench/hello", {})
SEARCHES = [
    ("q=助 (1 character)", "/tenders", {"q": "助"}),
    ("q=助餐 (2 characters)", "/tenders", {"q": "助餐"}),
    ("q=居家养老 (4 characters)", "/tenders", {"q": "居家养老"}),
    ("q=rehabilitation (English word)", "/tenders", {"q": "rehabilitation"}),
    ("q=助餐 & category=elderly_care", "/tenders", {"q": "助餐", "category": "elderly_care"}),
    ("street 110101003 & status=open", "/tenders", {"district": "110101003", "status": "open"}),
]
EXTRA = [("home page (open tenders, not a goal)", "/", {})]
RESULT_LINK = re.compile(rb'href="/tenders/\d+"')


def url_of(path: str, params: dict) -> str:
    return path + ("?" + "&".join(f"{k}={quote(v)}" for k, v in params.items()) if params else "")


@dataclass
class Case:
    name: str
    url: str
    matches: int | None
    result: load.Result
    is_search: bool
    problem: str = ""  # found before measuring (see _problem): the case then fails its goal


def _matches(dsn: str, params: dict) -> int | None:
    """How many public tenders hold every word of ``q`` (a substring of the title, description or
    reference) in the category: what a search must find, whatever index it uses."""
    if "q" not in params:
        return None
    import psycopg

    where, args = ["status <> 'draft'"], []
    for word in params["q"].split():
        where.append("(title ILIKE %s OR description ILIKE %s OR reference ILIKE %s)")
        args += [f"%{word}%"] * 3
    if params.get("category"):
        where.append("category = %s")
        args.append(params["category"])
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT count(*) FROM tenders WHERE {' AND '.join(where)}", args).fetchone()[0]


def _problem(base: str, path: str, params: dict) -> str:
    """What is wrong with the page before it is measured: "" when it answers 200 and, for a search
    that should find tenders, lists some."""
    r = requests.get(base + url_of(path, params), headers=load.HEADERS, timeout=120)
    if r.status_code != 200:
        return f"HTTP {r.status_code}"
    if path == "/tenders" and not RESULT_LINK.search(r.content):
        return "lists no tender"
    return ""


def run_postgres(server_url: str, on_first_server=None) -> dict[int, list[Case]]:
    """The cases at each size of ``scale.SEARCH_SIZES``. ``on_first_server(base)`` runs while the
    server of the first size is up (the static-asset bench uses it)."""
    url = fresh_pg_database(server_url, DB_NAME)
    dsn = loaders.pg_dsn(url)
    ids = loaders.prepare(url)
    loaded, results = 0, {}
    for size in scale.SEARCH_SIZES:
        t0 = time.perf_counter()
        loaders.load_tenders(url, loaded, size, ids)
        loaded = size
        print(f"[search] {size:,} tenders loaded ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        cases = []
        with gunicorn(url) as server:
            for name, path, params in [HELLO, *SEARCHES, *EXTRA]:
                target = url_of(path, params)
                problem = _problem(server.base, path, params)
                if problem:
                    print(f"[search] {size:,} {name}: {problem}", file=sys.stderr)
                result = load.run(
                    server.base, target, scale.SEARCH_SECONDS, scale.CONCURRENCY, scale.SEARCH_WARMUP_SECONDS
                )
                is_search = (name, path, params) in SEARCHES
                cases.append(Case(name, target, _matches(dsn, params), result, is_search, problem))
                print(
                    f"[search] {size:,} {name}: {result.rps:.0f} req/s, p50 {result.p50:.1f} ms, "
                    f"p99 {result.p99:.1f} ms, {result.errors} errors, client CPU {result.client_cpu:.2f}",
                    file=sys.stderr,
                )
            restarts = server.worker_restarts()
            if on_first_server is not None and size == scale.SEARCH_SIZES[0]:
                on_first_server(server.base)
        print(f"[search] {size:,}: {restarts} worker restarts (max_requests)", file=sys.stderr)
        results[size] = cases
    return results


def met(case: Case, hello: Case) -> bool:
    r = case.result
    fast = r.rps >= GOAL_SHARE * hello.result.rps and r.p99 < GOAL_P99_MS
    return fast and r.errors == 0 and r.requests > 0 and not case.problem


def goal_met(results: dict[int, list[Case]]) -> bool:
    cases = results[max(results)]
    return all(met(c, cases[0]) for c in cases if c.is_search)


def run_sqlite(n: int) -> list[tuple[str, float]]:
    """Medians (ms) of 15 requests per case through the Flask test client on SQLite."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'search.sqlite3'}"
        ids = loaders.prepare(url)
        loaders.load_tenders(url, 0, n, ids)
        app = loaders.bench_app(url)
        app.add_url_rule("/bench/hello", "bench_hello", lambda: "ok")
        client = app.test_client()
        out = []
        for name, path, params in [HELLO, *SEARCHES, *EXTRA]:
            target = url_of(path, params)
            client.get(target, headers=load.HEADERS)
            samples = []
            for _ in range(15):
                t0 = time.perf_counter()
                r = client.get(target, headers=load.HEADERS)
                samples.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"SQLite {name}: HTTP {r.status_code}")
            out.append((name, statistics.median(samples)))
        with app.app_context():
            from marketplace.extensions import db

            db.engine.dispose()
    return out


def report(results: dict[int, list[Case]], sqlite: list[tuple[str, float]] | None) -> tuple[str, str]:
    """The section's intro and tables."""
    sizes = sorted(results)
    goal = sizes[-1]
    cases = results[goal]
    hello = cases[0]
    intro = (
        f"`make bench` (bench/search.py, issue 16 goal 1): gunicorn as deployed (deploy/gunicorn.conf.py: "
        f"2 threaded workers; worker recycling off, which would slow the cheap reference most) serving "
        f"`bench.wsgi` on PostgreSQL; "
        f"{scale.CONCURRENCY} keep-alive connections (bench/load.py: one client process per core, threads, "
        f"`http.client`, browser-like headers with `Accept-Language: zh-CN`) for {scale.SEARCH_SECONDS:g} s "
        f"per case after a {scale.SEARCH_WARMUP_SECONDS:g} s warm-up, client on the same machine. The "
        f'reference is `GET /bench/hello` (returns "ok" through the same app) on the same server in the '
        f"same run. Catalogue: {goal:,} published tenders over ten years (bench/loaders.py: Chinese "
        f"titles and descriptions from word lists, 40 % with an English summary, {len(loaders.SERVICES)} "
        f"services in {len({c for c, _s, _e in loaders.SERVICES})} categories, 1 to 3 of the 17 streets "
        "served, statuses by deadline), loaded with COPY. *Matches*: public "
        "tenders holding the words (ILIKE, whatever index the search uses). Goal: each search at "
        f"≥ {GOAL_SHARE:.0%} of the hello-world throughput and p99 < {GOAL_P99_MS:.0f} ms, no errors."
    )
    lines = [
        f"At {goal:,} tenders:",
        "",
        "| case | matches | req/s | share of hello-world | p50 ms | p99 ms | errors | goal met |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for c in cases:
        r = c.result
        share = r.rps / hello.result.rps if hello.result.rps else 0
        ok = ("yes" if met(c, hello) else "NO") if c.is_search else "—"
        if c.problem:
            ok += f" ({c.problem})"
        matches = f"{c.matches:,}" if c.matches is not None else "—"
        lines.append(
            f"| {c.name} | {matches} | {r.rps:.0f} | {share:.0%} | {r.p50:.1f} | {r.p99:.1f} | {r.errors} | {ok} |"
        )
    if len(sizes) > 1:
        head = (
            " | ".join(f"req/s at {s:,}" for s in sizes)
            + " | "
            + " | ".join(f"p99 ms at {s:,}" for s in sizes)
        )
        lines += [
            "",
            "How the cost grows with the catalogue (same server and client, each size in the same run):",
            "",
            f"| case | {head} |",
            "|---|" + "---:|" * (2 * len(sizes)),
        ]
        for k, c in enumerate(cases):
            rps = " | ".join(f"{results[s][k].result.rps:.0f}" for s in sizes)
            p99 = " | ".join(f"{results[s][k].result.p99:.1f}" for s in sizes)
            lines.append(f"| {c.name} | {rps} | {p99} |")
    if sqlite:
        lines += [
            "",
            f"SQLite, {scale.SQLITE_TENDERS:,} tenders, Flask test client (no server, one request at a time), "
            "median of 15:",
            "",
            "| case | median ms |",
            "|---|---:|",
        ]
        lines += [f"| {name} | {ms:.1f} |" for name, ms in sqlite]
    return intro, "\n".join(lines)
