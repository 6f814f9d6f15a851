"""``make bench``: what one bid submission costs, side by side with its references, in one run.

- The service: ``submission.submit`` of a saved draft and its commit (the request's transaction edge),
  against a bare ``UPDATE bids … WHERE id = …`` and its commit on the same connection.
- The request: ``POST /bids/<id>/submit`` through the Flask test client (session, CSRF, the redirect),
  against ``GET /healthz`` (one ``SELECT 1``).

Statements are counted with an engine event. Targets (issue 13, docs/bidding.md): at most 8 SQL
statements and 20 ms of service time per submission. Medians of ``BENCH_SUBMISSIONS`` (100) each, on
SQLite and, with ``BENCH_DATABASE_URL``, on PostgreSQL (database ``marketplace_bench_submit``, dropped
and created).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench.report import fresh_pg_database, write_section

N = int(os.environ.get("BENCH_SUBMISSIONS", "100"))
DB_NAME = "marketplace_bench_submit"
TARGET_STATEMENTS = 8
TARGET_MS = 20.0


class _Counter:
    def __init__(self):
        self.n = 0

    def __call__(self, _conn, _cursor, statement, *_args):
        if statement.lstrip().split(None, 1)[0].upper() in {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}:
            self.n += 1


def run(url: str, label: str) -> dict:
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.auth.models import User
    from marketplace.extensions import db
    from marketplace.tenders.bids import submission
    from marketplace.tenders.bids.models import Bid
    from tests import bid_factories as bf
    from tests import factories

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        upgrade()
        world = factories.world()
        tender = factories.published(world["officer"])
        pairs = []
        for i in range(2 * N):
            org, member = bf.organization(f"基准机构{i:03d}")
            bid = submission.save_draft(tender, org, bf.bid_input(tender, price=f"{250000 + i}.00"), member)
            pairs.append((bid.id, bid.public_id, member.id))
        db.session.commit()
        counter = _Counter()
        sa.event.listen(db.engine, "before_cursor_execute", counter)

        service, reference, statements = [], [], []
        for bid_id, public_id, member_id in pairs[:N]:
            with app.test_request_context(f"/bids/{public_id}/submit", method="POST"):
                db.session.remove()
                bid, member = db.session.get(Bid, bid_id), db.session.get(User, member_id)
                bid.tender, member.organization  # noqa: B018 - loaded as the view would have them
                counter.n = 0
                start = time.perf_counter()
                submission.submit(bid, member)
                db.session.commit()
                service.append((time.perf_counter() - start) * 1000)
                statements.append(counter.n)
            start = time.perf_counter()
            db.session.execute(
                sa.text("UPDATE bids SET updated_at = updated_at WHERE id = :i"), {"i": bid_id}
            )
            db.session.commit()
            reference.append((time.perf_counter() - start) * 1000)

        engine = db.engine
    # The requests run outside any app context, as in a server: each gets its own (and its own g).
    client = app.test_client()
    request_ms, healthz_ms, request_statements = [], [], []
    for _bid_id, public_id, member_id in pairs[N:]:
        with client.session_transaction() as sess:
            sess.clear()
            sess["_user_id"] = str(member_id)
            sess["_fresh"] = True
        counter.n = 0
        start = time.perf_counter()
        r = client.post(f"/bids/{public_id}/submit")
        request_ms.append((time.perf_counter() - start) * 1000)
        request_statements.append(counter.n)
        assert r.status_code == 302 and "/receipt" in r.headers["Location"], (r.status_code, r.headers)
        start = time.perf_counter()
        client.get("/healthz")
        healthz_ms.append((time.perf_counter() - start) * 1000)
    sa.event.remove(engine, "before_cursor_execute", counter)
    with app.app_context():
        submitted = db.session.scalar(
            sa.select(sa.func.count()).select_from(Bid).where(Bid.status == "submitted")
        )
        assert submitted == 2 * N, submitted
        db.session.remove()
        db.engine.dispose()
    return {
        "label": label,
        "service": statistics.median(service),
        "reference": statistics.median(reference),
        "statements": max(statements),
        "request": statistics.median(request_ms),
        "healthz": statistics.median(healthz_ms),
        "request_statements": max(request_statements),
    }


HEADER = (
    "| database | submit (service + commit) | reference: bare UPDATE + commit | ratio | statements "
    "| POST /bids/<id>/submit | reference: GET /healthz | ratio | statements per request | met |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


def line(r: dict) -> str:
    ok = r["service"] <= TARGET_MS and r["request_statements"] <= TARGET_STATEMENTS
    return (
        f"| {r['label']} | {r['service']:.1f} ms | {r['reference']:.2f} ms | ×{r['service'] / r['reference']:.1f} "
        f"| {r['statements']} | {r['request']:.1f} ms | {r['healthz']:.1f} ms | ×{r['request'] / r['healthz']:.1f} "
        f"| {r['request_statements']} | {'yes' if ok else 'NO'} |"
    )


def met(r: dict) -> bool:
    return r["service"] <= TARGET_MS and r["request_statements"] <= TARGET_STATEMENTS


def main(pg_server: str | None, write: bool = True) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(run(f"sqlite:///{Path(tmp) / 'submit.sqlite3'}", "SQLite"))
    if pg_server:
        results.append(run(fresh_pg_database(pg_server, DB_NAME), "PostgreSQL"))

    if not write:
        for r in results:
            print(line(r))
        return results
    write_section(
        "Bid submission",
        f"`make bench` (bench/submission.py): the median of {N} submissions of a saved draft, each side by "
        "side with its reference in the same run. Targets: at most 8 SQL statements and 20 ms of service "
        "time per submission (docs/bidding.md).",
        HEADER + "\n" + "\n".join(line(r) for r in results),
    )
    for r in results:
        print(line(r))
    return results


if __name__ == "__main__":
    import sys

    rs = main(os.environ.get("BENCH_DATABASE_URL"))
    sys.exit(0 if all(met(r) for r in rs) else 1)
