"""A long-lived process freezes its start-up heap (casetrail.heap): the API worker once it has
built its app, a relay or consumer once it has built its worker."""

from __future__ import annotations

import asyncio
import gc
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from casetrail import heap, serving
from casetrail.settings import CommonSettings
from casetrail.workers import run_worker


@pytest.fixture(autouse=True)
def unfrozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts and ends with nothing frozen (the test process is not a server), and
    the serving factory leaves this process's logging as it is (configuring it here changed
    what later tests read from their captured output)."""
    monkeypatch.setattr(serving, "configure_logging", lambda *_, **__: None)
    gc.unfreeze()
    yield
    gc.unfreeze()


def tracked(obj: object) -> bool:
    """Whether a collection would scan `obj` (frozen objects are in no generation)."""
    return any(o is obj for o in gc.get_objects())


def test_settle_moves_what_is_alive_out_of_the_collections_and_later_objects_stay_in() -> None:
    before = ["made before"]
    assert tracked(before)
    frozen = heap.settle()
    assert frozen == gc.get_freeze_count() > 0
    assert not tracked(before)
    after = ["made after"]
    assert tracked(after)


def test_settle_collects_the_garbage_first_rather_than_freezing_it() -> None:
    class Cycle:
        other: Any = None

    a, b = Cycle(), Cycle()
    a.other, b.other = b, a
    marker = [a]
    del a, b
    gc.disable()  # nothing but settle() collects in between
    try:
        marker.clear()  # the pair is now unreachable garbage, still tracked
        assert any(isinstance(o, Cycle) for o in gc.get_objects())
        heap.settle()
        assert not any(isinstance(o, Cycle) for o in gc.get_objects())
        gc.unfreeze()  # were they frozen instead of freed, they would be back now
        assert not any(isinstance(o, Cycle) for o in gc.get_objects())
    finally:
        gc.enable()


def test_the_serving_factory_settles_the_heap_after_building_the_app(
        monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("casetrail_test_factory")
    seen: dict[str, int] = {}

    def build() -> list[str]:
        seen["frozen while building"] = gc.get_freeze_count()
        return ["the app"]

    module.build = build  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "casetrail_test_factory", module)
    monkeypatch.setenv(serving.FACTORY_ENV, "casetrail_test_factory:build")
    built = serving.app()
    assert built == ["the app"]
    assert seen["frozen while building"] == 0
    assert gc.get_freeze_count() > 0
    assert not tracked(built)  # the app itself is part of the settled heap


def test_a_worker_runs_with_its_start_up_heap_frozen() -> None:
    class Worker:
        def __init__(self) -> None:
            self.state = ["built at start-up"]
            self.frozen_while_running = 0
            self.state_tracked = True

        async def run(self, stop: asyncio.Event) -> None:
            self.frozen_while_running = gc.get_freeze_count()
            self.state_tracked = tracked(self.state)

        async def readiness(self) -> dict[str, Any]:
            return {}

    worker = Worker()
    assert tracked(worker.state)
    run_worker(worker, CommonSettings(metrics_port=None))
    assert worker.frozen_while_running > 0
    assert not worker.state_tracked


def test_with_gc_freeze_off_nothing_is_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("casetrail_test_factory_off")
    module.build = lambda: ["the app"]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "casetrail_test_factory_off", module)
    monkeypatch.setenv(serving.FACTORY_ENV, "casetrail_test_factory_off:build")
    monkeypatch.setenv("CASETRAIL_GC_FREEZE", "false")
    serving.app()
    assert gc.get_freeze_count() == 0

    class Worker:
        frozen_while_running = -1

        async def run(self, stop: asyncio.Event) -> None:
            self.frozen_while_running = gc.get_freeze_count()

        async def readiness(self) -> dict[str, Any]:
            return {}

    worker = Worker()
    run_worker(worker, CommonSettings(metrics_port=None, gc_freeze=False))
    assert worker.frozen_while_running == 0
