"""The case service's eventsourcing Application: the only code that loads and saves cases.

It keeps what an eventsourcing Application is for: the repository (`get_case`), `save` (with
the case list rows written in the same transaction), commands run under its concurrency rule
(`execute`), and the log (`log_page`). The use cases that decide what to load and save live
beside it, one module per capability (placement.py, views.py, deadlines.py, ...).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any
from uuid import UUID

from anyio import to_thread
from casetrail.clock import DEFAULT_TIMEZONE, SYSTEM_CLOCK, Clock
from casetrail.envelope import EventEnvelope, LogPage, LogShare
from casetrail.metrics import EVENTS_APPENDED
from casetrail.refresh_cache import RefreshingCache
from casetrail.retry import retrying, retrying_async
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, StoredEvent, Transcoding

from case_service.adapters.audit import AuditLog
from case_service.adapters.case_list import summarize
from case_service.adapters.case_store import CaseStore
from case_service.adapters.eventstore import CaseLog, EventsTable, Opening
from case_service.adapters.integration import event_type
from case_service.adapters.pii_vault import PiiVault
from case_service.adapters.registry import RegistryStore
from case_service.application.errors import CaseNotFound, VersionConflict
from case_service.domain.case import Case

COMMAND_RETRIES = 3  # a command without an expected version, run again after a lost race


class DateAsISO(Transcoding):
    """Dates (due dates, term ends) as ISO strings in stored events."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


@dataclass(frozen=True)
class CommandResult:
    """What a command did: the case's new version and status, and whether anything changed."""

    case_id: UUID
    version: int
    status: str
    outstanding: str
    recorded: bool
    events: list[str]

    @classmethod
    def of(cls, case: Case, *, recorded: bool, events: list[str]) -> CommandResult:
        """The result for a case after a command."""
        return cls(case_id=case.id, version=case.version, status=case.status.value,
                   outstanding=str(case.outstanding), recorded=recorded, events=events)


@dataclass(frozen=True)
class _Decided:
    """A command that recorded events on a case, not yet saved."""

    case: Case
    pending: list[Any]
    outcome: Any

    def result(self) -> CommandResult:
        """The command's answer once its events are saved."""
        return CommandResult.of(self.case, recorded=self.outcome is not False,
                                events=[event_type(e) for e in self.pending])


class _Stale(Exception):
    """The command ran on a version other than the one the caller expected."""

    def __init__(self, current_version: int, expected_version: int):
        super().__init__(f"case is at version {current_version}, not {expected_version}")
        self.current_version = current_version


# Seconds another process may go on with a creditor's previous allocation rules, or an
# agency's previous collectors, after one process stored a new version (that one sees
# it at once).
RULES_TTL = 2.0
REGISTRY_TTL = 2.0


class CaseApplication(Application[UUID]):
    """Collection cases, event-sourced."""

    name = "cases"
    is_snapshotting_enabled = False

    def __init__(self, env: dict[str, str], store: CaseStore, vault: PiiVault,
                 audit_factory: Callable[[EventsTable], AuditLog] | None = None, *,
                 clock: Clock = SYSTEM_CLOCK, default_timezone: str = DEFAULT_TIMEZONE):
        super().__init__(env=env)
        self.clock = clock  # every rule here that reads "now" reads this
        self.default_timezone = default_timezone  # a creditor's zone unless its rules say
        self.store = store
        self.vault = vault
        self.case_log = CaseLog(self.recorder, self.mapper)
        self._audit_factory = audit_factory
        # creditor id -> its rules: the rules commands consult (the action-code catalogue on
        # every contact), read at most every RULES_TTL seconds, by one thread at a time.
        self.rules_cache: RefreshingCache[Any] = RefreshingCache(RULES_TTL)
        # The agency registry (application/registry.py) and, per agency, its collectors:
        # contacts are checked against them, read at most every REGISTRY_TTL seconds.
        self.registry = RegistryStore(store.engine)
        self.collectors_cache: RefreshingCache[Any] = RefreshingCache(REGISTRY_TTL)
        # Where certificates read the parties' legal details (None: they print ids only).
        self.parties: Any = None

    @cached_property
    def audit(self) -> AuditLog:
        """The tamper-evident log (built on first use: it needs the signing key)."""
        if self._audit_factory is None:
            raise RuntimeError("this application was built without an audit log")
        return self._audit_factory(self.case_log.events)

    def close(self) -> None:
        """Write the saves still queued, then close the event store and the service's other
        tables."""
        close_committer = getattr(self.recorder, "close_committer", None)
        if close_committer is not None:
            close_committer()
        super().close()
        self.store.close()

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Save as the library does, and count the events appended by type."""
        recordings = super().save(*objs, **kwargs)
        for recording in recordings:
            EVENTS_APPENDED.labels(event_type(recording.domain_event)).inc()
        return recordings

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Add dates to the library's default transcodings."""
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # ------------------------------------------------------------------ the repository

    def get_case(self, case_id: UUID, version: int | None = None) -> Case:
        """Load a case (at a version), or raise CaseNotFound."""
        try:
            case: Case = self.repository.get(case_id, version=version)
        except AggregateNotFoundError:
            raise CaseNotFound(str(case_id)) from None
        return case

    def case_events(self, case_id: UUID) -> list[Any]:
        """Every stored event of a case, as domain events, oldest first."""
        return list(self.events.get(case_id))

    def execute(self, case_id: UUID, command: Callable[[Case], Any], *,
                expected_version: int | None, authorize: Callable[[Case], None],
                retries: int = COMMAND_RETRIES) -> CommandResult:
        """Load, authorize, run a domain command and save; retries races unless a version was set.

        With an expected version the caller asked for optimistic concurrency, so a stale
        version or a lost race is reported (409). Without one, a lost race is run again on
        fresh state (up to `retries` more times): facts like payments must not fail because
        someone else wrote first.
        """
        try:
            for attempt in retrying(1 if expected_version is not None else retries + 1,
                                    on=IntegrityError):
                with attempt:
                    return self._execute_once(case_id, command, expected_version, authorize)
        except IntegrityError:
            raise VersionConflict("another writer changed the case first") from None
        except _Stale as stale:
            raise VersionConflict(str(stale), stale.current_version) from None
        raise AssertionError("unreachable")

    async def execute_async(self, case_id: UUID, command: Callable[[Case], Any], *,
                            expected_version: int | None, authorize: Callable[[Case], None],
                            retries: int = COMMAND_RETRIES) -> CommandResult:
        """`execute` for the event loop: the load and the command run on a worker thread
        (they read the database and spend CPU), which hands the encoded events to the group
        commit (recorders.py); the loop then awaits the commit without holding a thread. The
        same rules and answers as `execute`. The first attempt runs outside the retry loop:
        nearly every command needs no other, and setting the loop up cost a twentieth of a
        command's CPU (profiled under `bench/commands.py`)."""
        attempts = 1 if expected_version is not None else retries + 1
        try:
            try:
                return await self._execute_once_async(case_id, command, expected_version,
                                                      authorize)
            except IntegrityError:
                if attempts == 1:
                    raise
            async for attempt in retrying_async(attempts - 1, on=IntegrityError):
                with attempt:
                    return await self._execute_once_async(case_id, command, expected_version,
                                                          authorize)
        except IntegrityError:
            raise VersionConflict("another writer changed the case first") from None
        except _Stale as stale:
            raise VersionConflict(str(stale), stale.current_version) from None
        raise AssertionError("unreachable")

    def _decide(self, case_id: UUID, command: Callable[[Case], Any],
                expected_version: int | None, authorize: Callable[[Case], None]
                ) -> CommandResult | _Decided:
        """Load, authorize and run the command: the answer if it recorded nothing, else what
        it recorded, to be saved."""
        case = self.get_case(case_id)
        authorize(case)
        stale = expected_version is not None and case.version != expected_version
        try:
            outcome = command(case)
        except Exception:
            if stale:  # the caller decided on old state: report that, not the symptom
                raise _Stale(case.version, expected_version or 0) from None
            raise
        pending = case.collect_events()
        if not pending:
            # Nothing to record (an idempotent retry of a payment or contact already
            # recorded): the answer is the same whatever version the caller expected.
            return CommandResult.of(case, recorded=False, events=[])
        if stale:
            raise _Stale(case.version - len(pending), expected_version or 0)
        return _Decided(case, list(pending), outcome)

    def _execute_once(self, case_id: UUID, command: Callable[[Case], Any],
                      expected_version: int | None, authorize: Callable[[Case], None]
                      ) -> CommandResult:
        decided = self._decide(case_id, command, expected_version, authorize)
        if isinstance(decided, CommandResult):
            return decided
        self.save(*decided.pending,
                  in_transaction=self.case_log.writer([summarize(decided.case)]))
        return decided.result()

    async def _execute_once_async(self, case_id: UUID, command: Callable[[Case], Any],
                                  expected_version: int | None,
                                  authorize: Callable[[Case], None]) -> CommandResult:
        prepared = await to_thread.run_sync(self._decide_and_submit, case_id, command,
                                            expected_version, authorize)
        if isinstance(prepared, CommandResult):
            return prepared
        decided, saved = prepared
        # Shielded: a caller that goes away does not withdraw a save already queued.
        await asyncio.shield(asyncio.wrap_future(saved))
        for event in decided.pending:
            EVENTS_APPENDED.labels(event_type(event)).inc()
        return decided.result()

    def _decide_and_submit(self, case_id: UUID, command: Callable[[Case], Any],
                           expected_version: int | None, authorize: Callable[[Case], None]
                           ) -> CommandResult | tuple[_Decided, Future[list[int]]]:
        """`_decide`, then what `save` does before the recorder (the library's
        `events.put`: each event encoded by the mapper), and the save queued: the future of
        its positions. (No aggregate cache or snapshots: the case application has neither.)"""
        decided = self._decide(case_id, command, expected_version, authorize)
        if isinstance(decided, CommandResult):
            return decided
        return decided, self.submit_save(*self.encode_save(decided.case, decided.pending))

    def encode_save(self, case: Case, pending: Sequence[Any]) -> tuple[list[StoredEvent], Any]:
        """What `save` does before the recorder for a case's new events: each encoded by the
        mapper (the library's `events.put`), and the case list row written in the same
        transaction."""
        return ([self.mapper.to_stored_event(e) for e in pending],
                self.case_log.writer([summarize(case)]))

    def submit_save(self, stored: list[StoredEvent], writer: Any) -> Future[list[int]]:
        """Queue an encoded save for the group commit: the future of its positions (with a
        recorder of the library's own, written now on this thread; no positions)."""
        submit = getattr(self.recorder, "submit", None)
        if submit is None:
            self.recorder.insert_events(stored, in_transaction=writer)
            done: Future[list[int]] = Future()
            done.set_result([])
            return done
        future: Future[list[int]] = submit(stored, in_transaction=writer)
        return future

    def open_cases(self, openings: Sequence[Opening], receipt: dict[str, Any]) -> None:
        """Store the opening events of new cases, their case list rows and a placement's
        receipt in one transaction (raises IntegrityError if any already exists)."""
        self.case_log.open_cases(openings, receipt, save=self.save)

    # ------------------------------------------------------------------ the log

    def log_page(self, after: int, limit: int, types: Collection[str] | None = None,
                 share: LogShare | None = None) -> LogPage:
        """The next `limit` events after a position, with only those of `types` (None: all)
        decoded into envelopes; with a `share`, only its cases' events."""
        return self.case_log.page(after, limit, types, share)

    def events_after(self, after: int, limit: int) -> list[EventEnvelope]:
        """The global event feed: envelopes after a position, in order."""
        return self.case_log.page(after, limit).events

    def last_position(self) -> int:
        """The position of the newest event (0 for an empty log)."""
        return self.case_log.last_position()
