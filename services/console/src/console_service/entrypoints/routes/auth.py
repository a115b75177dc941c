"""Sign-in with an API key, sign-out, and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console_service.application import SignInRefused
from console_service.domain.navigation import home
from console_service.entrypoints.web import (
    LANGUAGE_COOKIE,
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    SignInRequired,
    checked_form,
    checked_presession_form,
    clear_cookie,
    console,
    current_user,
    redirect,
    render,
    safe_next,
    set_cookie,
)

router = APIRouter()
REASONS = {"idle", "absolute", "revoked", "signed_out"}


@router.get("/")
async def root(request: Request) -> Response:
    """The role's home page, or the sign-in page."""
    try:
        current = await current_user(request)
    except SignInRequired:
        return redirect("/signin")
    return redirect(home(current.role))


@router.get("/signin")
async def signin_page(request: Request, reason: str | None = None,
                      next: str | None = None) -> Response:
    """The sign-in form."""
    return render(request, "signin.html", page="signin",
                  reason=reason if reason in REASONS else None, next=safe_next(next),
                  error=None)


@router.post("/signin")
async def signin(request: Request) -> Response:
    """Exchange an API key for a session: the case service says whose key it is."""
    form = await checked_presession_form(request)
    app = console(request)
    key = form.get("api_key")
    language = app.sessions.language(request.cookies.get(LANGUAGE_COOKIE))
    try:
        token, session = await app.sessions.sign_in(key if isinstance(key, str) else "", language)
    except SignInRefused as exc:
        return render(request, "signin.html", status=401 if exc.reason == "unknown_key"
                      else 502, page="signin", reason=None,
                      next=safe_next(form.get("next")), error=f"signin.{exc.reason}")
    response = redirect(safe_next(form.get("next")) or home(session.role))
    set_cookie(response, request, SESSION_COOKIE, token)
    clear_cookie(response, request, PRESESSION_COOKIE)
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    """End the session and forget the cookie."""
    current = await current_user(request)
    await checked_form(request, current)
    await console(request).sessions.sign_out(current.session)
    response = redirect("/signin", reason="signed_out")
    clear_cookie(response, request, SESSION_COOKIE)
    return response


@router.post("/language")
async def language(request: Request) -> Response:
    """Switch between Chinese and English (kept in the session, or a cookie before
    sign-in); back to the page the switch was on."""
    app = console(request)
    try:
        current = await current_user(request)
    except SignInRequired:
        current = None
    form = await (checked_form(request, current) if current
                  else checked_presession_form(request))
    wanted = form.get("language")
    chosen = app.sessions.language(wanted if isinstance(wanted, str) else None)
    response = redirect(safe_next(form.get("next")) or "/")
    if current is not None:
        await app.sessions.set_language(current.session, chosen)
    set_cookie(response, request, LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600)
    return response
