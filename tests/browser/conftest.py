"""Browser fixtures: the real app served from a subprocess, and a headless system Chromium.

Self-contained on purpose: nothing here depends on ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT = 30.0
PAGE_TIMEOUT_MS = 10_000
SERVER_LOG_TAIL = 80


def _flask_cli() -> str:
    """The ``flask`` script of the interpreter running the tests (works in any virtualenv)."""
    return str(Path(sys.executable).parent / "flask")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("SECRET_KEY", "MARKETPLACE_SETTINGS", "TEST_DATABASE_URL", "FLASK_APP"):
        env.pop(name, None)
    env.update(
        {
            "MARKETPLACE_ENV": "development",
            "DATABASE_URL": f"sqlite:///{tmp / 'live.sqlite3'}",
            "UPLOAD_FOLDER": str(tmp / "uploads"),
            "RATELIMIT_ENABLED": "0",
            "DEFAULT_LOCALE": "en",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _run_cli(args: list[str], env: dict[str, str]) -> None:
    cmd = [_flask_cli(), "--app", "marketplace", *args]
    result = subprocess.run(
        cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"`{' '.join(cmd)}` exited with {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}",
            pytrace=False,
        )


class LiveServer:
    def __init__(self, url: str, process: subprocess.Popen, log_path: Path):
        self.url = url
        self.process = process
        self.log_path = log_path

    def output(self) -> str:
        try:
            return self.log_path.read_text("utf-8", errors="replace")
        except OSError:
            return ""


def _wait_until_healthy(server: LiveServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"The app server exited with {server.process.returncode} before answering.\n"
                f"--- server output ---\n{server.output()}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last_error = exc
        time.sleep(0.1)
    pytest.fail(
        f"The app server did not answer {server.url}/healthz within {STARTUP_TIMEOUT:.0f} s "
        f"(last error: {last_error}).\n--- server output ---\n{server.output()}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory) -> Path:
    """A migrated, demo-seeded SQLite database (and its uploads), made once per session and copied per server.

    Seeding takes most of a server's start-up time, so every server starts from a copy of this one.
    While writing browser tests, ``BROWSER_TEST_TEMPLATE=/some/dir`` keeps the seeded template there and
    reuses it across runs (delete the folder after a migration or a demo change; CI never sets it).
    """
    kept = os.environ.get("BROWSER_TEST_TEMPLATE")
    if kept and (Path(kept) / "live.sqlite3").exists():
        return Path(kept)
    tmp = Path(kept) if kept else tmp_path_factory.mktemp("template")
    tmp.mkdir(parents=True, exist_ok=True)
    env = _server_env(tmp)
    _run_cli(["db", "upgrade"], env)
    _run_cli(["seed", "demo"], env)
    (tmp / "uploads").mkdir(exist_ok=True)
    return tmp


def _copy_template(template: Path, target: Path) -> None:
    for name in ("live.sqlite3", "live.sqlite3-wal", "live.sqlite3-shm"):
        if (template / name).exists():
            shutil.copy2(template / name, target / name)
    shutil.copytree(template / "uploads", target / "uploads", dirs_exist_ok=True)


@contextmanager
def _serve(template: Path, tmp: Path):
    """The app on a copy of the seeded database, served on a free local port until the block ends."""
    _copy_template(template, tmp)
    env = _server_env(tmp)
    port = _free_port()
    log_path = tmp / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [_flask_cli(), "--app", "marketplace", "run", "--host", "127.0.0.1", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def live_server(seeded_template, tmp_path_factory):
    """The app on a fresh, migrated and demo-seeded SQLite database, served on a free local port."""
    with _serve(seeded_template, tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture(scope="module")
def journey_server(seeded_template, tmp_path_factory):
    """A server of the module's own (journeys move the training clock and change the demo's state)."""
    with _serve(seeded_template, tmp_path_factory.mktemp("journey")) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    """Headless system Chromium driven by Playwright; skipped when either is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium fonts-noto-cjk)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.skip(f"playwright cannot be imported, so Chromium at {CHROMIUM} cannot be driven: {exc}")

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (for ``new_page``); on failure add the server's log and save
    the journey's pages (screenshot, URL, HTML) unless the failing step already did."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    funcargs = getattr(item, "funcargs", {})
    server = funcargs.get("live_server") or funcargs.get("journey_server")
    if report.failed and report.when == "call" and isinstance(server, LiveServer):
        tail = "\n".join(server.output().splitlines()[-SERVER_LOG_TAIL:])
        report.sections.append((f"live server output (last {SERVER_LOG_TAIL} lines)", tail))
    journey = funcargs.get("journey")
    if report.when == "call" and call.excinfo is not None and journey is not None:
        if not getattr(call.excinfo.value, "_artifacts_saved", False) and hasattr(journey, "save_all"):
            journey.save_all(item.name)
    return report


@pytest.fixture(autouse=True)
def _name_the_journey_test(request):
    """Failure artifacts of a module's journey are named after the test that was running."""
    if "journey" in request.fixturenames:
        request.getfixturevalue("journey").current_test = request.node.name
    yield


@pytest.fixture
def new_page(browser, request):
    """``new_page()`` opens a page in a fresh browser context (own cookies, English UI).

    At teardown every context is closed; if the test failed, each page is first saved under
    ``test-artifacts/`` (screenshot, URL and HTML).
    """
    from journeys_kit import save_artifacts

    contexts: list = []

    def _new_page():
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield _new_page

    report = getattr(request.node, "rep_call", None)
    failed = report is not None and report.failed
    for i, context in enumerate(contexts):
        if failed:
            save_artifacts([(f"{i}-{j}", page) for j, page in enumerate(context.pages)], request.node.name)
        context.close()
