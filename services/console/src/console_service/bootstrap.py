"""Builds the console from settings; every piece can be overridden in tests."""

from __future__ import annotations

from datetime import timedelta

import httpx
from casetrail.clock import SYSTEM_CLOCK, Clock
from casetrail.projections.store import make_engine

from console_service.adapters.catalogs import Catalogs
from console_service.adapters.services import ServiceClients
from console_service.adapters.sessions import SessionStore
from console_service.application import ConsoleApplication
from console_service.config import ConsoleSettings
from console_service.domain.sessions import SessionPolicy


def build(settings: ConsoleSettings | None = None, *, migrate: bool | None = None,
          clock: Clock = SYSTEM_CLOCK, transport: httpx.AsyncBaseTransport | None = None
          ) -> ConsoleApplication:
    """The console wired to its own database and to the three services' URLs."""
    settings = settings or ConsoleSettings()
    engine = make_engine(settings.database_url)
    policy = SessionPolicy(idle=timedelta(minutes=settings.session_idle_minutes),
                           absolute=timedelta(hours=settings.session_absolute_hours))
    sessions = SessionStore(engine, policy, clock)
    if settings.create_schema if migrate is None else migrate:
        sessions.create_schema()
    clients = ServiceClients({"case": settings.case_url, "contact": settings.contact_url,
                              "billing": settings.billing_url},
                             timeout=settings.api_timeout_seconds, transport=transport)
    return ConsoleApplication(sessions, clients, Catalogs.load(), settings.default_language)
