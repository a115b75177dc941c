"""Builds the contact service from settings; every piece can be overridden in tests."""

from __future__ import annotations

from dataclasses import dataclass

from casetrail.projections.store import ProjectionStore, make_engine
from sqlalchemy.engine import Engine

from contact_service.adapters.contact_log import ContactLog
from contact_service.adapters.queries import ContactQueries
from contact_service.config import ContactSettings


@dataclass
class ContactService:
    """What the contact service's entrypoints use."""

    settings: ContactSettings
    engine: Engine
    contact_log: ProjectionStore
    queries: ContactQueries

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def build(settings: ContactSettings | None = None, *, migrate: bool | None = None
          ) -> ContactService:
    """The contact service wired to its own database."""
    settings = settings or ContactSettings()
    engine = make_engine(settings.database_url)
    contact_log = ProjectionStore(engine, ContactLog())
    if settings.create_schema if migrate is None else migrate:
        contact_log.create_schema()
    return ContactService(settings=settings, engine=engine, contact_log=contact_log,
                          queries=ContactQueries(engine))
