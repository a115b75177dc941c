"""The group committer on its own (no database): saves queued while a batch is written go
into the next batch together, in the order they were queued; each save gets its own outcome;
a batch that fails as a whole fails every save in it, and the committer goes on."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import pytest
from case_service.adapters.eventstore.group_commit import (
    CommitterClosed,
    GroupCommitter,
    SaveRequest,
)
from eventsourcing.persistence import IntegrityError, StoredEvent


def stored(n: int = 1) -> list[StoredEvent]:
    case_id = uuid4()
    return [StoredEvent(originator_id=case_id, originator_version=v, topic="t", state=b"{}")
            for v in range(1, n + 1)]


class FakeLog:
    """A write_batch that hands out positions, refuses saves marked as conflicting, and can
    hold its first batch until released."""

    def __init__(self, hold_first: bool = False):
        self.batches: list[list[SaveRequest]] = []
        self.position = 0
        self.holding = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self.fail_batch: tuple[int, BaseException] | None = None  # (batch number, error)

    def write_batch(self, requests: Sequence[SaveRequest]) -> list[Any]:
        self.batches.append(list(requests))
        if len(self.batches) == 1:
            self.holding.set()
            assert self.release.wait(10)
        if self.fail_batch is not None and self.fail_batch[0] == len(self.batches):
            raise self.fail_batch[1]
        outcomes: list[Any] = []
        for request in requests:
            if request.writer == "conflict":
                outcomes.append(IntegrityError("version conflict"))
                continue
            ids = list(range(self.position + 1, self.position + 1 + len(request.stored_events)))
            self.position += len(request.stored_events)
            outcomes.append(ids)
        return outcomes


def test_saves_queued_during_a_batch_are_written_together_in_queue_order() -> None:
    log = FakeLog(hold_first=True)
    committer = GroupCommitter(log.write_batch)
    try:
        first = committer.submit(stored())
        assert log.holding.wait(10)
        queued = [committer.submit(stored(2)) for _ in range(5)]
        log.release.set()
        assert first.result(10) == [1]
        assert [f.result(10) for f in queued] == [[2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]
        assert [len(b) for b in log.batches] == [1, 5]
        assert committer.batches == 2
        assert committer.saves == 6
    finally:
        committer.close()


def test_a_conflicting_save_gets_its_own_error_and_its_neighbours_their_positions() -> None:
    log = FakeLog(hold_first=True)
    committer = GroupCommitter(log.write_batch)
    try:
        committer.submit(stored())
        assert log.holding.wait(10)
        before = committer.submit(stored())
        loser = committer.submit(stored(), "conflict")
        after = committer.submit(stored())
        log.release.set()
        assert before.result(10) == [2]
        with pytest.raises(IntegrityError):
            loser.result(10)
        assert after.result(10) == [3]
    finally:
        committer.close()


def test_a_batch_that_fails_as_a_whole_fails_each_of_its_saves_and_the_next_one_runs() -> None:
    log = FakeLog()
    committer = GroupCommitter(log.write_batch)
    try:
        assert committer.submit(stored()).result(10) == [1]  # the first batch
        log.fail_batch = (2, OSError("connection lost"))
        log.release.clear()
        log.batches.clear()  # the next batch is held as the first was
        log.holding.clear()
        held = committer.submit(stored())
        assert log.holding.wait(10)
        doomed = [committer.submit(stored()) for _ in range(3)]
        log.release.set()
        assert held.result(10) == [2]
        for future in doomed:
            with pytest.raises(OSError, match="connection lost"):
                future.result(10)
        assert committer.submit(stored()).result(10) == [3]
    finally:
        committer.close()


def test_a_batch_takes_no_more_events_than_its_limit() -> None:
    log = FakeLog(hold_first=True)
    committer = GroupCommitter(log.write_batch, max_events=4)
    try:
        committer.submit(stored())
        assert log.holding.wait(10)
        futures = [committer.submit(stored(2)) for _ in range(5)]
        log.release.set()
        for future in futures:
            future.result(10)
        assert [sum(len(r.stored_events) for r in b) for b in log.batches] == [1, 4, 4, 2]
    finally:
        committer.close()


def test_close_writes_what_is_queued_then_refuses_new_saves() -> None:
    log = FakeLog(hold_first=True)
    committer = GroupCommitter(log.write_batch)
    committer.submit(stored())
    assert log.holding.wait(10)
    queued = committer.submit(stored())
    closing = threading.Thread(target=committer.close)
    closing.start()
    log.release.set()
    closing.join(10)
    assert queued.result(10) == [2]
    with pytest.raises(CommitterClosed):
        committer.submit(stored())
