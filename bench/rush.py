"""``make bench-rush``: the deadline rush, over HTTP, on the production serving setup.

200 organizations submit their saved bids during the last second before a tender's deadline and 20
more during the second after it, against gunicorn (deploy/gunicorn.conf.py: threaded workers) on
PostgreSQL. Prints accepted, refused, lost and duplicated counts and the latency percentiles, and
with ``--write`` puts them in docs/benchmarks.md. A hello-world route on the same server is measured
in the same run as the reference.

Goal (docs/bidding.md): 200 of 200 accepted before the deadline, 20 of 20 refused after it, 0 lost,
0 duplicated, p99 under 2 s. A benchmark, not a test: the machine is a noisy 2-core box.

Environment: ``BENCH_DATABASE_URL`` (a PostgreSQL server URL; the database ``marketplace_rush`` is
dropped and created on it), ``RUSH_BEFORE`` (200), ``RUSH_AFTER`` (20), ``RUSH_PORT`` (8765).
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import requests
import sqlalchemy as sa

from bench.report import fresh_pg_database
from bench.server import wrapping_key

ROOT = Path(__file__).resolve().parent.parent
BEFORE = int(os.environ.get("RUSH_BEFORE", "200"))
AFTER = int(os.environ.get("RUSH_AFTER", "20"))
PORT = int(os.environ.get("RUSH_PORT", "8765"))
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DB_NAME = "marketplace_rush"
MARGIN = 0.05  # seconds on either side of the deadline where no request is scheduled (see _fire)
_WRAPPING_KEY = wrapping_key()  # one for the set-up and the server: production needs one (docs/bidding.md)
LEAD_SECONDS = 25  # from the end of the set-up to the deadline: logins and page loads happen before it


def _database_url() -> str:
    return fresh_pg_database(SERVER, DB_NAME)


def _env(url: str) -> dict:
    env = dict(os.environ)
    env.setdefault("BID_KEY_WRAPPING_KEYS", _WRAPPING_KEY)
    env.setdefault("AUDIT_CHAIN_KEY", "rush-bench-audit-chain-key")
    env.update(
        DATABASE_URL=url,
        SECRET_KEY="rush-bench-secret-key",
        MARKETPLACE_ENV="production",
        RATELIMIT_ENABLED="0",
        SCHEDULER_ENABLED="0",
        # Production's other settings (marketplace/config.py, check_deployment): no mail sent; no Redis
        # required, so the bench keeps measuring the processes as before (per-process caches, tasks
        # inline) unless REDIS_URL is in the environment.
        MAIL_SUPPRESS_SEND="1",
        REQUIRE_REDIS="0",
        LOG_LEVEL="WARNING",
        PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
        SESSION_COOKIE_SECURE="0",
        GUNICORN_ACCESS_LOG="/dev/null",
    )
    return env


def _setup(url: str, n_orgs: int) -> dict:
    """A published tender and ``n_orgs`` verified organizations, each with a saved (unsubmitted) bid."""
    os.environ.update(_env(url))
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.tenders.bids.submission import save_draft
    from tests import bid_factories as bf
    from tests import factories

    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
        world = factories.world()
        tender = factories.published(world["officer"])
        members = []
        for i in range(n_orgs):
            org, member = bf.organization(f"抢点提交机构{i:03d}", member_email=f"rush{i:03d}@bench.org")
            save_draft(tender, org, bf.bid_input(tender, price=f"{250000 + i}.00"), member)
            members.append(member.email)
        db.session.commit()
        return {"tender_id": tender.id, "members": members, "password": factories.PASSWORD}


def _set_deadline(url: str, tender_id: int, deadline: datetime) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE tenders SET bid_deadline = :d WHERE id = :i"), {"d": deadline, "i": tender_id}
        )
    engine.dispose()


def _start_server(url: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "-c",
            str(ROOT / "deploy/gunicorn.conf.py"),
            "-b",
            f"127.0.0.1:{PORT}",
            "marketplace:create_app()",
        ],
        cwd=ROOT,
        env=_env(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    for _ in range(200):
        try:
            if requests.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("gunicorn did not start: " + proc.stderr.read().decode()[-2000:])


def _token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _session(email: str, password: str, tender_id: int) -> tuple[requests.Session, str, str]:
    """A signed-in organization member who has the bid page open: its session, the page's CSRF token
    and the URL of its "Submit the saved version" form."""
    s = requests.Session()
    base = f"http://127.0.0.1:{PORT}"
    token = _token(s.get(f"{base}/auth/login").text)
    r = s.post(f"{base}/auth/login", data={"email": email, "password": password, "csrf_token": token})
    assert r.status_code == 200 and "/auth/logout" in r.text, (email, r.status_code)
    page = s.get(f"{base}/bids/tender/{tender_id}").text
    action = re.search(r'action="(/bids/\d+/submit)"', page).group(1)
    return s, _token(page), base + action


def _raw_request(session: requests.Session, token: str, action: str) -> bytes:
    """The submission as bytes, ready to be written to a socket at its moment."""
    path = action.split(str(PORT), 1)[1]
    body = urlencode({"csrf_token": token}).encode()
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nCookie: {cookies}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _fire(sessions, deadline: float, before: int, after: int) -> list[dict]:
    """Each organization submits at its own moment: ``before`` spread over the last second before the
    deadline, ``after`` over the second after it.

    One client thread does it all with non-blocking sockets connected in advance: at each moment it
    writes one prepared request, and between moments it reads the responses. (A thread per request,
    as a first version did, woke up to 0.4 s late on these two cores, competing with the server: its
    requests meant for the last milliseconds were really sent after the deadline.) Even this one thread
    wakes up to ~30 ms late while the server takes the burst, so the ``MARGIN`` (50 ms) on either
    side of the deadline is left out of the schedule. Each result is classed by when its request was
    really written."""
    moments = [deadline - 1 + (i + 0.5) * (1 - MARGIN) / before for i in range(before)]
    moments += [deadline + MARGIN + (j + 0.5) * (1 - MARGIN) / after for j in range(after)]
    raw = [_raw_request(*sessions[i]) for i in range(len(moments))]
    selector = selectors.DefaultSelector()
    conns = []
    for _ in moments:
        sock = socket.create_connection(("127.0.0.1", PORT))
        sock.setblocking(False)
        conns.append(sock)
    results: list[dict] = [{} for _ in moments]
    buffers = [bytearray() for _ in moments]
    pending = 0

    def read_ready(timeout: float) -> int:
        done = 0
        for key, _mask in selector.select(timeout):
            i = key.data
            chunk = b""
            try:
                chunk = conns[i].recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if chunk:
                buffers[i].extend(chunk)
                continue
            selector.unregister(conns[i])  # the server closed the connection: the response is complete
            conns[i].close()
            results[i]["latency"] = time.time() - results[i]["sent"]
            head = bytes(buffers[i]).split(b"\r\n\r\n", 1)[0].decode("latin-1")
            lines = head.split("\r\n")
            status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
            location = next(
                (ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("location:")), ""
            )
            results[i].update(
                status=status,
                accepted=status == 302 and "/receipt" in location,
                # A refusal sends the bidder back to the bid page, where the reason is shown.
                refused=status == 302 and "/bids/tender/" in location,
            )
            done += 1
        return done

    for i, moment in enumerate(moments):
        while (wait := moment - time.time()) > 0:
            pending -= read_ready(min(wait, 0.002) if pending else wait)
        sent = time.time()
        conns[i].sendall(raw[i])  # a few hundred bytes: the socket buffer takes them at once
        results[i].update(
            sent=sent, before=sent < deadline, meant_before=moment < deadline, lag=sent - moment
        )
        selector.register(conns[i], selectors.EVENT_READ, i)
        pending += 1
    stop = time.time() + 120
    while pending and time.time() < stop:
        pending -= read_ready(1.0)
    for i, r in enumerate(results):
        if "status" not in r:  # no complete response within two minutes
            r.update(status=0, accepted=False, refused=False, latency=time.time() - r["sent"])
            conns[i].close()
    return results


def _stored(url: str, tender_id: int, deadline: datetime) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT b.organization_id, s.submitted_at FROM bid_submissions s JOIN bids b ON b.id = s.bid_id "
                "WHERE b.tender_id = :t"
            ),
            {"t": tender_id},
        ).all()
    engine.dispose()
    per_org: dict[int, int] = {}
    for org_id, _at in rows:
        per_org[org_id] = per_org.get(org_id, 0) + 1
    return {
        "submissions": len(rows),
        "late": sum(1 for _o, at in rows if at >= deadline),
        "duplicated": sum(n - 1 for n in per_org.values() if n > 1),
    }


def _reference_burst(n: int) -> list[float]:
    """The reference: ``n`` GETs of /healthz (a route that runs ``SELECT 1``) spread over one second,
    one thread and connection each, like the rush. Their latencies."""
    url = f"http://127.0.0.1:{PORT}/healthz"
    start = time.time() + 1
    latencies: list[float] = []

    def one(i: int):
        s = requests.Session()
        delay = start + (i + 0.5) / n - time.time()
        if delay > 0:
            time.sleep(delay)
        sent = time.time()
        try:
            s.get(url, timeout=60)
        finally:
            latencies.append(time.time() - sent)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return latencies


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def run() -> dict:
    url = _database_url()
    scene = _setup(url, BEFORE + AFTER)
    proc = _start_server(url)
    try:
        sessions = [_session(email, scene["password"], scene["tender_id"]) for email in scene["members"]]
        deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=LEAD_SECONDS)
        _set_deadline(url, scene["tender_id"], deadline)
        reference = _reference_burst(BEFORE + AFTER)
        wait = deadline.timestamp() - 3 - time.time()
        if wait > 0:
            time.sleep(wait)
        results = _fire(sessions, deadline.timestamp(), BEFORE, AFTER)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    stored = _stored(url, scene["tender_id"], deadline)
    print(
        f"sent late by the client (meant before the deadline, sent after it): "
        f"{sum(r['meant_before'] and not r['before'] for r in results)}; "
        f"largest client lag: {max(r['lag'] for r in results) * 1000:.0f} ms; refused although sent "
        f"before the deadline, ms before it: "
        f"{[round((deadline.timestamp() - r['sent']) * 1000, 1) for r in results if r['before'] and not r['accepted']]}",
        file=sys.stderr,
    )
    before = [r for r in results if r["before"]]
    after = [r for r in results if not r["before"]]
    accepted = sum(r["accepted"] for r in results)
    latencies = [r["latency"] for r in results]
    return {
        "accepted_before": sum(r["accepted"] for r in before),
        "before": len(before),
        "refused_after": sum(r["refused"] for r in after),
        "after": len(after),
        "errors": sum(r["status"] == 0 or r["status"] >= 500 for r in results),
        "lost": max(0, accepted - stored["submissions"]),
        "late_stored": stored["late"],
        "duplicated": stored["duplicated"],
        "p50": statistics.median(latencies),
        "p99": _percentile(latencies, 0.99),
        "ref_p50": statistics.median(reference),
        "ref_p99": _percentile(reference, 0.99),
    }


def report(r: dict) -> str:
    ok = (
        r["accepted_before"] == r["before"]
        and r["refused_after"] == r["after"]
        and r["lost"] == 0
        and r["duplicated"] == 0
        and r["late_stored"] == 0
        and r["p99"] < 2
    )
    return (
        f"| {r['accepted_before']} / {r['before']} | {r['refused_after']} / {r['after']} | {r['lost']} | "
        f"{r['duplicated']} | {r['late_stored']} | {r['errors']} | {r['p50'] * 1000:.0f} ms | "
        f"{r['p99'] * 1000:.0f} ms | {r['ref_p50'] * 1000:.0f} ms / {r['ref_p99'] * 1000:.0f} ms | "
        f"×{r['p99'] / r['ref_p99']:.1f} | {'yes' if ok else 'no'} |"
    )


HEADER = (
    "| accepted before | refused after | lost | duplicated | stored late | errors | p50 | p99 "
    "| reference p50 / p99 | p99 ratio | goal met |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    r = run()
    line = report(r)
    print(HEADER)
    print(line)
    if "--write" in sys.argv:
        from bench.report import write_section

        write_section(
            "Deadline rush",
            f"`make bench-rush` (bench/rush.py), {datetime.now(UTC):%Y-%m-%d}, gunicorn "
            "(deploy/gunicorn.conf.py: 2 threaded workers × 16 threads, each request stamped with the "
            "kernel's arrival time, marketplace/serving.py) on PostgreSQL, this 2-core machine, client "
            f"included. {BEFORE} organizations submit their saved bids during the last second before the "
            f"deadline and {AFTER} during the second after it, each on its own connection and session, "
            f"from one client thread that writes each prepared request at its moment (none in the "
            f"{MARGIN * 1000:.0f} ms on either side of the deadline, where the client's own lag could "
            "carry a request across it; each is classed by when it was really sent). The reference is "
            f"the same burst ({BEFORE + AFTER} requests in one second) of GET /healthz (one SELECT 1) on "
            "the same server in the same run.\n\n"
            "Before issue 13, with 2 sync workers and the deadline checked when a worker got round to "
            "the request, 3 to 8 of 200 were accepted (p50 3.7 to 4.2 s, p99 6.3 to 7.0 s). Along the way: "
            "with threaded workers and the application's own stamp, 96 of 200 (the requests waited in "
            "the workers' queues before the application saw them); with the worker's clock read when "
            "the connection became readable, 187 to 196 (that read lagged up to 50 ms behind the "
            "arrival); with the kernel's receive timestamp, 200 of 200.",
            HEADER + "\n" + line,
        )


if __name__ == "__main__":
    main()
