"""Kafka settings and the producer/admin settings every casetrail process uses.

aiokafka's defaults do not fit an exactly-once design (no idempotence, read_uncommitted,
auto-commit, start at latest), so every option that matters is set here, once.
"""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

log = structlog.get_logger("casetrail.kafka")

CASE_EVENTS_TOPIC = "casetrail.case-events"


class KafkaSettings(BaseSettings):
    """Where Kafka is and how the case-event topic is shaped (prefix KAFKA_)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore",
                                      hide_input_in_errors=True)  # URLs and keys are secrets

    bootstrap_servers: str | None = Field(
        default=None, description="host:port[,host:port]; unset selects the embedded transport")
    topic: str = CASE_EVENTS_TOPIC
    partitions: int = Field(default=12, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    min_insync_replicas: int | None = None
    client_id: str = "casetrail"

    @property
    def dead_letter_topic(self) -> str:
        """Where messages that cannot be decoded or handled go, with their error."""
        return f"{self.topic}.dlq"

    @property
    def enabled(self) -> bool:
        """Whether the Kafka transport is selected."""
        return bool(self.bootstrap_servers)


def idempotent_producer(settings: KafkaSettings, **overrides: object) -> AIOKafkaProducer:
    """A producer that never duplicates on its own retries and waits for all replicas."""
    options: dict[str, object] = {
        "bootstrap_servers": settings.bootstrap_servers, "client_id": settings.client_id,
        "enable_idempotence": True, "acks": "all", "linger_ms": 5,
        "max_batch_size": 256 * 1024, "request_timeout_ms": 30_000,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


async def ensure_topics(settings: KafkaSettings) -> None:
    """Create the case-event topic (replayable: unlimited retention) and its dead-letter topic."""
    configs = {"retention.ms": "-1", "cleanup.policy": "delete"}
    if settings.min_insync_replicas:
        configs["min.insync.replicas"] = str(settings.min_insync_replicas)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers,
                                client_id=f"{settings.client_id}-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(settings.topic, settings.partitions, settings.replication_factor,
                     topic_configs=configs),
            NewTopic(settings.dead_letter_topic, 1, settings.replication_factor,
                     topic_configs=configs),
        ]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            response = await admin.create_topics(missing)
            for name, code, *rest in response.topic_errors:
                # 36: created meanwhile by another process, which is just as good.
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"could not create topic {name}: {code} {rest}")
            log.info("created topics", topics=[t.name for t in missing])
        for _ in range(50):  # metadata propagates asynchronously after creation
            if {t.name for t in wanted} <= set(await admin.list_topics()):
                return
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
