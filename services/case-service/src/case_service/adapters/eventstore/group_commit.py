"""Group commit: concurrent saves of one process share one transaction, one table lock and
one fsync, and each still gets its own answer.

A save hands its already-encoded stored events (and its in-transaction writer) to the
process's `GroupCommitter` and waits on a future: `result()` from a thread, or
`asyncio.wrap_future` from the event loop. The committer is one thread. It takes whatever saves
are queued (up to `max_events` events), gives them to the recorder's `write_batch` (one
transaction; on PostgreSQL the EXCLUSIVE lock is held for SQL only, see recorders.py), and
resolves each save's future with its own positions, or with its own exception (a version
conflict is one save's IntegrityError, never its neighbours'). While one batch commits the
next one queues up, so under load batches grow by themselves and at low load a save waits for
nobody: there is no timer.

Saves are written in the order they were queued, so positions within a batch follow it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import StoredEvent


@dataclass
class SaveRequest:
    """One save waiting for the group commit: its stored events, its in-transaction writer
    (None: none), what the recorder prepared for it before the lock (its leaves' inputs) and
    the future of its positions."""

    stored_events: Sequence[StoredEvent]
    writer: Any = None
    prepared: Any = None
    future: Future[list[int]] = field(default_factory=Future)


# What a recorder writes for a batch: each save's positions, or the exception that save (and
# only that one) failed with, in the order of the saves.
BatchWriter = Callable[[Sequence[SaveRequest]], Sequence["list[int] | BaseException"]]


class CommitterClosed(RuntimeError):
    """The group committer was closed: no save is taken any more."""


class GroupCommitter:
    """One thread that writes queued saves in shared transactions (see the module docstring)."""

    def __init__(self, write_batch: BatchWriter, *, max_events: int = 1_000,
                 name: str = "group-commit"):
        self._write_batch = write_batch
        self.max_events = max_events
        self._name = name
        self._queue: deque[SaveRequest] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.batches = 0  # batches written (for tests and the bench: saves per transaction)
        self.saves = 0

    def submit(self, stored_events: Sequence[StoredEvent], writer: Any = None,
               prepared: Any = None) -> Future[list[int]]:
        """Queue a save; its future gives its positions or raises its own error."""
        request = SaveRequest(stored_events, writer, prepared)
        with self._ready:
            if self._closed:
                raise CommitterClosed("the event store is closed")
            if self._thread is None:  # started on first use: after any fork, in its process
                self._thread = threading.Thread(target=self._run, name=self._name,
                                                daemon=True)
                self._thread.start()
            self._queue.append(request)
            self._ready.notify()
        return request.future

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _take(self) -> list[SaveRequest] | None:
        with self._ready:
            while not self._queue:
                if self._closed:
                    return None
                self._ready.wait()
            batch = [self._queue.popleft()]
            events = len(batch[0].stored_events)
            while self._queue and events + len(self._queue[0].stored_events) <= self.max_events:
                request = self._queue.popleft()
                events += len(request.stored_events)
                batch.append(request)
            return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            live = [r for r in batch if r.future.set_running_or_notify_cancel()]
            if not live:
                continue
            try:
                outcomes = self._write_batch(live)
            except BaseException as error:  # every waiter must hear of it
                for request in live:
                    request.future.set_exception(error)
                continue
            self.batches += 1
            self.saves += len(live)
            for request, outcome in zip(live, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    request.future.set_exception(outcome)
                else:
                    request.future.set_result(outcome)
