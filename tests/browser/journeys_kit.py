"""What every browser journey shares: one signed-in browser context per role, named steps that leave a
screenshot, the URL and the HTML of every open page when they fail, and axe-core on every page visited.

A journey module makes one ``Journey`` per module (one server, one sign-in per role) and walks it in
steps::

    with journey.step("officer publishes the tender"):
        ...

When a step ends, every page the step's browser contexts navigated to is checked with axe-core
(``vendor/axe.min.js``): a serious or critical violation fails the step. Pages left before the step ended
are checked by opening their URL again in the same context (GET never writes, so this is harmless).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[1] / "test-artifacts"
AXE_SOURCE = (HERE / "vendor" / "axe.min.js").read_text("utf-8")
DEMO_PASSWORD = "demo-password"
PAGE_TIMEOUT_MS = 10_000
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}
BLOCKING_IMPACTS = ("serious", "critical")
# Not pages: files, images and JSON the journeys download or that pages embed.
NOT_A_PAGE = re.compile(
    r"(/static/|/bootstrap/static/|\.(png|svg|ico|csv|xlsx|json|pdf)(\?|$)|/documents/\d+$|/attachments/)"
)
RUN_AXE = """async () => {
  const result = await window.axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map(n =>
        n.target.join(" ") + " :: " + (n.failureSummary || "").split("\\n").slice(1, 3).join(" ")),
    }));
}"""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:80] or "page"


def save_artifacts(pages: list[tuple[str, Page]], prefix: str) -> list[Path]:
    """A full-page screenshot, the URL and the HTML of each page, under ``test-artifacts/``."""
    saved: list[Path] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for label, page in pages:
        if page.is_closed():
            continue
        base = ARTIFACTS / f"{_slug(prefix)}--{_slug(label)}"
        png, url, html = (Path(f"{base}{suffix}") for suffix in (".png", ".url.txt", ".html"))
        try:
            url.write_text(page.url + "\n", "utf-8")
            html.write_text(page.content(), "utf-8")
            page.screenshot(path=str(png), full_page=True)
            saved.append(png)
            print(f"failure artifacts of {page.url}: {base}.png / .url.txt / .html")
        except Exception as exc:  # noqa: BLE001 - must not hide the real failure
            print(f"could not save artifacts of {page.url}: {exc}")
    return saved


def axe_violations(page: Page) -> list[dict]:
    """The serious and critical axe-core violations of the page as it is now."""
    page.wait_for_load_state("load")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol: the page's CSP (no inline script) still holds for the app.
        page.evaluate(AXE_SOURCE + "\n;void 0")
    return page.evaluate(RUN_AXE)


@dataclass
class Role:
    name: str
    context: BrowserContext
    page: Page
    navigated: list[str] = field(default_factory=list)  # since the last accessibility check
    history: list[str] = field(default_factory=list)  # every page, in order


class Journey:
    """One module's browser session: contexts per role, steps, accessibility checks."""

    def __init__(self, browser: Browser, base_url: str, name: str):
        self.browser = browser
        self.base = base_url
        self.name = name
        self.roles: dict[str, Role] = {}
        self.audited: set[str] = set()
        self.current_test = name
        self.current_step = ""
        self.saved: list[Path] = []
        self.dialogs: list[str] = []  # every confirmation asked, accepted (the journeys go ahead)

    # -- contexts -------------------------------------------------------------------------------
    def page(self, role: str, *, mobile: bool = False, locale: str = "en-US") -> Page:
        """The page of ``role`` (made on first use: a fresh context, own cookies)."""
        if role in self.roles and not self.roles[role].page.is_closed():
            return self.roles[role].page
        context = self.browser.new_context(
            locale=locale,
            viewport=MOBILE if mobile else DESKTOP,
            is_mobile=mobile,
            has_touch=mobile,
            accept_downloads=True,
        )
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        page = context.new_page()
        entry = Role(role, context, page)

        def _navigated(frame, entry=entry, page=page):
            if frame == page.main_frame:
                entry.navigated.append(frame.url)
                entry.history.append(frame.url)

        def _confirm(dialog):
            self.dialogs.append(dialog.message)
            dialog.accept()

        page.on("framenavigated", _navigated)
        page.on("dialog", _confirm)
        self.roles[role] = entry
        return page

    def sign_in(self, role: str, email: str, *, mobile: bool = False, password: str = DEMO_PASSWORD) -> Page:
        """Sign ``role`` in through the login form (once per module) and return its page."""
        page = self.page(role, mobile=mobile)
        page.goto(f"{self.base}/auth/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#user-menu")).to_contain_text(email)
        return page

    def visited(self, role: str) -> list[str]:
        """The app's pages ``role`` navigated to (no files), each once, in order."""
        history = self.roles[role].history if role in self.roles else []
        return [
            url
            for url in dict.fromkeys(u.split("#")[0] for u in history)
            if url.startswith(self.base) and not NOT_A_PAGE.search(url)
        ]

    def close(self) -> None:
        for role in self.roles.values():
            role.context.close()

    @contextmanager
    def confirmed(self, question: str | None = None):
        """The block's click must ask for a confirmation first (irreversible actions, issue 20 item 7)."""
        before = len(self.dialogs)
        yield
        asked = self.dialogs[before:]
        assert asked, "the action went ahead without asking for a confirmation"
        if question:
            assert any(question in text for text in asked), f"asked {asked!r}, not {question!r}"

    # -- steps ----------------------------------------------------------------------------------
    @contextmanager
    def step(self, title: str):
        """A named step: failure artifacts when it fails, axe-core on every page it visited when it ends."""
        self.current_step = title
        try:
            yield
            self.check_accessibility()
        except BaseException as exc:
            if not getattr(exc, "_artifacts_saved", False):
                self.save_all(f"{self.current_test}--{title}")
                try:
                    exc._artifacts_saved = True  # type: ignore[attr-defined]
                except AttributeError:
                    pass
            raise
        finally:
            self.current_step = ""

    def save_all(self, prefix: str) -> None:
        self.saved += save_artifacts([(r.name, r.page) for r in self.roles.values()], prefix)

    # -- accessibility --------------------------------------------------------------------------
    def _key(self, role: Role, url: str) -> str:
        viewport = role.page.viewport_size or DESKTOP
        return f"{viewport['width']}|{url.split('#')[0]}"

    def check_accessibility(self) -> None:
        """axe-core on the current page of each role, then on every other page navigated to since."""
        failures: list[str] = []
        for role in self.roles.values():
            if role.page.is_closed():
                continue
            pending = list(dict.fromkeys(role.navigated))
            role.navigated.clear()
            current = role.page.url
            if current.startswith(self.base) and not NOT_A_PAGE.search(current):
                key = self._key(role, current)
                if key not in self.audited:
                    self.audited.add(key)
                    failures += self._report(role.page, axe_violations(role.page))
            for url in pending:
                key = self._key(role, url)
                if key in self.audited or not url.startswith(self.base) or NOT_A_PAGE.search(url):
                    continue
                self.audited.add(key)
                failures += self._revisit(role, url)
        assert not failures, "axe-core: serious or critical violations\n" + "\n".join(failures)

    def _revisit(self, role: Role, url: str) -> list[str]:
        scratch = role.context.new_page()
        try:
            response = scratch.goto(url)
            if response is None or response.status != 200:
                return []
            if "text/html" not in (response.headers.get("content-type") or ""):
                return []
            return self._report(scratch, axe_violations(scratch))
        finally:
            scratch.close()

    @staticmethod
    def _report(page: Page, violations: list[dict]) -> list[str]:
        lines = []
        for v in violations:
            lines.append(f"{page.url} [{v['impact']}] {v['id']}: {v['help']}")
            lines += [f"    {node}" for node in v["nodes"]]
        return lines


def assert_fits_narrow_screen(page: Page) -> None:
    """At 390 px nothing makes the page scroll sideways."""
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{page.url} is {overflow}px wider than the {page.viewport_size} screen"
