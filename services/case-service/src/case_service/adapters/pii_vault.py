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

from case_service.adapters.case_store import CaseStore


class PiiVault:
    """Seals and opens debtor PII; keys live wrapped in the database, the master key does not."""

    def __init__(self, store: CaseStore, master: MasterKey, *, cache_seconds: float = 30.0,
                 cache_size: int = 50_000):
        self.store = store
        self.master = master
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def debtor_id(self, creditor_id: str, national_id: str) -> str:
        """A stable debtor id that reveals nothing about the national id without the master key."""
        return "d-" + self.master.blind_index(creditor_id, national_id)[:32]

    def ensure_keys(self, debtor_ids: Sequence[str]) -> dict[str, bytes]:
        """Data keys for these debtors, creating the missing ones (idempotent, race-safe)."""
        wanted = list(dict.fromkeys(debtor_ids))
        keys = self._cached(wanted)
        missing = [d for d in wanted if d not in keys]
        if missing:
            keys.update(self._load(missing))
            to_create = [d for d in missing if d not in keys]
            if to_create:
                now = datetime.now(UTC).isoformat()
                fresh = {d: crypto.new_data_key() for d in to_create}
                stored = self.store.insert_keys([
                    (d, self.master.key_id, self.master.wrap(fresh[d], d), now)
                    for d in to_create])
                ours = {d: k for d, k in fresh.items() if stored is not None and d in stored}
                self._remember(ours)
                keys.update(ours)
                lost = [d for d in to_create if d not in ours]
                if lost:  # a concurrent writer's key won: use the stored one
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
        """Destroy a debtor's data key: their PII becomes unreadable everywhere, for good."""
        with self._lock:
            self._cache.pop(debtor_id, None)
        return self.store.destroy_key(debtor_id, datetime.now(UTC).isoformat())

    def _cached(self, debtor_ids: Sequence[str]) -> dict[str, bytes]:
        now = time.monotonic()
        found: dict[str, bytes] = {}
        with self._lock:
            for debtor_id in debtor_ids:
                entry = self._cache.get(debtor_id)
                if entry is not None and now - entry[0] < self.cache_seconds:
                    found[debtor_id] = entry[1]
        return found

    def _load(self, debtor_ids: Sequence[str]) -> dict[str, bytes]:
        rows = self.store.wrapped_keys(debtor_ids)
        keys = {}
        for debtor_id, row in rows.items():
            if row["wrapped_key"] is None:
                continue  # shredded
            keys[debtor_id] = self.master.unwrap(row["wrapped_key"], debtor_id)
        self._remember(keys)
        return keys

    def _remember(self, keys: dict[str, bytes]) -> None:
        now = time.monotonic()
        with self._lock:
            for debtor_id, key in keys.items():
                self._cache[debtor_id] = (now, key)
                self._cache.move_to_end(debtor_id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
