"""The relay restarts after a broker outage with growing waits (casetrail.retry), keeps the
outage in its readiness, and a stop ends a wait at once instead of after it."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
from case_service.adapters import relay as relay_module
from case_service.adapters.relay import Relay
from casetrail.kafka import KafkaSettings


def test_a_relay_waiting_to_restart_after_a_broker_outage_stops_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    starts: list[float] = []
    real = relay_module.idempotent_producer

    def counting(settings: KafkaSettings, **options: Any) -> Any:
        starts.append(time.monotonic())
        return real(settings, **options)

    monkeypatch.setattr(relay_module, "idempotent_producer", counting)
    relay = Relay(read_log=lambda after, limit: [], last_position=lambda: 0,
                  positions=None,  # type: ignore[arg-type]  # never reached: no broker
                  settings=KafkaSettings(bootstrap_servers="127.0.0.1:1"))

    async def scenario() -> float:
        stop = asyncio.Event()
        restarts = asyncio.create_task(relay._relay_with_restarts(stop))
        while len(starts) < 3:  # after waits of 0.5 s and 1 s; the next wait is 2 s
            await asyncio.sleep(0.02)
            assert not restarts.done(), restarts
        await asyncio.sleep(0.2)  # into the third failure's wait
        stop.set()
        asked = time.monotonic()
        await asyncio.wait_for(restarts, 5)
        return time.monotonic() - asked

    assert asyncio.run(scenario()) < 0.5
    waits = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert waits[1] > waits[0] >= 0.4  # backing off
    assert relay.broker_error == "KafkaConnectionError"
