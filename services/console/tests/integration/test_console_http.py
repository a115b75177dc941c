"""The console over HTTP, in process, with the services faked at the HTTP boundary (an httpx
transport): cookies and their flags, the user's own key on every service call, CSRF, a key
the services stop accepting, sign-out."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_service.bootstrap import build
from console_service.config import ConsoleSettings
from console_service.entrypoints.app import create_app
from fastapi.testclient import TestClient

KEY = "ct_auditor_the-users-own-key"


class FakeServices:
    """Answers like the three services for one key; records what the console sent."""

    def __init__(self) -> None:
        self.accepted = {KEY}
        self.calls: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        if key not in self.accepted:
            return httpx.Response(401, json={"error": {"code": "unauthenticated",
                                                       "message": "unknown API key"}})
        if request.url.path == "/v1/whoami":
            return httpx.Response(200, json={"key_id": "aud-1", "role": "auditor",
                                             "tenant": None, "actor": "auditor:*:aud-1"})
        if request.url.path == "/v1/cases":
            return httpx.Response(200, json={"items": [], "next_cursor": None})
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "no"}})


@pytest.fixture
def services() -> FakeServices:
    return FakeServices()


def console(tmp_path: Path, services: FakeServices, base_url: str = "http://127.0.0.1",
            **settings: Any) -> TestClient:
    configured = ConsoleSettings(database_url=f"sqlite:///{tmp_path}/console.db", **settings)
    app = create_app(configured, build(configured, transport=httpx.MockTransport(
        services.handle)))
    return TestClient(app, base_url=base_url)


@pytest.fixture
def client(tmp_path: Path, services: FakeServices) -> Iterator[TestClient]:
    with console(tmp_path, services) as found:
        yield found


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, key: str = KEY) -> httpx.Response:
    return client.post("/signin", data={"csrf_token": csrf(client.get("/signin")),
                                        "api_key": key}, follow_redirects=False)


def test_sign_in_sets_an_http_only_strict_cookie_holding_a_token_not_the_key(
        client: TestClient) -> None:
    answer = sign_in(client)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/cases"
    cookie = next(c for c in answer.headers.get_list("set-cookie")
                  if c.startswith("ct_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie  # development, on a loopback address
    assert KEY not in cookie


def test_in_production_cookies_are_secure(tmp_path: Path, services: FakeServices) -> None:
    with console(tmp_path, services, "https://127.0.0.1", environment="production") as client:
        cookie = next(c for c in sign_in(client).headers.get_list("set-cookie")
                      if c.startswith("ct_session="))
        assert "Secure" in cookie


def test_every_service_call_carries_the_users_own_key(client: TestClient,
                                                      services: FakeServices) -> None:
    sign_in(client)
    assert client.get("/cases").status_code == 200
    assert services.calls
    assert {c.headers["authorization"] for c in services.calls} == {f"Bearer {KEY}"}
    listed = next(c for c in services.calls if c.url.path == "/v1/cases")
    assert listed.url.params["limit"] == "50"  # one page, asked of the service


def test_a_key_the_services_do_not_know_is_refused(client: TestClient) -> None:
    answer = sign_in(client, "ct_auditor_unknown")
    assert answer.status_code == 401
    assert "ct_session=" not in answer.headers.get("set-cookie", "")


def test_a_post_without_the_sessions_csrf_token_is_refused(client: TestClient) -> None:
    sign_in(client)
    assert client.post("/signout", data={"csrf_token": "forged"}).status_code == 403
    assert client.post("/signin", data={"api_key": KEY}).status_code == 403  # no pre-session
    assert client.get("/cases").status_code == 200  # still signed in


def test_a_key_revoked_by_the_services_ends_the_session(client: TestClient,
                                                        services: FakeServices) -> None:
    sign_in(client)
    services.accepted.clear()
    answer = client.get("/cases", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?reason=revoked"
    assert client.app.state.console.sessions.store.count() == 0  # type: ignore[attr-defined]


def test_sign_out_deletes_the_session(client: TestClient) -> None:
    sign_in(client)
    page = client.get("/cases")
    answer = client.post("/signout", data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert answer.headers["location"] == "/signin?reason=signed_out"
    assert client.app.state.console.sessions.store.count() == 0  # type: ignore[attr-defined]
    assert client.get("/cases", follow_redirects=False).status_code == 303


def test_pages_carry_a_strict_content_security_policy(client: TestClient) -> None:
    page = client.get("/signin")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text  # no inline script anywhere


def test_the_language_switch_works_before_sign_in(client: TestClient) -> None:
    page = client.get("/signin")
    assert '<html lang="zh-CN">' in page.text
    client.post("/language", data={"csrf_token": csrf(page), "language": "en",
                                   "next": "/signin"})
    english = client.get("/signin")
    assert '<html lang="en">' in english.text
    assert "Sign in with your casetrail API key" in english.text
    assert json.loads(json.dumps(english.headers["content-type"])).startswith("text/html")
