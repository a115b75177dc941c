"""How the `casetrail` CLI finds this service: `casetrail serve case`, `casetrail migrate case`."""

from __future__ import annotations

import asyncio

from casetrail.plugins import ServicePlugin


def _migrate() -> str:
    from case_service.bootstrap import build_application

    app = build_application(migrate=True)
    app.close()
    return "case-service schema is up to date"


async def _relay(stop: asyncio.Event) -> None:
    from casetrail.kafka import KafkaSettings

    from case_service.adapters.relay import Relay
    from case_service.bootstrap import build_application

    settings = KafkaSettings()
    if not settings.enabled:
        raise SystemExit("the relay publishes to Kafka: set KAFKA_BOOTSTRAP_SERVERS "
                         "(without Kafka, consumers pull GET /v1/events instead)")
    app = build_application()
    try:
        await Relay(app, settings).run(stop)
    finally:
        app.close()


plugin = ServicePlugin(
    name="case",
    app_factory="case_service.entrypoints.app:create_app",
    default_port=8000,
    migrate=_migrate,
    relay=_relay,
)
