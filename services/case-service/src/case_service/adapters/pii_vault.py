"""Field-level PII encryption under per-debtor data keys (crypto-shreddable)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from casetrail import crypto
from casetrail.crypto import MasterKey

from case_service.adapters.debtor_keys import DebtorKeys, KeyPurge


class PiiVault:
    """Seals and opens debtor PII; keys live wrapped in the database, the master key does not.

    Unwrapped keys are cached for `cache_seconds`, but never trusted for longer than
    `erasure_check_seconds` without a look at the erasure generation, a counter every erasure
    moves on in the transaction that destroys the key (`DebtorKeys.destroy_key`). When it has
    moved, the whole cache is dropped, so a debtor erased through any process stops being
    shown by every other one within that time plus one query."""

    def __init__(self, store: DebtorKeys, master: MasterKey, *, cache_seconds: float = 30.0,
                 cache_size: int = 50_000, erasure_check_seconds: float = 0.5):
        self.store = store
        self.master = master
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self.erasure_check_seconds = erasure_check_seconds
        self._cache: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self._check_lock = threading.Lock()
        self._generation: int | None = None  # the erasure generation the cache belongs to
        self._checked_at = float("-inf")
        self.last_purge: KeyPurge | None = None  # what the last `erase` did to the files

    def debtor_id(self, creditor_id: str, national_id: str) -> str:
        """A stable debtor id that reveals nothing about the national id without the master key."""
        return "d-" + self.master.blind_index(creditor_id, national_id)[:32]

    def ensure_keys(self, debtor_ids: Sequence[str]) -> dict[str, bytes]:
        """Data keys for these debtors, creating the missing ones (idempotent, race-safe).
        An erased debtor is left out of the answer: their key is never created again, so
        nothing new can be sealed for them (callers refuse or drop what they would seal)."""
        wanted = list(dict.fromkeys(debtor_ids))
        keys = self._cached(wanted)
        missing = [d for d in wanted if d not in keys]
        if missing:
            loaded, erased = self._load_with_erased(missing)
            keys.update(loaded)
            to_create = [d for d in missing if d not in keys and d not in erased]
            if to_create:
                now = datetime.now(UTC).isoformat()
                generation = self._generation
                fresh = {d: crypto.new_data_key() for d in to_create}
                stored = self.store.insert_keys([
                    (d, self.master.key_id, self.master.wrap(fresh[d], d), now)
                    for d in to_create])
                ours = {d: k for d, k in fresh.items() if d in stored}
                self._remember(ours, generation)
                keys.update(ours)
                lost = [d for d in to_create if d not in ours]
                if lost:  # a concurrent writer's key won (or an erasure came first)
                    keys.update(self._load(lost))
        return keys

    def seal(self, debtor_id: str, data_key: bytes, pii: dict[str, Any]) -> str:
        """Encrypt a debtor's PII record."""
        return crypto.seal(data_key, debtor_id, orjson.dumps(pii))

    def open(self, debtor_id: str, sealed: str) -> dict[str, Any] | None:
        """Decrypt a debtor's PII record; None once the debtor's key was destroyed."""
        keys = self._cached([debtor_id]) or self._load([debtor_id])
        key = keys.get(debtor_id)
        if key is None:
            return None
        result: dict[str, Any] = orjson.loads(crypto.unseal(key, debtor_id, sealed))
        return result

    def rotate_master(self, progress: Callable[[int], None] | None = None,
                      batch: int = 1_000) -> int:
        """Re-wrap every live data key not yet under the current master key (unwrapped under
        a previous one), a batch per transaction; returns how many were re-wrapped. The
        services keep serving throughout: they unwrap under either key. Safe to re-run."""
        rewrapped, after = 0, ""
        while rows := self.store.keys_to_rewrap(self.master.key_id, after, batch):
            updates = []
            for debtor_id, old_key_id, wrapped in rows:
                data_key = self.master.unwrap(wrapped, debtor_id)
                updates.append((debtor_id, old_key_id, self.master.wrap(data_key, debtor_id),
                                self.master.key_id))
            done = self.store.rewrap_keys(updates)
            rewrapped += done
            after = rows[-1][0]
            if progress is not None:
                progress(len(rows))
        return rewrapped

    def erase(self, debtor_id: str) -> bool:
        """Destroy a debtor's data key: their PII becomes unreadable everywhere, for good.
        Then purge every stored copy of the wrapped key from the database files (see
        `DebtorKeys.purge_key_copies`; also run for a debtor erased before, to finish an
        interrupted purge). Returns False when the debtor had no live key."""
        self.last_purge = None
        with self._lock:
            self._cache.pop(debtor_id, None)
        destroyed = self.store.destroy_key(debtor_id, datetime.now(UTC).isoformat())
        if destroyed or self.store.key_destroyed(debtor_id):
            self.last_purge = self.store.purge_key_copies(debtor_id)
        return destroyed

    def _cached(self, debtor_ids: Sequence[str]) -> dict[str, bytes]:
        self._check_erasures()
        now = time.monotonic()
        found: dict[str, bytes] = {}
        with self._lock:
            for debtor_id in debtor_ids:
                entry = self._cache.get(debtor_id)
                if entry is not None and now - entry[0] < self.cache_seconds:
                    found[debtor_id] = entry[1]
        return found

    def _check_erasures(self) -> None:
        """Drop every cached key if an erasure happened anywhere since the last look; look
        at most every `erasure_check_seconds` (one single-row read)."""
        if time.monotonic() - self._checked_at < self.erasure_check_seconds:
            return
        with self._check_lock:
            started = time.monotonic()
            if started - self._checked_at < self.erasure_check_seconds:
                return  # another thread just looked
            generation = self.store.erasure_generation()
            with self._lock:
                if generation != self._generation:
                    self._cache.clear()
                    self._generation = generation
            self._checked_at = started

    def _load(self, debtor_ids: Sequence[str]) -> dict[str, bytes]:
        return self._load_with_erased(debtor_ids)[0]

    def _load_with_erased(self, debtor_ids: Sequence[str]) -> tuple[dict[str, bytes], set[str]]:
        """Live keys read from the store, and the debtors whose key was destroyed."""
        generation = self._generation  # before the read: see _remember
        rows = self.store.wrapped_keys(debtor_ids)
        keys, erased = {}, set()
        for debtor_id, row in rows.items():
            if row["wrapped_key"] is None:
                erased.add(debtor_id)  # shredded
                continue
            keys[debtor_id] = self.master.unwrap(row["wrapped_key"], debtor_id)
        self._remember(keys, generation)
        return keys, erased

    def _remember(self, keys: dict[str, bytes], generation: int | None) -> None:
        """Cache keys read while the cache belonged to `generation`. If an erasure was
        noticed meanwhile, a key read before it may be the erased one: not cached."""
        now = time.monotonic()
        with self._lock:
            if generation != self._generation:
                return
            for debtor_id, key in keys.items():
                self._cache[debtor_id] = (now, key)
                self._cache.move_to_end(debtor_id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
