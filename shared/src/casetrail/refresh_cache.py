"""A per-process cache of slowly changing records (a creditor's rules, an agency's
collectors) that commands consult on every request.

A value is read again once it is `ttl` seconds old, by one thread only: the other threads
asking for the same key meanwhile go on with the value they had (at most one reload's
duration older than `ttl` allows) instead of all reading it at once. Without that, every
request arriving in the instant the value expires queried the database together: under a
dialer's load, 16 threads read the same row, and the connection pool opened connections for
them, every `ttl` seconds. A thread that finds no value at all waits for the one reading it.

`invalidate` drops a key at once (the process that writes a record sees it on its next
command), and a reload that began before it does not put its older value back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass
class _Entry(Generic[V]):
    value: V
    expires: float


class RefreshingCache(Generic[V]):
    """Values by key, each reloaded by a single thread once `ttl` seconds old."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic):
        self.ttl, self._clock = ttl, clock
        self._entries: dict[Hashable, _Entry[V]] = {}
        self._loading: dict[Hashable, threading.Lock] = {}
        self._generation: dict[Hashable, int] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        """The key's value: the cached one while fresh; otherwise `load()`'s, called by one
        thread while others keep the value they had (or wait for it when there is none)."""
        entry = self._entries.get(key)
        if entry is not None and entry.expires > self._clock():
            return entry.value
        with self._guard:
            lock = self._loading.setdefault(key, threading.Lock())
        if not lock.acquire(blocking=entry is None):
            assert entry is not None
            return entry.value  # another thread is reading it: go on with the one we had
        try:
            current = self._entries.get(key)
            if current is not None and current.expires > self._clock():
                return current.value  # read by the thread we waited for
            with self._guard:
                generation = self._generation.get(key, 0)
            value = load()
            with self._guard:
                if self._generation.get(key, 0) == generation:
                    self._entries[key] = _Entry(value, self._clock() + self.ttl)
            return value
        finally:
            lock.release()

    def invalidate(self, key: Hashable) -> None:
        """Drop the key's value: the next `get` reads it again, and a reload already under
        way does not keep what it read."""
        with self._guard:
            self._entries.pop(key, None)
            self._generation[key] = self._generation.get(key, 0) + 1
