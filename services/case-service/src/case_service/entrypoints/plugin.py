"""How the `casetrail` CLI finds this service: `casetrail serve case`, `casetrail migrate case`,
`casetrail relay`, `casetrail deadlines` and its audit and pii commands."""

from __future__ import annotations

import asyncio
from typing import Any

from casetrail.plugins import Commands, ServicePlugin


def _migrate() -> str:
    """`casetrail migrate case`: the event store's tables (the library's) and the service's
    own tables, upgraded to the newest revision of its alembic history."""
    from case_service.bootstrap import migrate_database

    return f"case-service schema is up to date (revision {migrate_database()})"


class RelayWorker:
    """`casetrail relay`: the case application plus its outbox relay, as one worker."""

    def __init__(self) -> None:
        from casetrail.kafka import KafkaSettings
        from casetrail.settings import CommonSettings

        from case_service.bootstrap import build_application, build_relay
        from case_service.config import CaseSettings

        settings = KafkaSettings()
        if not settings.enabled:
            raise SystemExit("the relay publishes to Kafka: set KAFKA_BOOTSTRAP_SERVERS "
                             "(without Kafka, consumers pull GET /v1/events instead)")
        case_settings = CaseSettings()
        self.app = build_application(case_settings)
        self.relay = build_relay(self.app, settings, shard=case_settings.shard,
                                 max_lag=CommonSettings().ready_max_lag)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until stopped."""
        try:
            await self.relay.run(stop)
        finally:
            self.app.close()

    async def readiness(self) -> dict[str, Any]:
        """The relay's readiness, after checking the database answers."""
        await asyncio.to_thread(self.app.last_position)
        return await self.relay.readiness()


def deadline_worker() -> Any:
    from casetrail.settings import CommonSettings

    from case_service.bootstrap import build_application
    from case_service.config import CaseSettings
    from case_service.entrypoints.deadlines import DeadlineWorker

    settings = CaseSettings()
    return DeadlineWorker(build_application(settings, migrate=False),
                          poll_seconds=settings.deadline_poll_seconds,
                          max_lag_seconds=CommonSettings().ready_max_lag)


def _cli() -> Commands:
    from case_service.entrypoints.cli import commands

    return commands()


def _application() -> Any:
    from case_service.bootstrap import build_application

    return build_application(migrate=False)


plugin = ServicePlugin(
    name="case",
    app_factory="case_service.entrypoints.app:create_app",
    default_port=8000,
    migrate=_migrate,
    relay=RelayWorker,
    application=_application,
    workers={"deadlines": deadline_worker},
    cli=_cli,
)
