"""gunicorn as production runs it (deploy/gunicorn.conf.py) on a bench database, with ``bench.wsgi``."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8766"))


def wrapping_key() -> str:
    """A bid-key wrapping key for a bench server (production refuses to start without one)."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def server_env(url: str) -> dict:
    """The environment of a production process on ``url`` (no rate limit, no scheduler, no access log)."""
    env = dict(os.environ)
    env.setdefault("BID_KEY_WRAPPING_KEYS", wrapping_key())
    env.setdefault("AUDIT_CHAIN_KEY", "bench-audit-chain-key-not-for-production")
    env.update(
        DATABASE_URL=url,
        SECRET_KEY="bench-secret-key-not-for-production",
        MARKETPLACE_ENV="production",
        RATELIMIT_ENABLED="0",
        SCHEDULER_ENABLED="0",
        # Production's other settings (marketplace/config.py, check_deployment): no mail sent; no Redis
        # required, so the bench keeps measuring the processes as before (per-process caches, tasks
        # inline) unless REDIS_URL is in the environment.
        MAIL_SUPPRESS_SEND="1",
        REQUIRE_REDIS="0",
        LOG_LEVEL="WARNING",
        SESSION_COOKIE_SECURE="0",
        GUNICORN_ACCESS_LOG="/dev/null",
        # Workers are not recycled during a bench: a restart (the app built again) after every ~5,000
        # requests would slow the cheap reference route, which reaches that count many times sooner
        # than a page does, and flatter the ratio.
        GUNICORN_MAX_REQUESTS="0",
    )
    return env


class Server:
    def __init__(self, base: str, log):
        self.base, self._log = base, log

    def log_text(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def worker_restarts(self) -> int:
        """Workers recycled so far (``max_requests`` in deploy/gunicorn.conf.py)."""
        return self.log_text().count("Autorestarting worker")


@contextmanager
def gunicorn(url: str, port: int = PORT):
    """Run gunicorn on ``127.0.0.1:port`` until the block ends; yields a :class:`Server`."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "-c",
            str(ROOT / "deploy/gunicorn.conf.py"),
            "-b",
            f"127.0.0.1:{port}",
            "bench.wsgi:create_app()",
        ],
        cwd=ROOT,
        env=server_env(url),
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    server = Server(f"http://127.0.0.1:{port}", log)
    base = server.base
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError("gunicorn exited: " + server.log_text()[-3000:])
            try:
                if requests.get(f"{base}/bench/hello", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not answer within 30 s")
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log.close()
