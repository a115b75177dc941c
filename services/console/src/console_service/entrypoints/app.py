"""The console's app factory: server-rendered pages, static assets, ops endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import structlog
from casetrail.ops import install_ops
from casetrail.web import RequestContextMiddleware
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from console_service.adapters.services import ServiceError
from console_service.application import ConsoleApplication
from console_service.bootstrap import build
from console_service.config import ConsoleSettings
from console_service.entrypoints.routes import agency, auth, cases, creditor
from console_service.entrypoints.web import (
    SESSION_COOKIE,
    PageError,
    SignInRequired,
    clear_cookie,
    console,
    error_page,
    redirect,
    service_error_page,
    templates,
)

# Scripts and styles come from the console itself; nothing is loaded from elsewhere.
# (ECharts sets element styles from script, hence style-src 'unsafe-inline'; scripts are
# never inline.)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
                    "Cross-Origin-Opener-Policy": "same-origin"}


def create_app(settings: ConsoleSettings | None = None,
               console_app: ConsoleApplication | None = None) -> FastAPI:
    """Build the console; pass `console_app` to reuse one (tests), else it is built from
    settings."""
    settings = settings or ConsoleSettings()
    application = console_app or build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await application.close()

    app = FastAPI(title="casetrail console", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.settings, app.state.console = settings, application
    app.state.environment = settings.environment
    app.state.templates = templates()
    static = resources.files("console_service") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for router in (auth.router, cases.router, creditor.router, agency.router):
        app.include_router(router)
    _install_error_pages(app)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return FileResponse(str(static / "favicon.svg"), media_type="image/svg+xml")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def ready() -> dict[str, Any]:
        application.sessions.check()
        return {}

    install_ops(app, ready)
    app.add_middleware(RequestContextMiddleware, service="console")
    return app


log = structlog.get_logger("console")


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", path=request.url.path)
        return error_page(request, 500, "error.unexpected")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = redirect("/signin", reason=exc.reason if exc.reason != "none" else None,
                            next=back if request.method == "GET" else None)
        if SESSION_COOKIE in request.cookies:
            clear_cookie(response, request, SESSION_COOKIE)
        return response

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        return error_page(request, exc.status, exc.message, **exc.values)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        if exc.status == 401:  # the services no longer accept the key: the session ends
            current = getattr(request.state, "current", None)
            if current is not None:
                await console(request).sessions.sign_out(current.session)
            request.state.current = None
            response = redirect("/signin", reason="revoked")
            clear_cookie(response, request, SESSION_COOKIE)
            return response
        return service_error_page(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_page(request, 404, "error.not_found")
        if exc.status_code == 405:
            return error_page(request, 405, "error.method")
        return error_page(request, exc.status_code, "error.invalid", detail=str(exc.detail))


__all__ = ["create_app"]
