"""The browser tier: the real services and the console as processes (system.py), driven by
Playwright in Debian's Chromium (/usr/bin/chromium; scripts/chromium.sh installs it). Test
tools' own browser downloads do not work here, so Playwright never installs one.

Screenshots go to the session's temporary folder (printed at the end); with
CASETRAIL_DOC_SCREENSHOTS=1 the ones named in DOC_SHOTS are also copied to docs/img/."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from console_service.adapters.catalogs import Catalogs

from tests.browser.system import ConsoleSystem

CHROMIUM = os.environ.get("CASETRAIL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ROOT = Path(__file__).resolve().parents[2]
DOC_SHOTS = {  # screenshot name -> docs/img file
    "auditor-case-verified-zh": "console-auditor-case-verified.png",
    "auditor-case-tampered-en": "console-auditor-tampered.png",
    "creditor-portfolio-zh": "console-creditor-portfolio.png",
    "creditor-placement-errors-zh": "console-creditor-placement-errors.png",
    "agency-workspace-zh": "console-agency-workspace.png",
    "agency-worklist-en": "console-agency-worklist.png",
}


CATALOGS = Catalogs.load()


def zh(key: str, **values: Any) -> str:
    """A message as the Chinese page shows it."""
    return CATALOGS.translate("zh", key, **values)


def en(key: str, **values: Any) -> str:
    """A message as the English page shows it."""
    return CATALOGS.translate("en", key, **values)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


# Package-scoped, not session-scoped: Playwright's sync API keeps an event loop running in
# the main thread while it is open, and every later test that calls asyncio.run() would fail;
# closing it when this package's tests end keeps the rest of the suite free of it.
@pytest.fixture(scope="package")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSystem]:
    """Every service, the consumers and the console, seeded once for the whole tier."""
    running = ConsoleSystem(tmp_path_factory.mktemp("console-system"))
    try:
        running.start_all()
        running.seed()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium, driven by Playwright."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CASETRAIL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing: run scripts/chromium.sh")
        pytest.skip(f"{CHROMIUM} is missing (scripts/chromium.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where screenshots are saved."""
    folder = tmp_path_factory.mktemp("screenshots")
    yield folder
    print(f"\nconsole screenshots: {folder}")
    if os.environ.get("CASETRAIL_DOC_SCREENSHOTS") == "1":
        for name, target in DOC_SHOTS.items():
            if (folder / f"{name}.png").exists():
                shutil.copyfile(folder / f"{name}.png", ROOT / "docs" / "img" / target)


@dataclass
class Tab:
    """One signed-in (or not) browser context on the console, with what it saw."""

    page: Any
    base: str
    shots: Path
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def open(self, path: str) -> Any:
        """Go to a console path (loaded: scripts ran; what they fetch is waited for by the
        tests that need it)."""
        return self.page.goto(self.base + path)

    def shot(self, name: str) -> Path:
        """A full-page screenshot."""
        target = self.shots / f"{name}.png"
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the current page (axe is evaluated
        through the DevTools protocol, so the console's CSP need not allow it)."""
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE.read_text("utf-8"))
        result = self.page.evaluate("""async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }""")
        return [v for v in result if v["impact"] in ("serious", "critical")]

    def text(self, selector: str) -> str:
        """The visible text of the first element matching `selector`."""
        return str(self.page.locator(selector).first.inner_text())


@pytest.fixture
def tabs(browser: Any, system: ConsoleSystem, shots: Path) -> Iterator[Any]:
    """Opens browser contexts on the console: `tabs(role=None, lang="zh")` signs in."""
    opened: list[Any] = []

    def new(role: str | None = None, lang: str = "zh", base: str | None = None,
            form: bool = False) -> Tab:
        """A context on the console; `role` signs in (through the sign-in form when
        `form`, else by posting it from the context, which sets the same cookies)."""
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      locale="zh-CN" if lang == "zh" else "en-US",
                                      timezone_id="Asia/Shanghai", accept_downloads=True)
        opened.append(context)
        page = context.new_page()
        tab = Tab(page, base or system.urls["console"], shots)
        page.on("request", lambda request: tab.requests.append(request.url))
        page.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))
        # Script errors and CSP violations; pages answered with an error status on purpose
        # (a refused form) are not problems, assets and script fetches that fail are.
        page.on("console", lambda message: tab.problems.append(
            f"console {message.type}: {message.text}") if message.type == "error"
            and not message.text.startswith("Failed to load resource") else None)
        page.on("response", lambda response: tab.problems.append(
            f"{response.status} {response.url}") if response.status >= 400
            and response.request.resource_type != "document" else None)
        if not form and role is not None:
            signin = context.request.get(tab.base + "/signin")
            token = re.search(r'name="csrf_token" value="([^"]+)"', signin.text())
            assert token is not None
            if lang == "en":
                context.request.post(tab.base + "/language", form={
                    "csrf_token": token.group(1), "language": "en", "next": "/signin"})
            answer = context.request.post(tab.base + "/signin", form={
                "csrf_token": token.group(1), "api_key": system.keys[role]}, max_redirects=0)
            assert answer.status == 303, answer.text()
            return tab
        tab.open("/signin")
        if lang == "en":
            page.select_option("#language-select", "en")
            page.click(".lang-switch button")
            page.wait_for_load_state()
        if role is not None:
            page.fill("#api_key", system.keys[role])
            page.click(".signin button[type=submit]")
            page.wait_for_load_state()
            assert "/signin" not in page.url, tab.text("main")
        return tab

    yield new
    for context in opened:
        context.close()


def pin_key(tab: Tab, key: str) -> None:
    """Pin the log's public key on the verification page (kept in the browser only)."""
    tab.open("/verification")
    tab.page.fill("#pinned-key", key)
    tab.page.click("#pin-button")
    tab.page.wait_for_selector("#pin-message:not(:empty)")


def only_console_requests(tab: Tab) -> list[str]:
    """Requests that went anywhere but the console itself (must be none)."""
    return [url for url in tab.requests
            if not url.startswith(tab.base) and not re.match(r"^(data|blob|about):", url)]


def jsonl_lines(data: bytes) -> list[dict[str, Any]]:
    """A JSON Lines file as objects."""
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]
