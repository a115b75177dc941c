"""The relay wakes on new events: on PostgreSQL a commit's NOTIFY brings it to read the log
at once (an hour-long poll interval never comes into play), a lost notification or a lost
listening connection only falls back to polling, and on SQLite it polls adaptively: soon
after a round that published, less and less often while the log stays idle.

Nothing here is timed: each test writes while the relay could otherwise only be asleep, and
asserts what it published (the ledger equals a replay of the log) and in what order.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from case_service.adapters import relay as relay_module
from case_service.adapters.relay import (
    LISTENER_NAME,
    MIN_POLL_SECONDS,
    LogNotifications,
    Relay,
    log_notifications,
)
from case_service.bootstrap import build_relay
from casetrail.envelope import EventEnvelope

from tests.transport.harness import Harness, wait_for

pytestmark = pytest.mark.kafka

AN_HOUR = 3600.0


def postgres_harness(kafka_bootstrap: str, pg_schemas: Any) -> Harness:
    return Harness("kafka", pg_schemas("case"), pg_schemas("ledger"), kafka_bootstrap,
                   f"test-{os.urandom(5).hex()}")


def counting_reads(relay: Relay) -> list[int]:
    """The size of every page the relay reads, in order."""
    pages: list[int] = []
    read_log = relay.read_log

    def counted(after: int, limit: int) -> list[EventEnvelope]:
        page = read_log(after, limit)
        pages.append(len(page))
        return page

    relay.read_log = counted  # type: ignore[method-assign]
    return pages


async def caught_up(h: Harness) -> None:
    total = len(await asyncio.to_thread(h.log))
    await wait_for(lambda: h.applied_count() >= total, message=f"{total} applications")


async def idle_and_listening(relay: Relay, pages: list[int]) -> None:
    """Until the relay listens and its last read found nothing new (it waits for a
    notification now). Called once the consumer has every event the relay read, the last
    read is either that page or the empty one after it, so waiting for a read after this
    call would wait for the poll interval whenever the empty read came first: a race."""
    notifications = relay.notifications
    assert notifications is not None
    await wait_for(notifications.listening.is_set, message="LISTEN in place")
    await wait_for(lambda: bool(pages) and pages[-1] == 0, message="an empty read")


def test_on_postgres_a_commit_wakes_the_relay_before_its_poll_interval(
        kafka_bootstrap: str, pg_schemas: Any) -> None:
    h = postgres_harness(kafka_bootstrap, pg_schemas)
    relay = build_relay(h.app, h.kafka, poll_seconds=AN_HOUR)
    assert isinstance(relay.notifications, LogNotifications)
    pages = counting_reads(relay)

    async def scenario() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(relay.run(stop)),
                 asyncio.create_task(h.consumer().run(stop))]
        cases = await asyncio.to_thread(h.place, 10)
        await caught_up(h)
        for i in range(3):  # each written while the relay waits, with an hour to go
            await idle_and_listening(relay, pages)
            await asyncio.to_thread(h.contact, cases[i], f"woken-{i}")
            await caught_up(h)
        stop.set()
        await asyncio.gather(*tasks)

    try:
        asyncio.run(scenario())
        h.assert_exactly_once()
        assert len(h.log()) == 13
    finally:
        h.close()


def test_a_lost_notification_only_delays_the_relay_to_its_poll_interval(
        kafka_bootstrap: str, pg_schemas: Any) -> None:
    h = postgres_harness(kafka_bootstrap, pg_schemas)
    found = log_notifications(h.app.recorder)
    assert found is not None
    # Listening where nobody notifies: every notification is lost.
    silent = LogNotifications(found.connect_kwargs, f"nobody_{os.urandom(4).hex()}")
    relay = build_relay(h.app, h.kafka, poll_seconds=0.2, notifications=silent)
    pages = counting_reads(relay)

    async def scenario() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(relay.run(stop)),
                 asyncio.create_task(h.consumer().run(stop))]
        await idle_and_listening(relay, pages)
        cases = await asyncio.to_thread(h.place, 10)
        await asyncio.to_thread(h.contact, cases[0], "unannounced")
        await caught_up(h)
        stop.set()
        await asyncio.gather(*tasks)

    try:
        asyncio.run(scenario())
        h.assert_exactly_once()
        assert len(h.log()) == 11
    finally:
        h.close()


def test_a_lost_listening_connection_is_reopened_and_nothing_waits_for_the_poll(
        kafka_bootstrap: str, pg_schemas: Any) -> None:
    h = postgres_harness(kafka_bootstrap, pg_schemas)
    found = log_notifications(h.app.recorder)
    assert found is not None
    assert found.application_name == LISTENER_NAME
    # A name of its own, so that only this test's listener is ended (not another relay's).
    name = f"{LISTENER_NAME}-{os.urandom(4).hex()}"
    notifications = LogNotifications(found.connect_kwargs, found.channel,
                                     application_name=name)
    relay = build_relay(h.app, h.kafka, poll_seconds=AN_HOUR, notifications=notifications)
    pages = counting_reads(relay)
    engine = h.store.engine  # the same server: end the listener's session from outside

    def kill_listener() -> int:
        with engine.begin() as conn:
            return len(conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %(name)s", {"name": name}).all())

    async def scenario() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(relay.run(stop)),
                 asyncio.create_task(h.consumer().run(stop))]
        cases = await asyncio.to_thread(h.place, 5)
        await caught_up(h)
        await idle_and_listening(relay, pages)
        assert await asyncio.to_thread(kill_listener) >= 1
        await asyncio.to_thread(h.contact, cases[0], "while the listener was gone")
        await caught_up(h)
        await idle_and_listening(relay, pages)  # listening again
        await asyncio.to_thread(h.contact, cases[1], "after it came back")
        await caught_up(h)
        stop.set()
        await asyncio.gather(*tasks)

    try:
        asyncio.run(scenario())
        h.assert_exactly_once()
        assert len(h.log()) == 7
    finally:
        h.close()


def test_on_sqlite_the_relay_polls_soon_after_publishing_and_backs_off_when_idle(
        kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness("kafka", f"sqlite:///{tmp_path}/case.db", f"sqlite:///{tmp_path}/ledger.db",
                kafka_bootstrap, f"test-{os.urandom(5).hex()}")
    poll = 0.08
    relay = build_relay(h.app, h.kafka, poll_seconds=poll)
    assert relay.notifications is None  # SQLite sends none
    pages = counting_reads(relay)
    rounds: list[tuple[str, float]] = []  # ("read", page size) and ("pause", seconds)
    sleep = relay_module._sleep_or_stop

    async def recorded(stop: asyncio.Event, seconds: float) -> None:
        rounds.append(("pause", seconds))
        await sleep(stop, seconds)

    monkeypatch.setattr(relay_module, "_sleep_or_stop", recorded)
    read_log = relay.read_log

    def read(after: int, limit: int) -> list[EventEnvelope]:
        page = read_log(after, limit)
        rounds.append(("read", len(page)))
        return page

    relay.read_log = read  # type: ignore[method-assign]

    async def scenario() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(relay.run(stop)),
                 asyncio.create_task(h.consumer().run(stop))]
        cases = await asyncio.to_thread(h.place, 10)
        await caught_up(h)
        await wait_for(lambda: ("pause", poll) in rounds, message="backed off to the poll")
        await asyncio.to_thread(h.contact, cases[0], "after a while")
        await caught_up(h)
        stop.set()
        await asyncio.gather(*tasks)

    try:
        asyncio.run(scenario())
        h.assert_exactly_once()
        assert pages
        # After every round that published, an empty read waits MIN_POLL_SECONDS, then each
        # wait doubles up to the poll interval.
        published = [i for i, (kind, n) in enumerate(rounds) if kind == "read" and n]
        assert len(published) >= 2
        for i in published:
            pauses = []
            for kind, value in rounds[i + 1:]:
                if kind == "read" and value:
                    break  # published again (events came in meanwhile)
                if kind == "pause":
                    pauses.append(value)
            assert pauses == [min(MIN_POLL_SECONDS * 2 ** k, poll) for k in range(len(pauses))]
        idle = [s for kind, s in rounds if kind == "pause"]
        assert max(idle) == poll
    finally:
        h.close()
