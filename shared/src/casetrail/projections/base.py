"""What a projection is: tables, a handler per event, and where its database lives."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import entry_points
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from casetrail.envelope import EventEnvelope

# A page of rows derived straight from the event store: (events read, {table: rows}).
StoreRows = tuple[int, dict[sa.Table, list[dict[str, Any]]]]


class Projection(ABC):
    """A read model built from case events. Handlers write only through the given connection,
    inside the transaction that also records the consumed position."""

    name: str  # consumer group suffix and tracking key, e.g. "contact-log"
    metadata: sa.MetaData  # the projection's tables
    # Where it lives: its service's factory sets `url` from that service's settings; a
    # projection without a service (tests) reads DATABASE_URL.
    url: str | None = None
    database_env: str = "DATABASE_URL"
    default_database_url: str = "sqlite:///var/projections.db"
    event_types: frozenset[str] | None = None  # None: every type
    # Tables the handlers read but the projection does not own: created with it, never
    # cleared by a rebuild (e.g. configuration records with effective times).
    reads_metadata: tuple[sa.MetaData, ...] = ()
    # The indexes (by name) that the handlers' own queries need, or None for all of them. A
    # rebuild loads its shadow without the others and builds each once at the end: a sort,
    # instead of an index entry per row per index (about twice as cheap on PostgreSQL).
    replay_indexes: frozenset[str] | None = None
    # A read model its own service writes in the transaction that stores the events (the
    # case list) is never consumed from a transport: a rebuild reads the event store through
    # that service's application instead (`rows_from_store`), and `handle` is not used.
    rebuilt_from_store: bool = False
    # A field of each case's opening event (e.g. "debtor_id") such that the handlers, applying
    # the events of cases that differ in it, never read or write each other's rows. A rebuild
    # from the event store may then apply the log in shares by it, one process per share
    # (`rebuild.rebuild_from_log_in_shares`). None: one process applies the whole log.
    share_field: str | None = None

    def database_url(self) -> str:
        """This projection's database: its service's (`url`), else the env var it names, or
        its default."""
        return self.url or os.environ.get(self.database_env) or self.default_database_url

    def handles(self, event_type: str) -> bool:
        """Whether the handler wants events of this type (others are tracked, not handled)."""
        return self.event_types is None or event_type in self.event_types

    @abstractmethod
    def handle(self, conn: Connection, event: EventEnvelope) -> None:
        """Apply one event to the read model."""

    def rows_from_store(self, application: Any, *, through: int, part: tuple[int, int]
                        ) -> Iterator[StoreRows]:
        """For a projection `rebuilt_from_store`: its rows as of log position `through`,
        derived from the event store by its service's application, page by page; with `part`
        = (i, n) only the i-th of n disjoint parts (workers in parallel build one each)."""
        raise TypeError(f"{self.name} is rebuilt by replaying events, not from the store")

    def prepare_batch(self, conn: Connection, events: Sequence[EventEnvelope]) -> None:
        """Called before a batch's events are handled, in its transaction, with the events
        the projection will handle: a chance to read in one query what the handlers would
        otherwise read one event at a time (keep it in `store.batch_scratch`). By default,
        nothing."""
        return None


def installed() -> list[str]:
    """Names of the installed projections (entry-point group `casetrail.projections`)."""
    return sorted(ep.name for ep in entry_points(group="casetrail.projections"))


def load(name: str) -> Projection:
    """Build one installed projection (only its service is imported)."""
    for ep in entry_points(group="casetrail.projections", name=name):
        factory: Callable[[], Projection] = ep.load()
        return factory()
    raise LookupError(f"unknown projection {name!r}; installed: {installed()}")
