"""What a projection is: tables, a handler per event, and where its database lives."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from casetrail.envelope import EventEnvelope


class Projection(ABC):
    """A read model built from case events. Handlers write only through the given connection,
    inside the transaction that also records the consumed position."""

    name: str  # consumer group suffix and tracking key, e.g. "contact-log"
    metadata: sa.MetaData  # the projection's tables
    database_env: str = "DATABASE_URL"  # the env var naming this projection's database
    default_database_url: str = "sqlite:///var/projections.db"
    event_types: frozenset[str] | None = None  # None: every type
    # Tables the handlers read but the projection does not own: created with it, never
    # cleared by a rebuild (e.g. configuration records with effective times).
    reads_metadata: tuple[sa.MetaData, ...] = ()
    # The indexes (by name) that the handlers' own queries need, or None for all of them. A
    # rebuild loads its shadow without the others and builds each once at the end: a sort,
    # instead of an index entry per row per index (about twice as cheap on PostgreSQL).
    replay_indexes: frozenset[str] | None = None

    def handles(self, event_type: str) -> bool:
        """Whether the handler wants events of this type (others are tracked, not handled)."""
        return self.event_types is None or event_type in self.event_types

    @abstractmethod
    def handle(self, conn: Connection, event: EventEnvelope) -> None:
        """Apply one event to the read model."""

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
