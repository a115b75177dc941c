"""The billing database as the use cases see it: a connection to read in, a transaction to
write in, and one signal for a write another request made first."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

__all__ = ["Connection", "Database", "WriteConflict"]


class WriteConflict(Exception):
    """A unique key refused the write: a concurrent request stored the same version, period,
    number or ledger entry first, and nothing of this transaction was kept. Read again."""


class Database:
    """Connections to the billing database (the service's engine)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads that belong together."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A transaction: committed when the block ends, rolled back if it raises;
        WriteConflict if a unique key refused a write (at the statement or at commit)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise WriteConflict(str(exc.orig)) from exc
