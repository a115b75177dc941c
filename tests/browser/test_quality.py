"""Every page, in Chinese and in English: it renders, its strings are in the page's language,
its glyphs come from the font the console serves, nothing is fetched from anywhere else, no
script fails, and axe-core finds no serious or critical accessibility violation. Keyboard
users get a skip link and visible focus. Lists are paged by the services, so a page costs the
same with 10 or 100,000 cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ROOT, Tab, only_console_requests
from tests.browser.system import AGENCY_A, CREDITOR, ConsoleSystem

PAGES = {
    "creditor": ["/portfolio", "/scorecards", "/cases", "/case/1", "/placements",
                 "/allocation", "/invoices", "/invoice"],
    "agency": ["/worklist", "/cases", "/case/2", "/service-levels", "/qa", "/invoices"],
    "auditor": ["/cases", "/case/0", "/verification", "/service-levels",
                f"/scorecards?creditor_id={CREDITOR}", f"/invoices?agency_id={AGENCY_A}"],
    "admin": ["/cases", f"/worklist?agency_id={AGENCY_A}", f"/portfolio?creditor_id={CREDITOR}",
              f"/allocation?creditor_id={CREDITOR}"],
}
# a string each page's navigation shows, per language (the role's first page)
MARKERS = {"zh": "退出登录", "en": "Sign out"}
LOST_IN_TRANSLATION = {"zh": ["Sign out", "Cases"], "en": ["退出登录", "案件"]}


def resolve(path: str, system: ConsoleSystem) -> str:
    if path.startswith("/case/"):
        return f"/cases/{system.case_ids[int(path.split('/')[-1])]}"
    if path == "/invoice":
        return f"/invoices/{system.invoice_id}"
    return path


def check_fonts(tab: Tab) -> None:
    """Glyphs drawn with the vendored Noto Sans SC, fetched from the console itself."""
    family = tab.page.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert family.startswith('"Noto Sans SC"'), family
    tab.page.evaluate("() => document.fonts.ready")
    assert tab.page.evaluate(
        """() => [...document.fonts].some(f => f.family.replace(/"/g, '') === 'Noto Sans SC'
                                            && f.status === 'loaded')""")
    assert any("/static/fonts/noto-sans-sc/files/" in url and url.endswith(".woff2")
               for url in tab.requests)


@pytest.mark.parametrize("role", list(PAGES))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_renders_in_both_languages_with_no_serious_accessibility_violation(
        tabs: Any, system: ConsoleSystem, role: str, lang: str) -> None:
    tab = tabs(role, lang)
    for path in PAGES[role]:
        url = resolve(path, system)
        response = tab.open(url)
        assert response.status == 200, (url, tab.text("main"))
        assert tab.page.get_attribute("html", "lang") == ("zh-CN" if lang == "zh" else "en")
        body = tab.text("body")
        assert MARKERS[lang] in body, url
        chrome = tab.text("header") + tab.text("nav.mainnav")
        for foreign in LOST_IN_TRANSLATION[lang]:
            assert foreign not in chrome, (url, foreign)
        assert tab.axe() == [], url
        tab.shot(f"{role}-{url.strip('/').split('?')[0].replace('/', '-')[:40]}-{lang}")
    check_fonts(tab)
    assert only_console_requests(tab) == []
    assert tab.problems == []  # no script error, no CSP violation


def test_the_sign_in_page_is_accessible_in_both_languages(tabs: Any) -> None:
    for lang in ("zh", "en"):
        tab = tabs(None, lang)
        assert tab.axe() == []
        assert tab.text("h1") == ("登录" if lang == "zh" else "Sign in")
        check_fonts(tab)


def test_keyboard_users_get_a_skip_link_and_visible_focus(tabs: Any) -> None:
    tab = tabs("creditor")
    tab.open("/cases")
    tab.page.keyboard.press("Tab")
    focused = tab.page.evaluate(
        "() => ({cls: document.activeElement.className, top: "
        "document.activeElement.getBoundingClientRect().top})")
    assert focused["cls"] == "skip-link"
    assert focused["top"] >= 0  # shown when focused
    tab.page.keyboard.press("Enter")
    assert tab.page.evaluate("() => document.activeElement.id") == "main"
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("() => document.activeElement.id") == "q"  # the first field
    for _ in range(30):  # every link and control on the way gets a visible outline
        tab.page.keyboard.press("Tab")
        style = tab.page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement); "
            "return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; }")
        if style[0] == "BODY":
            break
        assert style[1] != "none", style
        assert style[2] != "0px", style
    # Forms work without a mouse: the search by case id submits with Enter.
    tab.page.focus("#q")
    tab.page.keyboard.type("not-a-case")
    with tab.page.expect_navigation():
        tab.page.keyboard.press("Enter")
    assert "q=not-a-case" in tab.page.url


def test_vendored_assets_are_the_locked_versions() -> None:
    frontend = ROOT / "services" / "console" / "frontend"
    lock = json.loads((frontend / "package-lock.json").read_text())["packages"]
    static = ROOT / "services" / "console" / "src" / "console_service" / "static"
    vendored = json.loads((static / "vendor" / "VENDORED.json").read_text())
    for name in ("echarts", "@fontsource/noto-sans-sc", "axe-core"):
        assert vendored[name] == lock[f"node_modules/{name}"]["version"], name
    fonts = list((static / "fonts" / "noto-sans-sc" / "files").glob("*.woff2"))
    assert len(fonts) == vendored["font_files"]
    assert (static / "fonts" / "noto-sans-sc" / "LICENSE").read_text().count("Open Font") >= 1
    assert (static / "vendor" / "echarts" / "LICENSE").exists()
    assert json.loads((Path(__file__).parent / "vendor" / "VENDORED.json").read_text()) \
        == vendored
