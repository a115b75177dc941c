"""RefreshingCache: one reload per expiry, whoever asks meanwhile."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from casetrail.refresh_cache import RefreshingCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class HeldLoad:
    """A load that blocks until released, counting its calls."""

    def __init__(self, value: str):
        self.value, self.calls = value, 0
        self.started, self.release = threading.Event(), threading.Event()

    def __call__(self) -> str:
        self.calls += 1
        self.started.set()
        self.release.wait(5)
        return self.value


def test_a_fresh_value_is_not_read_again_and_an_old_one_is() -> None:
    clock, reads = FakeClock(), []
    cache: RefreshingCache[int] = RefreshingCache(2.0, clock)

    def load() -> int:
        reads.append(clock.now)
        return len(reads)

    assert cache.get("k", load) == 1
    clock.now = 1.9
    assert cache.get("k", load) == 1
    clock.now = 2.0
    assert cache.get("k", load) == 2
    assert reads == [0.0, 2.0]
    assert cache.get("other", load) == 3  # each key its own


def test_an_expired_value_is_read_by_one_thread_while_the_others_go_on_with_the_old() -> None:
    clock = FakeClock()
    cache: RefreshingCache[str] = RefreshingCache(2.0, clock)
    cache.get("k", lambda: "old")
    clock.now = 5.0
    slow_load = HeldLoad("new")

    with ThreadPoolExecutor(1) as pool:
        reloading = pool.submit(cache.get, "k", slow_load)
        assert slow_load.started.wait(5)
        # While it reads, others asking get the value they had, at once, without reading.
        assert [cache.get("k", slow_load) for _ in range(10)] == ["old"] * 10
        slow_load.release.set()
        assert reloading.result(5) == "new"
    assert slow_load.calls == 1
    assert cache.get("k", slow_load) == "new"


def test_threads_finding_no_value_wait_for_the_one_reading_it() -> None:
    cache: RefreshingCache[str] = RefreshingCache(2.0, FakeClock())
    calls, gate = [], threading.Barrier(8)

    def load() -> str:
        calls.append(1)
        return "value"

    def ask() -> str:
        gate.wait(5)
        return cache.get("k", load)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: ask(), range(8)))
    assert answers == ["value"] * 8
    assert calls == [1]


def test_a_reload_begun_before_an_invalidation_does_not_put_its_value_back() -> None:
    cache: RefreshingCache[str] = RefreshingCache(2.0, FakeClock())
    stale_read = HeldLoad("read before the write")

    with ThreadPoolExecutor(1) as pool:
        reading = pool.submit(cache.get, "k", stale_read)
        assert stale_read.started.wait(5)
        cache.invalidate("k")  # a new version was written meanwhile
        stale_read.release.set()
        assert reading.result(5) == "read before the write"  # its caller still gets it
    assert cache.get("k", lambda: "after the write") == "after the write"


def test_a_failed_read_is_not_kept_and_the_next_caller_reads_again() -> None:
    cache: RefreshingCache[str] = RefreshingCache(2.0, FakeClock())

    def broken() -> str:
        raise ConnectionError("database gone")

    with pytest.raises(ConnectionError):
        cache.get("k", broken)
    assert cache.get("k", lambda: "back") == "back"
