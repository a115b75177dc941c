"""Builds the console from settings; every piece can be overridden in tests.

    entrypoints (pages) -> bootstrap -> application (use cases) -> adapters -> domain
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from casetrail.clock import SYSTEM_CLOCK, Clock
from casetrail.projections.store import make_engine

from console_service.adapters import schema
from console_service.adapters.catalogs import Catalogs
from console_service.adapters.services import ServiceClients
from console_service.adapters.sessions import SessionStore
from console_service.application import ConsoleApplication, Placements, Sessions
from console_service.config import ConsoleSettings
from console_service.domain.sessions import SessionPolicy


def migrate(settings: ConsoleSettings | None = None) -> str:
    """Create or upgrade the console's table (alembic, to the newest revision); returns the
    revision it is at (`casetrail migrate console`)."""
    return schema.migrate((settings or ConsoleSettings()).database_url)


def build(settings: ConsoleSettings | None = None, *, migrate: bool | None = None,
          clock: Clock = SYSTEM_CLOCK, transport: httpx.AsyncBaseTransport | None = None
          ) -> ConsoleApplication:
    """The console wired to its own database and to the three services' URLs. With `migrate`
    (default: the setting `create_schema`) the database is upgraded first, as `casetrail
    migrate console` does."""
    settings = settings or ConsoleSettings()
    if settings.create_schema if migrate is None else migrate:
        schema.migrate(settings.database_url)
    policy = SessionPolicy(idle=timedelta(minutes=settings.session_idle_minutes),
                           absolute=timedelta(hours=settings.session_absolute_hours))
    store = SessionStore(make_engine(settings.database_url), policy, clock)
    clients = ServiceClients({"case": settings.case_url, "contact": settings.contact_url,
                              "billing": settings.billing_url},
                             timeout=settings.api_timeout_seconds, transport=transport)
    return ConsoleApplication(sessions=Sessions(store, clients, settings.default_language),
                              placements=Placements(), catalogs=Catalogs.load(),
                              clients=clients)
