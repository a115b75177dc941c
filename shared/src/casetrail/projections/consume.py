"""Builds a projection's runner from configuration: Kafka when configured, else the feed."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from casetrail.kafka import KafkaSettings
from casetrail.projections.base import Projection, load
from casetrail.projections.runners import FeedProjectionRunner, KafkaProjectionRunner
from casetrail.projections.store import ProjectionStore, make_engine
from casetrail.settings import CommonSettings, ensure_dev_secrets


class FeedSettings(BaseSettings):
    """Where the embedded transport pulls events from (prefix CASE_EVENTS_)."""

    model_config = SettingsConfigDict(env_prefix="CASE_EVENTS_", extra="ignore",
                                      hide_input_in_errors=True)  # URLs and keys are secrets

    url: str = Field(default="http://127.0.0.1:8000", description="the case service's base URL")
    api_key: str | None = Field(default=None, description="an auditor key for GET /v1/events")
    wait_seconds: float = 10.0


def projection_url(projection: Projection) -> str:
    """The projection's database (`Projection.database_url`)."""
    return projection.database_url()


def projection_store(projection: Projection) -> ProjectionStore:
    """The projection's store in its service's database."""
    return ProjectionStore(make_engine(projection_url(projection)), projection)


def source(transport: str, common: CommonSettings
           ) -> tuple[KafkaSettings | None, tuple[str, str] | None]:
    """Where events come from: (Kafka settings, None) or (None, (feed URL, API key))."""
    kafka = KafkaSettings()
    if transport == "kafka" or (transport == "auto" and kafka.enabled):
        if not kafka.enabled:
            raise LookupError("--transport kafka needs KAFKA_BOOTSTRAP_SERVERS")
        return kafka, None
    if transport not in ("feed", "auto"):
        raise LookupError(f"unknown transport {transport!r}: kafka, feed or auto")
    feed = FeedSettings()
    key = feed.api_key
    if key is None:
        if common.env == "production":
            raise LookupError("the feed transport needs CASE_EVENTS_API_KEY in production")
        key = ensure_dev_secrets(common.var_dir).plain_keys()["dev-auditor"]
    return None, (feed.url, key)


def build_runner(name: str, transport: str, common: CommonSettings
                 ) -> KafkaProjectionRunner | FeedProjectionRunner:
    """The runner for `casetrail consume NAME`."""
    projection = load(name)
    if projection.rebuilt_from_store:
        raise LookupError(f"{name} is written by its service with the events; nothing to "
                          f"consume (check it with `casetrail projections rebuild {name} "
                          "--verify`)")
    store = projection_store(projection)
    kafka, feed = source(transport, common)
    if kafka is not None:
        return KafkaProjectionRunner(store, kafka, max_lag=common.ready_max_lag)
    assert feed is not None
    return FeedProjectionRunner(store, feed[0], feed[1], wait=FeedSettings().wait_seconds,
                                max_lag=common.ready_max_lag)
