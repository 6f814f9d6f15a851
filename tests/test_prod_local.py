"""`make prod-local` and `make prod-check` (docs/deployment.md, "On one machine"): the production topology of
deploy/Procfile on the local PostgreSQL and Redis, then stopped with nothing left running.

SLOW: about 50 s the first time (a fresh database is migrated and the demo loaded before the processes
start), about 40 s after (the database is kept, with its secrets in instance/prod-local-test/).
Skipped when PostgreSQL, Redis, honcho or make is absent. It uses its own database
(marketplace_prod_local_test), Redis database 12, free ports and a temporary folder, so it
never touches a `make prod-local` a developer has running.
"""

from __future__ import annotations

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

ROOT = Path(__file__).resolve().parent.parent
DB = "marketplace_prod_local_test"
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
        [*make, "prod-local"], env=env, capture_output=True, text=True, timeout=150, check=False
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
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text)
    assert token, "no CSRF token on the sign-in page"
    return session.post(
        f"{url}/auth/login",
        data={"csrf_token": token.group(1), "email": email, "password": "demo-password"},
        timeout=20,
    )


def test_prod_local_serves_the_topology_and_prod_check_stops_it_all(prod_local):
    url, folder = prod_local["url"], prod_local["folder"]
    log = (folder / "honcho.log").read_text()
    started = {m.group(1): int(m.group(2)) for m in re.finditer(r"(\w+)\.1 started \(pid=(\d+)\)", log)}
    assert set(started) == {"web", "scheduler", "worker", "mailsink"}
    assert all(_alive(pid) for pid in started.values())

    health = requests.get(f"{url}/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"

    # Two gunicorn workers under one master, in the web process's group.
    assert len(_group_members(started["web"])) >= 4  # sh, master, 2 workers

    session = requests.Session()
    signed_in = _sign_in(session, url, "officer@example.org")
    assert signed_in.status_code == 200, signed_in.status_code
    assert "/login" not in signed_in.url
    inbox = session.get(f"{url}/inbox", timeout=10, allow_redirects=False)
    assert inbox.status_code == 200
    assert 'name="csrf_token"' in inbox.text  # the signed-in page, not a redirect to the sign-in form

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
