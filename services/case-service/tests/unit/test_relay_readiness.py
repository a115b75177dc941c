"""The relay's readiness: standby, broker unreachable, too far behind, ready."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from case_service.adapters.relay import Relay
from casetrail.kafka import KafkaSettings


def relay(**state: Any) -> Relay:
    r = Relay(read_log=lambda after, limit: [], last_position=lambda: 0,
              positions=None,  # type: ignore[arg-type]
              settings=KafkaSettings(bootstrap_servers="unused:9092"), max_lag=100)
    for name, value in state.items():
        setattr(r, name, value)
    return r


def readiness(r: Relay) -> dict[str, object]:
    return asyncio.run(r.readiness())


def test_a_standby_relay_is_ready_without_relaying() -> None:
    assert readiness(relay(active=False)) == {"role": "standby"}


def test_an_active_relay_that_cannot_reach_kafka_is_not_ready() -> None:
    with pytest.raises(RuntimeError, match="Kafka unreachable: KafkaConnectionError"):
        readiness(relay(active=True, lag=0, broker_error="KafkaConnectionError"))


def test_an_active_relay_too_far_behind_is_not_ready() -> None:
    with pytest.raises(RuntimeError, match="relay lag 101 exceeds 100"):
        readiness(relay(active=True, lag=101))


def test_an_active_relay_within_its_lag_is_ready() -> None:
    assert readiness(relay(active=True, lag=5, position=42)) == {
        "role": "active", "position": 42, "lag": 5}


def test_a_relay_before_its_first_round_is_not_ready() -> None:
    with pytest.raises(RuntimeError, match="has not completed a round"):
        readiness(relay(active=True))
