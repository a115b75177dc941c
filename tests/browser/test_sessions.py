"""Sign-in, sessions and navigation: a key is verified by the services and exchanged for a
server-side session; cookies are HttpOnly and SameSite=Strict; forms need the session's
CSRF token; sessions end on sign-out and when they expire."""

from __future__ import annotations

import time
from typing import Any

from tests.browser.conftest import Tab, zh
from tests.browser.system import AGENCY_A, CREDITOR, ConsoleSystem

NAVIGATION = {
    "creditor": ["资产组合", "机构评分卡", "案件", "委案上传", "分案规则", "发票"],
    "agency": ["今日工作", "案件", "服务水平", "质检", "发票"],
    "auditor": ["案件", "验证密钥", "服务水平", "质检", "发票", "机构评分卡"],
    "admin": ["案件", "验证密钥", "资产组合", "机构评分卡", "委案上传", "分案规则", "发票",
              "今日工作", "服务水平", "质检"],
}


def session_cookie(tab: Tab) -> dict[str, Any]:
    return next(c for c in tab.page.context.cookies() if c["name"] == "ct_session")


def test_an_unknown_key_is_refused_and_no_session_is_made(tabs: Any) -> None:
    tab = tabs()
    tab.page.fill("#api_key", "ct_creditor_this-key-was-never-issued")
    tab.page.click(".signin button[type=submit]")
    assert "/signin" in tab.page.url
    assert tab.text("#signin-error") == "服务不认可此密钥。"
    assert not [c for c in tab.page.context.cookies() if c["name"] == "ct_session"]
    assert tab.open("/cases").url.endswith("/signin?next=%2Fcases")  # nothing to see


def test_each_role_gets_its_own_navigation_and_a_strict_http_only_session_cookie(
        tabs: Any, system: ConsoleSystem) -> None:
    for role, expected in NAVIGATION.items():
        tab = tabs(role, form=True)
        assert tab.page.locator(".mainnav a").all_inner_texts() == expected, role
        tenant = {"creditor": CREDITOR, "agency": AGENCY_A}.get(role)
        if tenant:
            assert tab.text("[data-testid=tenant]") == tenant
        cookie = session_cookie(tab)
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        assert cookie["secure"] is False  # loopback in development; Secure everywhere else
        assert cookie["value"] != system.keys[role]  # a random token, never the key
        assert tab.page.evaluate("() => document.cookie") == ""  # invisible to scripts
    agency = tabs("agency")
    response = agency.open("/placements")  # not in an agency's navigation
    assert response.status == 404


def test_a_form_without_the_sessions_csrf_token_is_refused(tabs: Any) -> None:
    tab = tabs("creditor")
    forged = tab.page.request.post(tab.base + "/signout", form={"csrf_token": "forged"},
                                   max_redirects=0)
    assert forged.status == 403
    missing = tab.page.request.post(tab.base + "/allocation", form={"creditor_id": CREDITOR},
                                    max_redirects=0)
    assert missing.status == 403
    assert tab.open("/portfolio").status == 200  # still signed in


def test_sign_out_ends_the_session_on_the_server(tabs: Any, browser: Any) -> None:
    tab = tabs("agency", form=True)
    tab.open("/worklist")
    token = session_cookie(tab)
    tab.page.click(".signout button")
    tab.page.wait_for_load_state()
    assert "/signin" in tab.page.url
    assert tab.text(".notice") == "您已退出登录。"
    replay = browser.new_context()  # the old cookie, replayed elsewhere, opens nothing
    try:
        replay.add_cookies([token])
        page = replay.new_page()
        page.goto(tab.base + "/worklist")
        assert "/signin" in page.url
    finally:
        replay.close()


def test_a_session_ends_at_its_absolute_lifetime(tabs: Any, system: ConsoleSystem) -> None:
    url = system.serve_console(
        "console-short-sessions", CONSOLE_SESSION_ABSOLUTE_HOURS="0.001",  # 3.6 seconds
        CONSOLE_DATABASE_URL=f"sqlite:///{system.tmp}/console-short.db")
    tab = tabs("auditor", base=url)
    assert tab.open("/cases").status == 200
    time.sleep(4)
    tab.open("/cases")
    assert "/signin" in tab.page.url
    assert "reason=absolute" in tab.page.url
    assert tab.text(".notice") == zh("signin.reason.absolute")
