"""Pages, cookies, sessions and CSRF: what every route of the console shares.

Cookies are HttpOnly and SameSite=Strict, and Secure unless the console is reached on a
loopback address in development. Every form carries a CSRF token: the session's own once
signed in (synchronizer token), a double-submit cookie before (the sign-in and language
forms of the sign-in page)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jinja2
from casetrail.security import Role
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from console_service.adapters.catalogs import HTML_LANG, LANGUAGES
from console_service.adapters.services import ServiceError, UserApi
from console_service.application import ConsoleApplication, SessionExpired
from console_service.config import ConsoleSettings
from console_service.domain.navigation import may_open, navigation
from console_service.domain.sessions import Session
from console_service.domain.times import show_instant

SESSION_COOKIE = "ct_session"
PRESESSION_COOKIE = "ct_presession"  # double-submit CSRF token before sign-in
LANGUAGE_COOKIE = "ct_lang"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


class SignInRequired(Exception):
    """No valid session: go to the sign-in page (`reason`: none, idle, absolute, revoked)."""

    def __init__(self, reason: str = "none"):
        super().__init__(reason)
        self.reason = reason


class PageError(Exception):
    """Show an error page (`status`, a message id and values)."""

    def __init__(self, status: int, message: str, **values: Any):
        super().__init__(message)
        self.status, self.message, self.values = status, message, values


@dataclass
class Current:
    """The signed-in user of a request: the session and the services as that user."""

    session: Session
    api: UserApi

    @property
    def role(self) -> Role:
        """The user's role."""
        return self.session.role


def console(request: Request) -> ConsoleApplication:
    """The application built at start-up."""
    app: ConsoleApplication = request.app.state.console
    return app


def settings(request: Request) -> ConsoleSettings:
    """The console's settings."""
    found: ConsoleSettings = request.app.state.settings
    return found


async def current_user(request: Request) -> Current:
    """The signed-in user, or SignInRequired."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired()
    try:
        found = await console(request).sessions.open(token)
    except SessionExpired as exc:
        raise SignInRequired(exc.reason) from None
    if found is None:
        raise SignInRequired()
    session, api = found
    request.state.current = Current(session, api)
    found_current: Current = request.state.current
    return found_current


CurrentDep = Annotated[Current, Depends(current_user)]


def page_access(page: str) -> Callable[[Request], Awaitable[Current]]:
    """A dependency: the signed-in user, if their navigation has the page (else 404)."""

    async def check(request: Request) -> Current:
        current = await current_user(request)
        if not may_open(current.role, page):
            raise PageError(404, "error.not_found")
        return current

    return check


async def checked_form(request: Request, current: Current) -> FormData:
    """The posted form, if its CSRF token is the session's (else 403)."""
    form = await request.form()
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, current.session.csrf_token):
        raise PageError(403, "error.csrf")
    return form


async def checked_presession_form(request: Request) -> FormData:
    """A form posted before sign-in, if its token matches the pre-session cookie."""
    form = await request.form()
    sent, cookie = form.get("csrf_token"), request.cookies.get(PRESESSION_COOKIE)
    if not isinstance(sent, str) or not cookie or not hmac.compare_digest(sent, cookie):
        raise PageError(403, "error.csrf")
    return form


def secure_cookies(request: Request) -> bool:
    """Secure cookies, unless configured otherwise or on loopback in development."""
    configured = settings(request).secure_cookies
    if configured is not None:
        return configured
    if request.app.state.environment == "production":
        return True
    return (request.url.hostname or "") not in LOOPBACK


def set_cookie(response: Response, request: Request, name: str, value: str,
               max_age: int | None = None) -> None:
    """An HttpOnly, SameSite=Strict cookie for the whole console."""
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="strict", secure=secure_cookies(request))


def clear_cookie(response: Response, request: Request, name: str) -> None:
    """Remove a cookie."""
    response.delete_cookie(name, path="/", httponly=True, samesite="strict",
                           secure=secure_cookies(request))


def redirect(path: str, **params: Any) -> RedirectResponse:
    """303 See Other to a console path, with query parameters (None ones left out)."""
    query = urlencode({k: v for k, v in params.items() if v is not None and v != ""})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def safe_next(value: object) -> str | None:
    """A `next` path only if it stays on the console (no scheme, no host)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") \
            and "\\" not in value and len(value) < 2000:
        return value
    return None


def language_of(request: Request) -> str:
    """The page language: the session's, else the language cookie's, else the default."""
    current: Current | None = getattr(request.state, "current", None)
    if current is not None:
        return current.session.language
    return console(request).sessions.language(request.cookies.get(LANGUAGE_COOKIE))


# ------------------------------------------------------------------------------- rendering

def money(value: Any) -> str:
    """A decimal string with thousands separators, as stated (no rounding)."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    exponent = number.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return f"{number:,.{places}f}"


def ratio(value: Any) -> str:
    """A ratio (0.1234) as a percentage (12.34 %); — when undefined."""
    if value is None or value == "":
        return "—"
    try:
        return f"{Decimal(str(value)) * 100:.2f} %"
    except InvalidOperation:
        return str(value)


def templates() -> jinja2.Environment:
    """The console's templates (autoescaped)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("console_service", "templates"),
                             autoescape=jinja2.select_autoescape(("html",)),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["money"] = money
    env.filters["ratio"] = ratio
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    env.globals["show_instant"] = show_instant
    return env


def render(request: Request, template: str, *, status: int = 200, page: str | None = None,
           **context: Any) -> HTMLResponse:
    """A page in the user's language, with the navigation of their role."""
    app = console(request)
    lang = language_of(request)
    current: Current | None = getattr(request.state, "current", None)

    def t(key: str, **values: Any) -> str:
        return app.catalogs.translate(lang, key, **values)

    def messages(prefix: str) -> dict[str, str]:
        """The catalog's messages under a prefix, for a page's script (prefix removed)."""
        return {k[len(prefix):]: v for k, v in app.catalogs.messages[lang].items()
                if k.startswith(prefix)}

    presession = request.cookies.get(PRESESSION_COOKIE) or secrets.token_urlsafe(32)
    env: jinja2.Environment = request.app.state.templates
    html = env.get_template(template).render(
        t=t, messages=messages, lang=lang, html_lang=HTML_LANG[lang], languages=LANGUAGES,
        page=page,
        current=current, session=current.session if current else None,
        nav=navigation(current.role) if current else [],
        csrf_token=current.session.csrf_token if current else presession,
        path=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        **context)
    response = HTMLResponse(html, status_code=status)
    if current is None and PRESESSION_COOKIE not in request.cookies:
        set_cookie(response, request, PRESESSION_COOKIE, presession)
    return response


def error_page(request: Request, status: int, message: str, **values: Any) -> HTMLResponse:
    """An error page in the user's language."""
    return render(request, "error.html", status=status, message=message, values=values)


def service_error_page(request: Request, exc: ServiceError) -> Response:
    """What a page shows when a service refused or failed a read. A 401 means the services
    no longer accept the user's key: raised on, so the app's handler ends the session."""
    if exc.status == 401:
        raise exc
    if exc.status == 404:
        return error_page(request, 404, "error.not_found")
    if exc.status == 403:
        return error_page(request, 403, "error.forbidden", detail=exc.message)
    if exc.status == 409:
        return error_page(request, 409, "error.conflict", detail=exc.message)
    if exc.status == 422:
        return error_page(request, 422, "error.invalid", detail=exc.message)
    return error_page(request, 502, "error.unavailable", detail=exc.message)


def tenant_param(current: Current, role: Role, requested: str | None) -> str | None:
    """The creditor (or agency) a page is about: the user's own tenant when they have that
    role, else the one they asked for (auditors and admins pick one)."""
    if current.role is role:
        return current.session.tenant
    return (requested or "").strip() or None
