"""FastAPI plumbing every service shares: errors, authentication, request ids, size limits."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping, Sequence
from typing import Annotated, Any

import orjson
import structlog
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from casetrail.metrics import REQUEST_SECONDS
from casetrail.security import AuthenticationError, KeyRing, Principal, Role

log = structlog.get_logger("casetrail.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ApiError(Exception):
    """An error with an HTTP status, a stable code and a message for the caller."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The one error shape of every casetrail API."""
    return {"error": {"code": code, "message": message, **extra}}


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic errors as {path, message, type}, with dotted paths like body.accounts.3.dpd."""
    return [{"path": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", ""),
             "type": e.get("type", "")} for e in errors]


def install_error_handlers(app: FastAPI) -> None:
    """Map validation, HTTP and API errors to the shared shape; anything else is a logged 500."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content=error_body(
            "validation_error", "the request is not valid", fields=field_errors(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code, "error")
        return JSONResponse(status_code=exc.status_code, headers=exc.headers,
                              content=error_body(code, str(exc.detail)))

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _storage_busy(_: Request, exc: Exception) -> JSONResponse:
        # Lock timeouts, lost connections, a database restarting: transient, safe to retry
        # because every write is idempotent. Never a 500.
        log.warning("storage unavailable", error=type(exc).__name__)
        return JSONResponse(status_code=503, headers={"Retry-After": "2"}, content=error_body(
            "storage_unavailable", "the database is busy or unreachable; retry shortly"))

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(status_code=exc.status,
                              content=error_body(exc.code, exc.message, **exc.extra))


def principal(request: Request) -> Principal:
    """Authenticate the caller from `Authorization: Bearer <key>` or `X-API-Key`."""
    keyring: KeyRing = request.app.state.keyring
    raw = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    if raw is None and auth.lower().startswith("bearer "):
        raw = auth[7:].strip()
    try:
        return keyring.authenticate(raw)
    except AuthenticationError as exc:
        raise HTTPException(status_code=401, detail=str(exc),
                            headers={"WWW-Authenticate": "Bearer"}) from None


PrincipalDep = Annotated[Principal, Depends(principal)]


def require_roles(caller: Principal, *roles: Role) -> None:
    """Refuse a caller whose role may not do this (403)."""
    if caller.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise ApiError(403, "forbidden", f"role {caller.role.value} may not do this ({allowed})")


class RequestContextMiddleware:
    """Gives every request an id (X-Request-ID), logs one line per request (never bodies) and
    times it under its route template (never the raw path: ids would explode the labels)."""

    def __init__(self, app: ASGIApp, service: str):
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode()[:64] or uuid.uuid4().hex
        correlation_id = headers.get(b"x-correlation-id", b"").decode()[:64] or request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(
                request_id=request_id, correlation_id=correlation_id, service=self.service):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - started
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                if route != "/metrics":
                    REQUEST_SECONDS.labels(self.service, scope["method"], route,
                                           str(status)).observe(seconds)
                log.info("request", method=scope["method"], path=scope["path"], status=status,
                         ms=round(seconds * 1000, 1))


class BodySizeLimitMiddleware:
    """Refuses request bodies over a limit with 413 before reading them into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(status_code=413,
                                        detail=f"request body exceeds {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)


async def _too_large(send: Send, limit: int) -> None:
    body = JSONResponse(status_code=413, content=error_body(
        "payload_too_large", f"request body exceeds {limit} bytes")).body
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def add_health_routes(app: FastAPI, ready: Callable[[], dict[str, Any]]) -> None:
    """`/healthz` says the process is up; `/readyz` runs the service's readiness checks."""

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        try:
            checks = ready()
        except Exception as exc:  # readiness must answer, not crash
            return JSONResponse(status_code=503, content={"status": "unavailable",
                                                            "reason": type(exc).__name__})
        return JSONResponse(content={"status": "ready", **checks})


class _OrjsonRequest(Request):
    """A request whose JSON body is parsed by orjson (several times faster than the standard
    library on 10,000-row placements; stricter too: NaN and lone surrogates are refused).
    orjson's JSONDecodeError is the standard one, so bad JSON is still a 422."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class OrjsonBodyRoute(APIRoute):
    """Route class for routers taking large JSON bodies: `APIRouter(route_class=...)`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await handler(_OrjsonRequest(request.scope, request.receive))

        return route
