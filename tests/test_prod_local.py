"""`make prod-local` and `make prod-check` (docs/deployment.md, "On one machine"): the production topology of
deploy/Procfile on the local PostgreSQL and Redis, then stopped with nothing left running.

SLOW: about 50 s the first time (a fresh database is migrated and the demo loaded before the processes
start), about 40 s after (the database is kept, with its secrets in instance/prod-local-test/).
Skipped when PostgreSQL, Redis, honcho or make is absent. It uses its own database
(marketplace_prod_local_test), Redis database 12, free ports and a temporary folder, so it
never touches a `make prod-local` a developer has running.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

requests = pytest.importorskip("requests")

from tests.http_forms import filled, form_with, forms  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DB = "marketplace_prod_local_test"
JOB_FAST_INTERVAL = 2  # seconds: open-bids and finalize-awards tick this often during the test
LOGIN_LIMIT = 40  # sign-in attempts a minute from one address, shared by the workers through Redis
PGHOST, PGPORT, PGUSER = "127.0.0.1", 5432, "postgres"


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


pytestmark = [
    pytest.mark.skipif(not _reachable(PGPORT), reason="PostgreSQL is not running on 127.0.0.1:5432"),
    pytest.mark.skipif(not _reachable(6379), reason="Redis is not running on 127.0.0.1:6379"),
    pytest.mark.skipif(
        not (ROOT / ".venv/bin/honcho").exists() or not shutil.which("make") or not shutil.which("createdb"),
        reason="honcho (pip install -e '.[prod]'), make or the PostgreSQL client tools are missing",
    ),
]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_members(pgid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True, check=False)
    return [int(p) for p in found.stdout.split()]


@pytest.fixture
def prod_local(tmp_path):
    folder = tmp_path / "prod-local"
    port, mail_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "PROD_LOCAL_DIR": str(folder),
        "PROD_LOCAL_PORT": str(port),
        "PROD_LOCAL_MAIL_PORT": str(mail_port),
        "PROD_LOCAL_DB": DB,
        "PROD_LOCAL_REDIS_URL": "redis://127.0.0.1:6379/12",
        # Time is not moved in production: the test lets real time pass instead, so the jobs tick fast
        # and the bids open at their deadline (no grace), which the test sets a few seconds ahead.
        "JOB_FAST_INTERVAL": str(JOB_FAST_INTERVAL),
        "BID_OPENING_GRACE_SECONDS": "0",
        "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per minute",
    }
    # The database is kept from run to run with its secrets (the audit chain and the sealed demo bids are
    # bound to them): without the secrets, a fresh database.
    kept = ROOT / "instance" / "prod-local-test" / "secrets.env"
    folder.mkdir(parents=True)
    if kept.exists():
        shutil.copy(kept, folder / "secrets.env")
    else:
        subprocess.run(
            ["dropdb", "--if-exists", "-h", PGHOST, "-p", str(PGPORT), "-U", PGUSER, DB], check=True, env=env
        )
    # -o setup: the virtualenv is the one running this test; do not reinstall it from here.
    make = ["make", "--no-print-directory", "-o", "setup", "-C", str(ROOT)]
    started = subprocess.run(
        [*make, "prod-local"], env=env, capture_output=True, text=True, timeout=420, check=False
    )
    if (folder / "secrets.env").exists() and not kept.exists():
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / "secrets.env", kept)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield {"url": f"http://127.0.0.1:{port}", "folder": folder, "make": make, "env": env}
    finally:
        stopped = subprocess.run(
            [*make, "prod-check"], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        # What the test body did not assert about the stop (a failure above) is at least done.
        if (folder / "honcho.pid").exists():
            os.kill(int((folder / "honcho.pid").read_text()), signal.SIGKILL)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def _sign_in(session: requests.Session, url: str, email: str) -> requests.Response:
    form = session.get(f"{url}/auth/login", timeout=10)
    assert form.status_code == 200
    login = form_with(form.text, "email")
    return session.post(
        f"{url}/auth/login",
        data=filled(login, {"email": email, "password": "demo-password"}),
        timeout=20,
    )


def _signed_in(url: str, email: str) -> requests.Session:
    session = requests.Session()
    page = _sign_in(session, url, email)
    assert page.status_code == 200 and "/login" not in page.url, (email, page.status_code, page.url)
    return session


def _psql(sql: str) -> str:
    done = subprocess.run(
        ["psql", "-h", PGHOST, "-p", str(PGPORT), "-U", PGUSER, "-d", DB, "-tAc", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _log_records(folder: Path, process: str) -> list[dict]:
    """The JSON log lines one honcho process wrote (honcho prefixes each line with the time and name)."""
    records = []
    for line in (folder / "honcho.log").read_text(errors="replace").splitlines():
        head, _, body = line.partition(" | ")
        if head.split()[-1:] == [process] and body.startswith("{"):
            try:
                records.append(json.loads(body))
            except ValueError:
                pass
    return records


def _wait_for(what: str, check, timeout: float = 30.0, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(every)


def _publish(url: str, title: str) -> int:
    """The officer drafts a tender through the web form and publishes it; returns its id."""
    officer = _signed_in(url, "officer@example.org")
    form = form_with(officer.get(f"{url}/tenders/new", timeout=10).text, "title")
    values = {
        "title": title,
        "description": "每周两次上门探访和送餐，面向独居老人（生产拓扑冒烟测试）。",
        "budget_ceiling": "350000.00",
        "contact_name": "张老师",
        "contact_phone": "010-12345678",
    }
    for i, (name, weight) in enumerate([("服务方案", "30"), ("人员资质", "25"), ("以往业绩", "15")]):
        values |= {f"criteria-{i}-name": name, f"criteria-{i}-weight": weight}
        values[f"criteria-{i}-description"] = f"{name}的评审要点"
    preview = officer.post(f"{url}/tenders/new", data=filled(form, values), timeout=20)
    assert preview.status_code == 200 and preview.url.endswith("/preview"), preview.url
    publish = form_with(preview.text, "confirm_not_excluded")
    published = officer.post(
        f"{url}{publish['action']}", data=filled(publish, {"confirm_not_excluded": "y"}), timeout=20
    )
    found = re.search(r"/tenders/(\d+)$", published.url)
    assert published.status_code == 200 and found, published.url
    return int(found.group(1))


def _bid(url: str, email: str, tender_id: int, price: str) -> str:
    """An organization fills in the bid form and submits it; returns the receipt's URL."""
    org = _signed_in(url, email)
    form = form_with(org.get(f"{url}/bids/tender/{tender_id}", timeout=10).text, "price")
    values = {"price": price}
    for name in form["names"]:
        if name.startswith("response_"):
            values[name] = "每周两次上门探访，配备持证护理员和社会工作者。"
        elif name.startswith("decl_"):
            values[name] = "y"
    receipt = org.post(
        f"{url}/bids/tender/{tender_id}", data=filled(form, values, submit="submit_bid"), timeout=20
    )
    assert receipt.status_code == 200 and receipt.url.endswith("/receipt"), (email, receipt.url)
    return receipt.url


def _journey_publish_bid_open(url: str) -> None:
    """Login, publish, bid, open, over HTTP, with the scheduler process opening the bids."""
    title = f"生产拓扑冒烟测试 {time.time_ns()}"
    tender_id = _publish(url, title)
    bidders = ["org1@example.org", "org3@example.org", "org4@example.org"]  # verified, in elderly care
    for n, email in enumerate(bidders):
        _bid(url, email, tender_id, f"{300000 + 1000 * n}.00")
    # Time passes: the deadline, weeks away, is brought to a few seconds from now (bids came before it).
    _psql(f"UPDATE tenders SET bid_deadline = now() + interval '3 seconds' WHERE id = {tender_id}")
    ceremony = f"{url}/bids/opening/{tender_id}/ceremony"
    holders = _psql(
        "SELECT u.email FROM tender_key_shares s JOIN tender_keys k ON k.id = s.tender_key_id "
        f"JOIN users u ON u.id = s.user_id WHERE k.tender_id = {tender_id} ORDER BY s.position"
    ).split()
    threshold = int(_psql(f"SELECT threshold FROM tender_keys WHERE tender_id = {tender_id}"))
    assert len(holders) >= threshold >= 1
    for email in holders[:threshold]:
        holder = _signed_in(url, email)
        # The scheduler's open-bids job begins the opening ceremony at the deadline; then each holder's
        # share, with the demo passphrase, until enough of them open the bids.
        contribute = _wait_for(
            "the open-bids job to begin the ceremony",
            lambda s=holder: next(
                (f for f in forms(s.get(ceremony, timeout=10).text) if f["action"].endswith("/contribute")),
                None,
            ),
            timeout=40,
        )
        given = holder.post(
            f"{url}{contribute['action']}",
            data=filled(contribute, {"share-passphrase": "demo-opening-passphrase"}),
            timeout=30,
        )
        assert given.status_code == 200, given.status_code
    officer = _signed_in(url, "officer@example.org")
    record = officer.get(f"{url}/bids/opening/{tender_id}", timeout=10)
    assert record.status_code == 200
    for price in ("300,000.00", "301,000.00", "302,000.00"):
        assert price in record.text, f"{price} not on the opening record"
    assert _psql(f"SELECT count(*) FROM bids WHERE tender_id = {tender_id}") == "3"


def _jobs_ran_once_per_tick(since: str) -> None:
    """Every run row comes from the one scheduler process, none is "skipped", and a job's runs are an
    interval apart: each tick ran each job once, whatever the number of web workers."""
    query = (
        "SELECT job, status, host, extract(epoch FROM started_at) FROM job_runs "
        f"WHERE started_at >= '{since}' ORDER BY job, started_at"
    )
    # open-bids ticks every JOB_FAST_INTERVAL seconds: let it tick at least three times in the window.
    _wait_for(
        "three open-bids runs",
        lambda: sum(r.startswith("open-bids|") for r in _psql(query).splitlines()) >= 3,
        timeout=10 * JOB_FAST_INTERVAL,
    )
    rows = _psql(query).splitlines()
    runs = [row.split("|") for row in rows]
    assert runs, "no job ran during the test"
    assert not [r for r in runs if r[1] == "skipped"]
    holders = {r[2] for r in runs}
    assert len(holders) == 1, f"jobs ran in several processes: {holders}"
    by_job: dict[str, list[float]] = {}
    for job, _status, _host, started in runs:
        by_job.setdefault(job, []).append(float(started))
    assert len(by_job.get("open-bids", [])) >= 3, by_job.keys()
    # The intervals prod-local runs with (config.py defaults, the fast ones set by the fixture).
    intervals = {"open-bids": JOB_FAST_INTERVAL, "finalize-awards": JOB_FAST_INTERVAL, "seal-audit": 5}
    intervals |= {"publish-audit-head": 3600, "prune-operational": 86400}
    for job, times in by_job.items():
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        least = 0.75 * intervals.get(job, 600)
        assert all(gap >= least for gap in gaps), f"{job} ran more than once a tick: {gaps}"


def _login_limit_is_shared(url: str, folder: Path) -> None:
    """Failed sign-ins from one address, on fresh connections the two workers share between them: one
    Redis counter, so the remaining count falls by one each time whichever worker answers, then 429."""
    remaining, served_by = [], set()
    for n in range(LOGIN_LIMIT + 1):
        session = requests.Session()  # a new connection each time: either worker may take it
        form = form_with(session.get(f"{url}/auth/login", timeout=10).text, "email")
        answer = session.post(
            f"{url}/auth/login",
            data=filled(form, {"email": f"nobody{n}@example.invalid", "password": "not the password"}),
            timeout=10,
            headers={"Connection": "close"},
        )
        if answer.status_code == 429:
            break
        assert answer.status_code == 200, answer.status_code
        remaining.append(int(answer.headers["X-RateLimit-Remaining"]))
        served_by.add(answer.headers["X-Request-ID"])
    assert answer.status_code == 429, "the sign-in limit never answered 429"
    assert remaining == list(range(remaining[0], remaining[0] - len(remaining), -1)), remaining
    assert remaining[-1] == 0
    pids = {
        r.get("process")
        for r in _log_records(folder, "web.1")
        if r.get("request_id") in served_by and r.get("process")
    }
    assert len(pids) == 2, f"the attempts were not served by both workers: {pids}"


def _mail_goes_through_the_queue(url: str, folder: Path) -> None:
    """A password reset mail is queued by the web request and sent by the task worker."""
    session = requests.Session()
    page = session.get(f"{url}/auth/reset", timeout=10)
    assert page.status_code == 200
    form = form_with(page.text, "email")
    asked = session.post(
        f"{url}/auth/reset", data=filled(form, {"email": "officer2@example.org"}), timeout=10
    )
    assert asked.status_code in (200, 302)
    _wait_for(
        "the worker to deliver the reset mail",
        lambda: any(
            "notifications.deliver('officer2@example.org'" in r.get("message", "")
            and r["message"].startswith("Successfully completed")
            for r in _log_records(folder, "worker.1")
        ),
    )
    _wait_for(
        "the mail sink to receive it",
        lambda: "To: officer2@example.org" in (folder / "honcho.log").read_text(errors="replace"),
    )


def _ready(url: str) -> None:
    ready = requests.get(f"{url}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert {name: check["ok"] for name, check in checks.items()} == {
        "database": True,
        "redis": True,
        "migrations": True,
        "scheduler": True,
    }, checks


def test_prod_local_serves_the_topology_and_prod_check_stops_it_all(prod_local):
    url, folder = prod_local["url"], prod_local["folder"]
    since = _psql("SELECT now()")
    log = (folder / "honcho.log").read_text()
    started = {m.group(1): int(m.group(2)) for m in re.finditer(r"(\w+)\.1 started \(pid=(\d+)\)", log)}
    assert set(started) == {"web", "scheduler", "worker", "mailsink"}
    assert all(_alive(pid) for pid in started.values())

    health = requests.get(f"{url}/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    _wait_for("the scheduler's first heartbeat", lambda: requests.get(f"{url}/readyz", timeout=10).ok)
    _ready(url)

    # Two gunicorn workers under one master, in the web process's group.
    assert len(_group_members(started["web"])) >= 4  # sh, master, 2 workers

    session = requests.Session()
    signed_in = _sign_in(session, url, "officer@example.org")
    assert signed_in.status_code == 200, signed_in.status_code
    assert "/login" not in signed_in.url
    inbox = session.get(f"{url}/inbox", timeout=10, allow_redirects=False)
    assert inbox.status_code == 200
    assert 'name="csrf_token"' in inbox.text  # the signed-in page, not a redirect to the sign-in form

    _journey_publish_bid_open(url)
    _mail_goes_through_the_queue(url, folder)
    _jobs_ran_once_per_tick(since)
    _login_limit_is_shared(url, folder)

    stopped = subprocess.run(
        [*prod_local["make"], "prod-check"],
        env=prod_local["env"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "nothing left running" in stopped.stdout
    time.sleep(0.2)
    assert not (folder / "honcho.pid").exists()
    assert not any(_group_members(pgid) for pgid in started.values())
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/healthz", timeout=5)


def _commands(name: str) -> list[str]:
    text = (ROOT / "deploy" / name).read_text()
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_local_procfile_runs_the_production_procfile():
    """deploy/Procfile.local is deploy/Procfile plus the local mail sink: prod-local runs what is deployed."""
    deployed, local = _commands("Procfile"), _commands("Procfile.local")
    assert local[: len(deployed)] == deployed
    assert [line.split(":", 1)[0] for line in local[len(deployed) :]] == ["mailsink"]
