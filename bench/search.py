"""Tender search over HTTP at 10,000, 50,000 and 100,000 tenders (issue 16, goal 1).

gunicorn as production runs it (deploy/gunicorn.conf.py: 2 threaded workers) serves ``bench.wsgi``
(the marketplace plus ``GET /bench/hello``) on PostgreSQL. For each catalogue size, ``bench.load``
keeps ``CONCURRENCY`` (8) keep-alive connections busy for ``SEARCH_SECONDS`` per case (after a
warm-up) and counts requests per second and the latency percentiles; the hello-world route on the same
server, in the same run, is the reference. The catalogue grows in place (10,000, then 40,000 more,
then 50,000 more: each tender is drawn on its own, see ``bench.loaders.tender_rows``).

Every case is measured twice, on two servers: **cached** (the anonymous page cache on, as deployed,
``SEARCH_CACHE_SECONDS=30``: the same URL over and over, so nearly every request is a cache hit) and
**uncached** (``SEARCH_CACHE_SECONDS=0``: every request renders its page, as a cache miss does), each
against the hello-world route of its own server.

Goal, at the largest size: every search case at 35 % or more of the hello-world throughput, with a
p99 under 100 ms, and no errors, both cached and uncached (a cached figure alone says nothing about
the search). Every case must find tenders (checked before it is measured).

A small SQLite figure (the Flask test client, median of 15 requests, no server) is kept for
comparison with earlier runs.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
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
CACHE_SECONDS = 30  # SEARCH_CACHE_SECONDS of the cached server (the default)
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
    cached: bool = True  # served with the page cache on (the same URL again and again: warm hits)


@contextmanager
def _environment(**values: str):
    """``os.environ`` with ``values`` for the block (the bench server's environment is a copy of it)."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


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
        # Twice: the page cache on (as deployed: every request of a case asks the same URL, so all
        # but the first of each worker are cache hits), then off (SEARCH_CACHE_SECONDS=0: every
        # request renders its page, as a cache miss does). Each against its own server's hello-world.
        for cached in (True, False):
            with (
                _environment(
                    SEARCH_CACHE_SECONDS=str(CACHE_SECONDS if cached else 0),
                    # Nothing kept from another size or run (a shared Redis, when REDIS_URL is set).
                    CACHE_KEY_PREFIX=f"bench-search-{size}-{time.time_ns()}:",
                ),
                gunicorn(url) as server,
            ):
                cases += _measure(server, dsn, size, cached)
                restarts = server.worker_restarts()
                if cached and on_first_server is not None and size == scale.SEARCH_SIZES[0]:
                    on_first_server(server.base)
            print(f"[search] {size:,}: {restarts} worker restarts (max_requests)", file=sys.stderr)
        results[size] = cases
    return results


def _measure(server, dsn: str, size: int, cached: bool) -> list[Case]:
    cases = []
    which = "cached" if cached else "uncached"
    for name, path, params in [HELLO, *SEARCHES, *EXTRA]:
        target = url_of(path, params)
        problem = _problem(server.base, path, params)
        if problem:
            print(f"[search] {size:,} {name} ({which}): {problem}", file=sys.stderr)
        result = load.run(
            server.base, target, scale.SEARCH_SECONDS, scale.CONCURRENCY, scale.SEARCH_WARMUP_SECONDS
        )
        is_search = (name, path, params) in SEARCHES
        cases.append(Case(name, target, _matches(dsn, params), result, is_search, problem, cached))
        print(
            f"[search] {size:,} {name} ({which}): {result.rps:.0f} req/s, p50 {result.p50:.1f} ms, "
            f"p99 {result.p99:.1f} ms, {result.errors} errors, client CPU {result.client_cpu:.2f}",
            file=sys.stderr,
        )
    return cases


def met(case: Case, hello: Case) -> bool:
    r = case.result
    fast = r.rps >= GOAL_SHARE * hello.result.rps and r.p99 < GOAL_P99_MS
    return fast and r.errors == 0 and r.requests > 0 and not case.problem


def served(cases: list[Case], cached: bool) -> tuple[Case, list[Case]]:
    """The hello-world reference and the cases measured on the server with the cache on (off)."""
    mine = [c for c in cases if c.cached == cached]
    return mine[0], mine[1:]


def goal_met(results: dict[int, list[Case]]) -> bool:
    """Met only when every search is fast enough both from the cache and on a cache miss: a figure
    served from the cache alone does not say how the search itself performs."""
    cases = results[max(results)]
    return all(
        met(c, hello)
        for cached in (True, False)
        for hello, rest in [served(cases, cached)]
        for c in rest
        if c.is_search
    )


def worst(results: dict[int, list[Case]], cached: bool) -> tuple[Case, Case, Case]:
    """At the largest size: the hello-world, the slowest search (req/s) and the one with the worst p99."""
    hello, rest = served(results[max(results)], cached)
    searches = [c for c in rest if c.is_search]
    return hello, min(searches, key=lambda c: c.result.rps), max(searches, key=lambda c: c.result.p99)


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
        "tenders holding the words (ILIKE, whatever index the search uses). Each case runs on two "
        "servers: **cached**, the anonymous page cache on as deployed (SEARCH_CACHE_SECONDS="
        f"{CACHE_SECONDS}, in-process SimpleCache as no REDIS_URL is set; the case asks the same URL "
        "over and over, so all but the first request of each worker are **cache hits**), and "
        "**uncached**, the cache off (SEARCH_CACHE_SECONDS=0): every request renders its page, which "
        "is what **a cache miss** (a query nobody asked in the last seconds) costs. Each is compared "
        "with the hello-world route of its own server. Goal: each search at "
        f"≥ {GOAL_SHARE:.0%} of the hello-world throughput and p99 < {GOAL_P99_MS:.0f} ms, no errors, "
        "counted as met only when both the cached and the uncached figures meet it. The machine is "
        "shared (2 cores, other work running): figures vary between runs."
    )
    cases = results[goal]
    lines = [
        f"At {goal:,} tenders (cache hits | cache misses):",
        "",
        "| case | matches | cached req/s | share | p50 ms | p99 ms | uncached req/s | share | p50 ms "
        "| p99 ms | errors | goal met (cached / uncached) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    (hello_on, on), (hello_off, off) = served(cases, True), served(cases, False)
    for c_on, c_off in zip([hello_on, *on], [hello_off, *off], strict=True):

        def cells(c: Case, hello: Case) -> str:
            r = c.result
            share = r.rps / hello.result.rps if hello.result.rps else 0
            return f"{r.rps:.0f} | {share:.0%} | {r.p50:.1f} | {r.p99:.1f}"

        if c_on.is_search:
            ok = " / ".join("yes" if met(c, h) else "NO" for c, h in ((c_on, hello_on), (c_off, hello_off)))
        else:
            ok = "—"
        problems = "; ".join(p for p in (c_on.problem, c_off.problem) if p)
        if problems:
            ok += f" ({problems})"
        matches = f"{c_on.matches:,}" if c_on.matches is not None else "—"
        errors = c_on.result.errors + c_off.result.errors
        lines.append(
            f"| {c_on.name} | {matches} | {cells(c_on, hello_on)} | {cells(c_off, hello_off)} | {errors} | {ok} |"
        )
    if len(sizes) > 1:
        head = (
            " | ".join(f"req/s at {s:,}" for s in sizes)
            + " | "
            + " | ".join(f"p99 ms at {s:,}" for s in sizes)
        )
        lines += [
            "",
            "How the cost grows with the catalogue, uncached (cache misses; same server and client, each size "
            "in the same run):",
            "",
            f"| case | {head} |",
            "|---|" + "---:|" * (2 * len(sizes)),
        ]
        for k in range(len(on) + 1):
            per_size = [([served(results[s], False)[0], *served(results[s], False)[1]])[k] for s in sizes]
            rps = " | ".join(f"{c.result.rps:.0f}" for c in per_size)
            p99 = " | ".join(f"{c.result.p99:.1f}" for c in per_size)
            lines.append(f"| {per_size[0].name} | {rps} | {p99} |")
    if sqlite:
        lines += [
            "",
            f"SQLite, {scale.SQLITE_TENDERS:,} tenders, Flask test client (no server, one request at a time, "
            "no page cache), median of 15:",
            "",
            "| case | median ms |",
            "|---|---:|",
        ]
        lines += [f"| {name} | {ms:.1f} |" for name, ms in sqlite]
    return intro, "\n".join(lines)
