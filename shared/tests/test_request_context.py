"""The one request middleware (casetrail.web.RequestContextMiddleware): request ids, the
last-resort 500, one access line per request, the latency histogram; and that with it every
answer is the one the plain FastAPI app gives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
import structlog
from casetrail import web
from casetrail.logs import configure_logging, request_fields
from casetrail.security import (
    AuthenticationError,
    KeyEntry,
    KeyRing,
    Principal,
    Role,
    generate_key,
    hash_key,
)
from casetrail.web import (
    IdentifierPath,
    PrincipalDep,
    RequestContextMiddleware,
    RequestGuardMiddleware,
    add_health_routes,
    install_api,
    install_error_handlers,
    new_api,
)
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, generate_latest
from pydantic import BaseModel

KEY = generate_key(Role.CREDITOR)
KEYRING = KeyRing([KeyEntry("key-1", hash_key(KEY), Role.CREDITOR, "BANK-1")])
AUTH = {"Authorization": f"Bearer {KEY}"}


class Item(BaseModel):
    name: str
    quantity: int


def routes(app: FastAPI) -> FastAPI:
    """The routes every variant of the test app has."""
    app.state.keyring = KEYRING

    @app.get("/items/{item_id}")
    async def get_item(item_id: IdentifierPath) -> dict[str, str]:
        return {"item_id": item_id}

    @app.post("/items", status_code=201)
    def add_item(item: Item, caller: PrincipalDep) -> dict[str, Any]:
        return {"name": item.name, "quantity": item.quantity, "tenant": caller.tenant}

    @app.get("/whoami")
    async def whoami(caller: PrincipalDep) -> dict[str, Any]:
        return {"key_id": caller.key_id, "fields": request_fields()}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    return app


def service_app() -> FastAPI:
    app = routes(new_api(title="test", description="test"))
    add_health_routes(app, lambda: {"checked": True})
    install_api(app, service="test")
    return app


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
           ) -> Iterator[Any]:
    """Logs configured as `casetrail serve` does; call the fixture with a level, then read
    the JSON lines written."""
    saved = structlog.get_config()

    def configure(level: str) -> None:
        configure_logging(level)
        # A fresh proxy: the module's own may have cached a logger of another configuration.
        monkeypatch.setattr(web, "log", structlog.get_logger("casetrail.http"))
        capsys.readouterr()

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in capsys.readouterr().err.splitlines()
                if line.startswith("{")]

    configure.lines = lines  # type: ignore[attr-defined]
    yield configure
    structlog.configure(**saved)


def test_every_answer_carries_a_request_id_and_a_plain_one_from_the_caller_is_kept() -> None:
    with TestClient(service_app()) as client:
        made = [client.get("/items/a").headers["x-request-id"] for _ in range(3)]
        kept = client.get("/items/a", headers={"X-Request-ID": "dialer-42:7"})
        unsafe = client.get("/items/a", headers={"X-Request-ID": "a b<script>"})
        missing = client.get("/nowhere")
    assert len(set(made)) == 3
    assert all(len(i) == 32 for i in made)
    assert kept.headers["x-request-id"] == "dialer-42:7"
    assert unsafe.headers["x-request-id"] not in ("a b<script>", "")
    assert missing.status_code == 404
    assert missing.headers["x-request-id"]


def test_an_unhandled_error_is_a_500_in_the_envelope_naming_the_request_id(logged: Any) -> None:
    logged("INFO")
    with TestClient(service_app()) as client:
        answer = client.get("/boom", headers={"X-Request-ID": "req-1"})
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "req-1"
    assert answer.json() == {"error": {"code": "internal_error", "message":
                                       "an unexpected error; it has been logged",
                                       "request_id": "req-1"}}
    lines = logged.lines()
    error = next(line for line in lines if line["event"] == "unhandled error")
    assert (error["level"], error["request_id"], error["path"]) == ("error", "req-1", "/boom")
    assert "RuntimeError: a bug" in error["exception"]
    access = [line for line in lines if line["event"] == "request"]
    assert [(a["status"], a["request_id"]) for a in access] == [(500, "req-1")]


def test_without_answer_errors_the_exception_goes_on_and_is_logged_as_a_500(
        logged: Any) -> None:
    """The console renders its own error pages: the middleware must not answer for it."""
    logged("INFO")
    app = routes(FastAPI())
    app.add_middleware(RequestContextMiddleware, service="console")
    with TestClient(app) as client, pytest.raises(RuntimeError, match="a bug"):
        client.get("/boom")
    assert [(line["status"], line["service"]) for line in logged.lines()
            if line["event"] == "request"] == [(500, "console")]


def test_one_access_line_per_request_at_info_names_the_request_and_the_caller(
        logged: Any) -> None:
    logged("INFO")
    with TestClient(service_app()) as client:
        anonymous = client.get("/items/a-1", headers={"X-Correlation-ID": "flow-9"})
        created = client.post("/items", json={"name": "n", "quantity": 2}, headers=AUTH)
        refused = client.post("/items", json={"name": "n", "quantity": 2})
    lines = [line for line in logged.lines() if line["event"] == "request"]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/items/a-1", 200), ("POST", "/items", 201), ("POST", "/items", 401)]
    first, second, third = lines
    assert first["request_id"] == anonymous.headers["x-request-id"]
    assert first["correlation_id"] == "flow-9"
    assert first["service"] == "test"
    assert first["level"] == "info"
    assert isinstance(first["ms"], float)
    assert "key_id" not in first
    assert second["request_id"] == created.headers["x-request-id"]
    assert second["correlation_id"] == second["request_id"]
    assert (second["key_id"], second["tenant"]) == ("key-1", "BANK-1")
    assert third["request_id"] == refused.headers["x-request-id"]
    assert "key_id" not in third


def test_probes_are_logged_at_debug_only(logged: Any) -> None:
    logged("INFO")
    with TestClient(service_app()) as client:
        for path in ("/healthz", "/readyz"):
            assert client.get(path).status_code == 200
    assert [line for line in logged.lines() if line["event"] == "request"] == []
    logged("DEBUG")
    with TestClient(service_app()) as client:
        client.get("/healthz")
        client.get("/healthz/x")  # not a probe: a 404 of an unmatched path
    assert [(line["level"], line["path"], line["status"]) for line in logged.lines()
            if line["event"] == "request"] == [("debug", "/healthz", 200),
                                                ("info", "/healthz/x", 404)]


def test_a_route_sees_the_request_fields_and_they_end_with_the_request() -> None:
    with TestClient(service_app()) as client:
        answer = client.get("/whoami", headers={**AUTH, "X-Request-ID": "r-7"})
    assert answer.json() == {"key_id": "key-1", "fields": {
        "request_id": "r-7", "correlation_id": "r-7", "service": "test", "key_id": "key-1",
        "tenant": "BANK-1"}}
    assert request_fields() is None


def _count(method: str, route: str, status: str) -> float:
    value = REGISTRY.get_sample_value("casetrail_http_request_duration_seconds_count", {
        "service": "test", "method": method, "route": route, "status": status})
    return value or 0.0


def test_latency_is_counted_under_the_route_template_as_the_library_counts_it() -> None:
    before = {key: _count(*key) for key in [("GET", "/items/{item_id}", "200"),
                                            ("GET", "unmatched", "404"),
                                            ("GET", "/boom", "500")]}
    with TestClient(service_app()) as client:
        for n in range(5):
            client.get(f"/items/i-{n}")
        client.get("/nowhere")
        client.get("/boom")
    assert _count("GET", "/items/{item_id}", "200") - before[("GET", "/items/{item_id}",
                                                              "200")] == 5
    assert _count("GET", "unmatched", "404") - before[("GET", "unmatched", "404")] == 1
    assert _count("GET", "/boom", "500") - before[("GET", "/boom", "500")] == 1
    assert b"i-0" not in generate_latest(REGISTRY)  # never a raw path


def _plain_app() -> FastAPI:
    """The same routes on FastAPI's own stack, with the shared errors and guard only."""
    app = routes(FastAPI())
    install_error_handlers(app)
    app.add_middleware(RequestGuardMiddleware)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:  # the plain library path: a dict, on the thread pool
        return {"status": "ok"}

    return app


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/healthz", {}),
    ("GET", "/items/a-1", {}),
    ("GET", "/items/a%20b", {}),
    ("GET", "/items/a%00b", {}),
    ("GET", "/nowhere", {}),
    ("DELETE", "/items/a-1", {}),
    ("POST", "/items", {"json": {"name": "n", "quantity": 2}, "headers": AUTH}),
    ("POST", "/items", {"json": {"name": "n", "quantity": 2}}),
    ("POST", "/items", {"json": {"name": "n", "quantity": 2},
                        "headers": {"X-API-Key": "ct_creditor_unknown"}}),
    ("POST", "/items", {"json": {"name": "n"}, "headers": AUTH}),
    ("POST", "/items", {"content": b"not json", "headers": {
        **AUTH, "Content-Type": "application/json"}}),
    ("POST", "/items", {"content": b"name=n", "headers": {
        **AUTH, "Content-Type": "application/x-www-form-urlencoded"}}),
    ("POST", "/items", {"content": b"[" * 40 + b"]" * 40, "headers": {
        **AUTH, "Content-Type": "application/json"}}),
]


def test_with_the_middleware_every_answer_is_the_plain_apps_but_for_the_request_id() -> None:
    with TestClient(_plain_app()) as plain, TestClient(service_app()) as served:
        for method, path, options in REQUESTS:
            expected = plain.request(method, path, **options)
            answer = served.request(method, path, **options)
            headers = {k: v for k, v in answer.headers.items() if k != "x-request-id"}
            assert (answer.status_code, answer.content, headers) == (
                expected.status_code, expected.content, dict(expected.headers.items())), path
            assert answer.headers["x-request-id"]


_bearer = HTTPBearer(auto_error=False)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)


def _thread_pool_principal(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        api_key: Annotated[str | None, Depends(_api_key)]) -> Principal:
    """The dependency as it was: sync (FastAPI runs it on the thread pool)."""
    raw = api_key if api_key is not None else (bearer.credentials if bearer else None)
    try:
        return KEYRING.authenticate(raw)
    except AuthenticationError as exc:
        raise HTTPException(status_code=401, detail=str(exc),
                            headers={"WWW-Authenticate": "Bearer"}) from None


@pytest.mark.parametrize("headers", [
    AUTH, {"X-API-Key": KEY}, {"X-API-Key": KEY, "Authorization": "Bearer ct_creditor_x"},
    {"X-API-Key": "ct_creditor_unknown"}, {"Authorization": f"Basic {KEY}"},
    {"Authorization": "Bearer"}, {"X-API-Key": ""}, {},
])
def test_the_async_principal_answers_as_the_thread_pool_one(headers: dict[str, str]) -> None:
    app = FastAPI()
    app.state.keyring = KEYRING
    install_error_handlers(app)

    @app.get("/async")
    async def on_the_loop(caller: PrincipalDep) -> dict[str, Any]:
        return {"key_id": caller.key_id, "role": caller.role, "tenant": caller.tenant}

    @app.get("/pool")
    async def from_the_pool(caller: Annotated[Principal, Depends(_thread_pool_principal)]
                            ) -> dict[str, Any]:
        return {"key_id": caller.key_id, "role": caller.role, "tenant": caller.tenant}

    with TestClient(app) as client:
        expected, answer = client.get("/pool", headers=headers), client.get("/async",
                                                                            headers=headers)
    assert (answer.status_code, answer.json(), answer.headers.get("www-authenticate")) == (
        expected.status_code, expected.json(), expected.headers.get("www-authenticate"))
