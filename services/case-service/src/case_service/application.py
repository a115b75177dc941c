"""The case application: commands in, primitives out. The only code that loads and saves cases."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Any
from uuid import UUID

import orjson
from casetrail import figures
from casetrail.clock import DEFAULT_TIMEZONE, SYSTEM_CLOCK, Clock
from casetrail.crypto import contact_point_ref, mask
from casetrail.envelope import EventEnvelope, LogPage
from casetrail.metrics import EVENTS_APPENDED
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from case_service.adapters.audit import AuditLog
from case_service.adapters.case_store import CaseStore, CaseSummary
from case_service.adapters.pii_vault import PiiVault
from case_service.adapters.stored_events import placed_event
from case_service.domain.allocation import NO_RULES, AllocationRules
from case_service.domain.case import PROMISE_DUE, Case, case_id_for, day_end, local_day
from case_service.domain.values import CURRENT, PAID, CaseStatus, ContactPoint
from case_service.integration import (
    apply_stored_event,
    envelope_from_row,
    envelope_from_stored,
    event_data,
    event_type,
    stored_as_plain_json,
    topic_type,
)

ACK_DEADLINE = timedelta(hours=1)  # the tender: placements are acknowledged within 1 hour
REPLAY_PAGE = 20_000  # events per read when replaying every case (`replay_cases`)


class CaseNotFound(Exception):
    """No such case (or none the caller may see)."""


class VersionConflict(Exception):
    """The caller's expected version is stale, or another writer got there first."""

    def __init__(self, message: str, current_version: int | None = None):
        super().__init__(message)
        self.current_version = current_version


class PlacementConflict(Exception):
    """A placement reference was reused for a different batch."""


class DebtorErased(Exception):
    """The debtor's personal data was erased on request: nothing new is sealed for them."""

    def __init__(self, debtor_id: str):
        super().__init__(f"the personal data of debtor {debtor_id} was erased on request: "
                         "no number or address can be stored for them again; record the "
                         "contact without contact_point")
        self.debtor_id = debtor_id


class DateAsISO(Transcoding):
    """Dates (due dates, term ends) as ISO strings in stored events."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


@dataclass(frozen=True)
class DebtorInput:
    """A debtor as placed: PII fields are sealed before anything is stored."""

    name: str
    national_id: str
    phones: tuple[str, ...]
    address: str | None
    email: str | None
    timezone: str


@dataclass(frozen=True)
class AccountInput:
    """One validated account row of a placement."""

    index: int
    account_ref: str
    currency: str
    balances: dict[str, Decimal]
    dpd: int
    debtor: DebtorInput
    agency_id: str | None = None
    term_end: date | None = None
    product: str | None = None


@dataclass
class PlacementBatch:
    """A creditor's batch after row validation: good rows, and rows already rejected."""

    creditor_id: str
    placement_ref: str
    received_at: datetime
    request_sha256: str
    accounts: list[AccountInput]
    rejected: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CommandResult:
    """What a command did: the case's new version and status, and whether anything changed."""

    case_id: UUID
    version: int
    status: str
    outstanding: str
    recorded: bool
    events: list[str]


class CaseApplication(Application[UUID]):
    """Collection cases, event-sourced."""

    name = "cases"
    is_snapshotting_enabled = False

    def __init__(self, env: dict[str, str], store_factory: Callable[[Any], CaseStore],
                 vault_factory: Callable[[CaseStore], PiiVault],
                 audit_factory: Callable[[CaseStore], AuditLog] | None = None, *,
                 clock: Clock = SYSTEM_CLOCK, default_timezone: str = DEFAULT_TIMEZONE):
        super().__init__(env=env)
        self.clock = clock  # every rule here that reads "now" reads this
        self.default_timezone = default_timezone  # a creditor's zone unless its rules say
        self.store = store_factory(self.recorder)
        self.vault = vault_factory(self.store)
        self._audit_factory = audit_factory

    @cached_property
    def audit(self) -> AuditLog:
        """The tamper-evident log (built on first use: it needs the signing key)."""
        if self._audit_factory is None:
            raise RuntimeError("this application was built without an audit log")
        return self._audit_factory(self.store)

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

    # ------------------------------------------------------------------ placements

    def place(self, batch: PlacementBatch, actor: str, *, _retries: int = 2
              ) -> tuple[dict[str, Any], bool]:
        """Open a case per new account; returns (receipt, replayed). Idempotent twice over."""
        previous = self.store.receipt(batch.creditor_id, batch.placement_ref)
        if previous is not None:
            if previous["request_sha256"] != batch.request_sha256:
                raise PlacementConflict(
                    f"placement {batch.placement_ref!r} was already received with other content")
            return previous, True
        rules = self.allocation_rules(batch.creditor_id)
        zone = self.creditor_timezone(rules)
        placed_on = local_day(batch.received_at, zone)  # the creditor's day
        ids = [str(case_id_for(batch.creditor_id, a.account_ref)) for a in batch.accounts]
        existing = self.store.existing_case_ids(ids)
        rejected = list(batch.rejected)
        accepted: list[dict[str, Any]] = []
        to_open: list[tuple[AccountInput, str, str, str, date, dict[str, Any]]] = []
        seen: set[str] = set()
        for account, case_id in zip(batch.accounts, ids, strict=True):
            if case_id in seen:
                rejected.append(_rejection(account.index, account.account_ref, "account_ref",
                                           "account appears twice in this placement"))
                continue
            seen.add(case_id)
            if case_id in existing:
                accepted.append({"index": account.index, "account_ref": account.account_ref,
                                 "case_id": case_id, "outcome": "already_placed"})
                continue
            bucket = rules.bucket(account.dpd)
            if bucket is None:
                rejected.append(_rejection(account.index, account.account_ref, "dpd",
                                           f"no bucket covers {account.dpd} days past due"))
                continue
            agency_id = account.agency_id
            allocation: dict[str, Any] = {"method": "named"}
            if agency_id is None:
                share = rules.allocate(UUID(case_id), bucket)
                if share is None:
                    rejected.append(_rejection(
                        account.index, account.account_ref, "agency_id",
                        f"no agency named and no allocation rule for bucket {bucket}"))
                    continue
                agency_id = share.agency_id
                allocation = {"method": "rules", "rules_version": rules.version}
            term_end = account.term_end or (
                placed_on + timedelta(days=rules.default_term_days))
            if term_end < placed_on:
                rejected.append(_rejection(account.index, account.account_ref, "term_end",
                                           "placement term ends before the placement"))
                continue
            to_open.append((account, case_id, agency_id, bucket, term_end, allocation))
            accepted.append({"index": account.index, "account_ref": account.account_ref,
                             "case_id": case_id, "outcome": "placed", "agency_id": agency_id,
                             "bucket": bucket})

        debtor_ids = [self.vault.debtor_id(batch.creditor_id, a.debtor.national_id)
                      for a, *_ in to_open]
        keys = self.vault.ensure_keys(debtor_ids)
        openings: list[tuple[str, dict[str, Any]]] = []  # (case id, the Placed event's facts)
        for (account, case_id, agency_id, bucket, term_end, allocation), debtor_id in zip(
                to_open, debtor_ids, strict=True):
            if debtor_id not in keys:  # erased on request: their data is never taken again
                accepted = [a for a in accepted if a["index"] != account.index]
                rejected.append(_rejection(
                    account.index, account.account_ref, "debtor",
                    "this debtor's personal data was erased on request; no account can be "
                    "placed for them again"))
                continue
            debtor = account.debtor
            sealed = self.vault.seal(debtor_id, keys[debtor_id], {
                "name": debtor.name, "national_id": debtor.national_id,
                "phones": list(debtor.phones), "address": debtor.address, "email": debtor.email,
            })
            openings.append((case_id, {  # Case(...)'s arguments, in its signature's order
                "creditor_id": batch.creditor_id, "account_ref": account.account_ref,
                "placement_ref": batch.placement_ref, "agency_id": agency_id,
                "allocation": allocation, "debtor_id": debtor_id, "debtor_pii": sealed,
                "debtor_timezone": debtor.timezone, "contact_points": len(debtor.phones),
                "currency": account.currency, "balances": account.balances, "dpd": account.dpd,
                "bucket": bucket, "product": account.product, "placed_at": batch.received_at,
                "term_end": term_end, "actor": actor, "creditor_timezone": zone,
                "delinquent_since": placed_on - timedelta(days=account.dpd),
            }))
        acknowledged_at = self.clock.now()
        receipt: dict[str, Any] = {
            "creditor_id": batch.creditor_id,
            "placement_ref": batch.placement_ref,
            "request_sha256": batch.request_sha256,
            "received_at": batch.received_at.isoformat(),
            "acknowledged_at": acknowledged_at.isoformat(),
            "acknowledge_by": (batch.received_at + ACK_DEADLINE).isoformat(),
            "acknowledged_within_deadline": acknowledged_at - batch.received_at <= ACK_DEADLINE,
            "counts": {
                "received": len(batch.accounts) + len(batch.rejected),
                "placed": len(openings),
                "already_placed": len(accepted) - len(openings),
                "rejected": len(rejected),
            },
            "accepted": sorted(accepted, key=lambda r: r["index"]),
            "rejected": sorted(rejected, key=lambda r: r["index"]),
        }
        try:
            self._open_cases(openings, receipt)
        except IntegrityError:
            # Another request placed one of these accounts, or this very placement, meanwhile.
            if _retries <= 0:
                raise
            return self.place(batch, actor, _retries=_retries - 1)
        return receipt, False

    def _open_cases(self, openings: list[tuple[str, dict[str, Any]]],
                    receipt: dict[str, Any]) -> None:
        """Store the opening events, case summaries and the receipt in one transaction."""
        if stored_as_plain_json(self.mapper):
            # The events in the library's stored form, written directly (see stored_events).
            opened_at = datetime.now(UTC)  # the library's recorded time, as its events have
            stored = [placed_event(UUID(case_id), opened_at, facts)
                      for case_id, facts in openings]
            self.recorder.insert_events(stored, in_transaction=self.store.writer(
                [summarize_opening(case_id, facts, opened_at) for case_id, facts in openings],
                receipt))
            EVENTS_APPENDED.labels("Placed").inc(len(stored))
            return
        cases = [Case(**facts) for _, facts in openings]
        self.save(*cases, in_transaction=self.store.writer([summarize(c) for c in cases],
                                                           receipt))

    def creditor_timezone(self, rules: AllocationRules) -> str:
        """The zone of a creditor's days: its rules', else the service's default."""
        return rules.timezone or self.default_timezone

    def allocation_rules(self, creditor_id: str) -> AllocationRules:
        """The creditor's current allocation rules (none: every account must name an agency)."""
        stored = self.store.current_rules(creditor_id)
        return AllocationRules.from_json(stored) if stored else NO_RULES

    def set_allocation_rules(self, creditor_id: str, rules: dict[str, Any], actor: str
                             ) -> AllocationRules:
        """Store a new version of a creditor's allocation rules."""
        current = self.allocation_rules(creditor_id)
        new = AllocationRules.from_json({**rules, "version": current.version + 1})
        try:
            self.store.add_rules(creditor_id, new.to_json(), self.clock.now().isoformat(), actor)
        except Exception as exc:  # unique (creditor, version): a concurrent update won
            if "unique" in str(exc).lower() or "duplicate" in str(exc).lower():
                raise VersionConflict("allocation rules changed meanwhile; retry") from exc
            raise
        return new

    # ------------------------------------------------------------------ commands

    def get_case(self, case_id: UUID, version: int | None = None) -> Case:
        """Load a case (at a version), or raise CaseNotFound."""
        try:
            case: Case = self.repository.get(case_id, version=version)
        except AggregateNotFoundError:
            raise CaseNotFound(str(case_id)) from None
        return case

    def execute(self, case_id: UUID, command: Callable[[Case], Any], *,
                expected_version: int | None, authorize: Callable[[Case], None],
                retries: int = 3) -> CommandResult:
        """Load, authorize, run a domain command and save; retries races unless a version was set.

        With an expected version the caller asked for optimistic concurrency, so a stale
        version or a lost race is reported (409). Without one, a lost race is retried on fresh
        state: facts like payments must not fail because someone else wrote first.
        """
        for attempt in range(retries + 1):
            case = self.get_case(case_id)
            authorize(case)
            stale = expected_version is not None and case.version != expected_version
            try:
                outcome = command(case)
            except Exception:
                if stale:  # the caller decided on old state: report that, not the symptom
                    raise VersionConflict(f"case is at version {case.version}, not "
                                          f"{expected_version}", case.version) from None
                raise
            pending = case.collect_events()
            if not pending:
                # Nothing to record (an idempotent retry of a payment or contact already
                # recorded): the answer is the same whatever version the caller expected.
                return self._result(case, recorded=False, events=[])
            if stale:
                raise VersionConflict(
                    f"case is at version {case.version - len(pending)}, not {expected_version}",
                    case.version - len(pending))
            try:
                self.save(*pending, in_transaction=self.store.writer([summarize(case)]))
            except IntegrityError:
                if expected_version is not None or attempt == retries:
                    raise VersionConflict("another writer changed the case first") from None
                continue
            recorded = outcome is not False
            return self._result(case, recorded=recorded, events=[event_type(e) for e in pending])
        raise AssertionError("unreachable")

    def record_due_facts(self, case_id: UUID, now: datetime | None = None) -> CommandResult:
        """Record what fell due on a case by `now` (default: the clock's) and was not done:
        each open promise past the end of its due day is broken, and a placement term past
        its last day ends as the creditor's rules say (recalled, or reallocated for a new
        term). Each fact is recorded as of its deadline, not as of now. Safe to run twice or
        from two workers at once: a fact already recorded is never recorded again (the case
        refuses it), so the second run records nothing."""
        now = now or self.clock.now()

        def command(case: Case) -> bool:
            recorded = False
            for deadline in case.deadlines():
                if deadline.due_at > now:
                    break
                if deadline.kind == PROMISE_DUE:
                    case.break_promise(promise_id=deadline.ref, as_of=deadline.due_at,
                                       actor=DEADLINES_ACTOR)
                else:
                    recorded |= self._expire_term(case, int(deadline.ref), deadline.due_at)
                    continue
                recorded = True
            return recorded

        return self.execute(case_id, command, expected_version=None, authorize=lambda _: None)

    def _expire_term(self, case: Case, seq: int, at: datetime) -> bool:
        rules = self.allocation_rules(case.creditor_id)
        share = rules.reallocate(case.id, case.bucket, case.agency_id)
        to_agency = None if share is None else share.agency_id
        new_term_end = case.creditor_day(at) + timedelta(days=rules.default_term_days - 1)
        return case.expire_term(seq=seq, as_of=at, to_agency_id=to_agency,
                                new_term_end=new_term_end, actor=DEADLINES_ACTOR)

    def due_cases(self, now: datetime | None = None, limit: int = 500) -> list[UUID]:
        """Cases with something due by `now` (default: the clock's), earliest first."""
        return [UUID(c) for c in self.store.due_cases((now or self.clock.now()), limit)]

    @staticmethod
    def _result(case: Case, *, recorded: bool, events: list[str]) -> CommandResult:
        return CommandResult(case_id=case.id, version=case.version, status=case.status.value,
                             outstanding=str(case.outstanding), recorded=recorded, events=events)

    # ------------------------------------------------------------------ queries

    def case_view(self, case: Case, *, unmask: bool) -> dict[str, Any]:
        """The current state of a case, PII opened and masked for the caller."""
        return {
            "case_id": str(case.id),
            "version": case.version,
            "creditor_id": case.creditor_id,
            "account_ref": case.account_ref,
            "placement_ref": case.placement_ref,
            "agency_id": case.agency_id,
            "assigned_agency_id": case.assigned_agency_id,
            "allocation": case.allocation,
            "status": case.status.value,
            "bucket": case.bucket,
            "dpd_at_placement": case.dpd,
            "product": case.product,
            "currency": case.currency,
            "balances": {k: str(v) for k, v in case.balances.items()},
            "placed_amount": str(case.placed_amount),
            "paid_total": str(case.paid_total),
            "outstanding": str(case.outstanding),
            "placed_at": case.placed_at.isoformat(),
            "assigned_at": case.assigned_at.isoformat(),
            "term_end": case.term_end.isoformat(),
            "aging": self.aging(case),
            "assignments": [
                {"seq": s.seq, "agency_id": s.agency_id, "assigned_at": s.assigned_at.isoformat(),
                 "term_end": s.term_end.isoformat(),
                 "ended_at": s.ended_at.isoformat() if s.ended_at else None,
                 "end_reason": s.end_reason} for s in case.stints],
            "debtor": self.debtor_view(case.debtor_id, case.debtor_pii, case.debtor_timezone,
                                       unmask=unmask),
            "contacts": case.contacts,
            "right_party_contacts": case.right_party_contacts,
            "last_contact_at": case.last_contact_at.isoformat() if case.last_contact_at else None,
            "promises": [
                {"promise_id": p.promise_id, "amount": str(p.amount),
                 "due_date": p.due_date.isoformat(), "paid": str(p.paid), "state": p.state.value}
                for p in case.promises.values()],
            "payments": [
                {"reference": p.reference, "amount": str(p.amount), "reversed": str(p.reversed),
                 "source": p.source.value, "received_at": p.received_at.isoformat(),
                 "agency_id": p.agency_id, "flags": p.flags}
                for p in case.payments.values()],
            "repayment_plan": None if case.plan is None else {
                "plan_id": case.plan_id,
                "installments": [{"due_date": i.due_date.isoformat(), "amount": str(i.amount)}
                                 for i in case.plan]},
            "dispute_open": case.dispute_open,
            "hardship": case.hardship,
            "cease_contact": case.cease_contact,
            "escalations": [{"kind": e["kind"], "reason": e["reason"],
                             "at": e["at"].isoformat()} for e in case.escalations],
            "recall_reason": case.recall_reason,
            "close_reason": case.close_reason,
            "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        }

    def today(self, creditor_id: str) -> tuple[date, str, AllocationRules]:
        """A creditor's today (by the clock, in its zone), the zone, and its rules."""
        rules = self.allocation_rules(creditor_id)
        zone = self.creditor_timezone(rules)
        return local_day(self.clock.now(), zone), zone, rules

    def aging(self, case: Case, day: date | None = None) -> dict[str, Any]:
        """A case's DPD and bucket at the end of a day of its creditor's calendar (default:
        today), in its creditor's bucket scheme."""
        today, _, rules = self.today(case.creditor_id)
        on = day or today
        return {"on": on.isoformat(), "timezone": case.creditor_timezone,
                "dpd": case.dpd_on(on), "bucket": case.bucket_on(on, rules.bucket_scheme)}

    def roll_rates(self, creditor_id: str, first: date, last: date) -> dict[str, Any]:
        """How a creditor's cases moved between aging buckets from the start of `first` to
        the end of `last` (days of its calendar), by the agency that held each case at the
        start: per agency, cases (and balance) by bucket at the start, and where each
        went. Cases placed after the start or not held by an agency then are left out."""
        _, zone, rules = self.today(creditor_id)
        start = day_end(first - timedelta(days=1), zone)  # the first day's midnight there
        moves: dict[str, dict[str, dict[str, int]]] = {}
        balances: dict[str, dict[str, Decimal]] = {}
        for case_id in self.case_ids_of(creditor_id):
            case = self.get_case(UUID(case_id))
            held = [s for s in case.stints if s.holds(start)]
            if case.placed_at >= start or not held:
                continue
            agency = held[-1].agency_id
            before = case.bucket_on(first - timedelta(days=1), rules.bucket_scheme)
            after = case.bucket_on(last, rules.bucket_scheme)
            row = moves.setdefault(agency, {}).setdefault(before, {})
            row[after] = row.get(after, 0) + 1
            owed = balances.setdefault(agency, {})
            owed[before] = owed.get(before, _ZERO) + case.outstanding_at(start)
        order = [r.name for r in rules.bucket_scheme]
        rank = {name: i for i, name in enumerate([PAID, CURRENT, *order])}
        agencies = []
        for agency, rows in sorted(moves.items()):
            buckets = []
            for before in sorted(rows, key=lambda b: rank.get(b, len(rank))):
                went = rows[before]
                total = sum(went.values())
                worse = sum(n for b, n in went.items() if rank.get(b, 0) > rank.get(before, 0))
                cured = sum(n for b, n in went.items() if b in (PAID, CURRENT))
                buckets.append({
                    "bucket": before, "cases": total,
                    "balance": str(balances[agency][before]),
                    "to": dict(sorted(went.items(), key=lambda kv: rank.get(kv[0], len(rank)))),
                    "roll_forward_rate": _ratio(worse, total),
                    "cure_rate": _ratio(cured, total)})
            agencies.append({"agency_id": agency, "buckets": buckets})
        return {"creditor_id": creditor_id, "from": first.isoformat(), "to": last.isoformat(),
                "timezone": zone, "bucket_order": [PAID, CURRENT, *order],
                "agencies": agencies}

    def case_ids_of(self, creditor_id: str) -> list[str]:
        """Every case of a creditor, in placement order."""
        found, cursor = [], 0
        while True:
            rows, next_cursor = self.store.list_summaries(
                filters={"creditor_id": creditor_id}, after=cursor, limit=1000)
            found += [r["case_id"] for r in rows]
            if next_cursor is None:
                return found
            cursor = next_cursor

    def debtor_view(self, debtor_id: str, sealed: str, timezone: str, *, unmask: bool
                    ) -> dict[str, Any]:
        """A debtor's PII, opened with their data key; national id masked unless `unmask`."""
        pii = self.vault.open(debtor_id, sealed)
        if pii is None:
            return {"debtor_id": debtor_id, "timezone": timezone, "erased": True}
        if not unmask:
            pii["national_id"] = mask(pii["national_id"])
        return {"debtor_id": debtor_id, "timezone": timezone, "erased": False, **pii}

    def contact_point(self, case: Case, number: str | None, contact_id: str | None = None
                      ) -> ContactPoint | None:
        """Protect the number or address a contact used: sealed, referenced, masked. For an
        erased debtor, raises DebtorErased (a key is never re-created), unless the contact is
        already recorded (a retry: nothing will be stored)."""
        if number is None or (contact_id is not None and contact_id in case.contact_ids):
            return None
        key = self.vault.ensure_keys([case.debtor_id]).get(case.debtor_id)
        if key is None:
            raise DebtorErased(case.debtor_id)
        return ContactPoint(ref=contact_point_ref(self.vault.master, case.debtor_id, number),
                            hint=mask(number),
                            sealed=self.vault.seal(case.debtor_id, key, {"number": number}))

    def history(self, case_id: UUID, *, unmask: bool) -> list[dict[str, Any]]:
        """Every event of a case with its global position, version, type, data, time and actor."""
        events: list[Any] = list(self.events.get(case_id))
        if not events:
            raise CaseNotFound(str(case_id))
        positions = self.store.positions(str(case_id))
        history = []
        for e in events:
            data = event_data(e)
            if event_type(e) == "Placed":
                data["debtor"] = self.debtor_view(e.debtor_id, e.debtor_pii, e.debtor_timezone,
                                                  unmask=unmask)
            sealed_point = getattr(e, "contact_point_sealed", None)
            if sealed_point is not None and unmask:  # auditors see the number dialled
                opened = self.vault.open(events[0].debtor_id, sealed_point)
                data["contact_point"] = opened["number"] if opened else None
            history.append({
                "position": positions.get(e.originator_version),
                "version": e.originator_version,
                "type": event_type(e),
                "recorded_at": e.timestamp.isoformat(),
                "actor": data.pop("actor", None),
                "data": data,
            })
        return history

    def version_as_of(self, case_id: UUID, as_of: datetime) -> int:
        """The case's version at a past instant (0 if it did not exist yet)."""
        events: list[Any] = list(self.events.get(case_id))
        if not events:
            raise CaseNotFound(str(case_id))
        return len([e for e in events if e.timestamp <= as_of])

    def list_cases(self, *, filters: dict[str, str | None], after: int, limit: int,
                   current_bucket: str | None = None
                   ) -> tuple[list[dict[str, Any]], int | None, dict[str, Any] | None]:
        """A page of case summaries, each with its DPD and bucket today (its creditor's today
        and bucket scheme), and the cursor of the next page. `current_bucket` (a bucket of
        the creditor's scheme, or `paid`) needs `creditor_id` in `filters`; the third value
        then says which day and zone the bucket was judged on."""
        owing: bool | None = None
        since: tuple[str | None, str | None] = (None, None)
        judged: dict[str, Any] | None = None
        if current_bucket is not None:
            creditor_id = filters.get("creditor_id")
            if creditor_id is None:
                raise ValueError("current_bucket needs creditor_id: buckets are a creditor's")
            today, zone, rules = self.today(creditor_id)
            judged = {"on": today.isoformat(), "timezone": zone}
            if current_bucket == PAID:
                owing = False
            else:
                scheme = {r.name: r for r in rules.bucket_scheme}
                if current_bucket not in scheme:
                    raise ValueError(f"{current_bucket!r} is not a bucket of {creditor_id}'s "
                                     f"scheme: {[*scheme, PAID]}")
                bucket = scheme[current_bucket]
                owing = True
                since = (None if bucket.max_dpd is None
                         else (today - timedelta(days=bucket.max_dpd)).isoformat(),
                         (today - timedelta(days=bucket.min_dpd)).isoformat())
        rows, next_cursor = self.store.list_summaries(
            filters=filters, after=after, limit=limit, owing=owing, delinquent_since=since)
        schemes: dict[str, tuple[date, AllocationRules]] = {}
        for row in rows:
            creditor = row["creditor_id"]
            if creditor not in schemes:
                day, _, rules = self.today(creditor)
                schemes[creditor] = (day, rules)
            day, rules = schemes[creditor]
            row.update(_aging_today(row, day, rules))
        return rows, next_cursor, judged

    def case_ids_placed(self, creditor_id: str, since: str, until: str) -> list[str]:
        """A creditor's cases placed in [since, until) (ISO dates), in placement order."""
        found, cursor = [], 0
        while True:
            rows, next_cursor = self.store.list_summaries(
                filters={"creditor_id": creditor_id}, after=cursor, limit=1000)
            found += [r["case_id"] for r in rows if since <= r["placed_at"][:10] < until]
            if next_cursor is None:
                return found
            cursor = next_cursor

    def events_after(self, after: int, limit: int) -> list[EventEnvelope]:
        """The global event feed: envelopes after a position, in order."""
        return self.log_page(after, limit).events

    def log_page(self, after: int, limit: int, types: Collection[str] | None = None
                 ) -> LogPage:
        """The next `limit` events after a position, with only those of `types` (None: all)
        decoded into envelopes: a rebuild of a projection that ignores most types (billing
        ignores contacts) skips their decoding, most of the cost of reading them."""
        select_rows = getattr(self.recorder, "select_event_rows", None)
        # PostgreSQL, events stored as plain JSON: plain rows, lean decoding.
        if select_rows is not None and stored_as_plain_json(self.mapper):
            rows = select_rows(after, limit)
            if not rows:
                return LogPage([], 0, 0)
            return LogPage([envelope_from_row(row, self.mapper) for row in rows
                            if types is None or topic_type(row[3]) in types],
                           rows[-1][0], len(rows))
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False)
        if not notifications:
            return LogPage([], 0, 0)
        return LogPage([envelope_from_stored(n, n.id, self.mapper) for n in notifications
                        if types is None or topic_type(n.topic) in types],
                       notifications[-1].id, len(notifications))

    def last_position(self) -> int:
        """The position of the newest event (0 for an empty log)."""
        return self.recorder.max_notification_id() or 0

    def replay_cases(self, *, through: int | None = None, part: tuple[int, int] = (0, 1),
                     page: int | None = None) -> Iterator[tuple[int, list[tuple[Case, int]]]]:
        """Every case of the log through a position (default: the newest event now), rebuilt
        from its stored events as `get_case` rebuilds one (the aggregate's own event handlers,
        called by `apply_stored_event` as the library's events call them: tested equal), in
        case id order, one case in memory at a time.
        Per page of about `page` events: (events read, [(case, position of its opening
        event)]). Events stored after `through` are left out, so the result is the log as of
        that position even while the service keeps writing.

        `part` = (i, n) replays only the i-th of n equal ranges of case ids: n processes
        replaying one part each replay every case once. The next page is read while the
        current one is decoded."""
        through = self.last_position() if through is None else through
        page = page or REPLAY_PAGE
        index, parts = part
        if not 0 <= index < parts:
            raise ValueError(f"part {index} of {parts}")
        after: tuple[UUID, int] = (UUID(int=(index << 128) // parts), 0)
        before = UUID(int=((index + 1) << 128) // parts) if index + 1 < parts else None
        mapper = self.mapper
        recorder: Any = self.recorder  # a case recorder (recorders.py)
        carried: list[tuple[Any, ...]] = []
        with ThreadPoolExecutor(1, thread_name_prefix="replay-read") as reader:
            pending = reader.submit(recorder.select_case_rows, after, before, through, page)
            while True:
                fetched = pending.result()
                finished = len(fetched) < page
                if not finished:
                    after = (fetched[-1][1], fetched[-1][2])
                    pending = reader.submit(recorder.select_case_rows, after, before, through,
                                            page)
                rows = carried + fetched
                carried = []
                if not finished:  # the last case may go on in the next page: keep it
                    cut = len(rows)
                    while cut and rows[cut - 1][1] == rows[-1][1]:
                        cut -= 1
                    rows, carried = rows[:cut], rows[cut:]
                cases: list[tuple[Case, int]] = []
                case: Any = None
                opened, current = 0, None
                for position, case_id, version, topic, state in rows:
                    if case_id != current:
                        if case is not None:
                            cases.append((case, opened))
                        case, opened, current = None, position, case_id
                    case = apply_stored_event(case, case_id, version, topic, state, mapper)
                if case is not None:
                    cases.append((case, opened))
                if rows:
                    yield len(rows), cases
                if finished:
                    return

    def summaries_from_log(self, *, through: int | None = None, part: tuple[int, int] = (0, 1)
                           ) -> Iterator[tuple[int, list[tuple[CaseSummary, int]]]]:
        """The case list as the log implies it (`replay_cases`): per page, (events read,
        [(summary, position of the case's opening event)]). What the service writes beside
        each event must equal this: `casetrail projections rebuild case-summaries --verify`."""
        for read, cases in self.replay_cases(through=through, part=part):
            yield read, [(summarize(case), opened) for case, opened in cases]


def summarize(case: Case) -> CaseSummary:
    """The list row of a case."""
    return CaseSummary(
        case_id=str(case.id), creditor_id=case.creditor_id, account_ref=case.account_ref,
        placement_ref=case.placement_ref, agency_id=case.agency_id,
        assigned_agency_id=case.assigned_agency_id, status=case.status.value,
        bucket=case.bucket, dpd=case.dpd, currency=case.currency,
        placed_amount=str(case.placed_amount), outstanding=str(case.outstanding),
        version=case.version, placed_at=case.placed_at.isoformat(),
        term_end=case.term_end.isoformat(), updated_at=case.modified_on.isoformat(),
        delinquent_since=case.delinquent_since.isoformat(),
        next_deadline_at=_utc_text(case.next_deadline_at),
    )


def summarize_opening(case_id: str, facts: dict[str, Any], opened_at: datetime) -> CaseSummary:
    """The list row of a case just opened with these Placed facts: what `summarize` gives for
    `Case(**facts)` (tested), without building the aggregate."""
    placed_amount = str(sum(facts["balances"].values(), _ZERO))
    return CaseSummary(
        case_id, facts["creditor_id"], facts["account_ref"], facts["placement_ref"],
        facts["agency_id"], facts["agency_id"], _PLACED, facts["bucket"], facts["dpd"],
        facts["currency"], placed_amount, placed_amount, 1, _iso(facts["placed_at"]),
        _iso(facts["term_end"]), _iso(opened_at), _iso(facts["delinquent_since"]),
        _term_deadline(facts["term_end"], facts["creditor_timezone"]))


_ZERO = Decimal(0)
DEADLINES_ACTOR = "system:*:deadlines"  # who records what falls due (`casetrail deadlines`)


def _utc_text(at: datetime | None) -> str | None:
    """An instant as UTC ISO text (sortable), or None."""
    return None if at is None else at.astimezone(UTC).isoformat()


@lru_cache(maxsize=4096)
def _term_deadline(term_end: date, zone: str) -> str:
    """When a new case's only deadline, the end of its term, falls due (a batch shares a
    handful of terms)."""
    return day_end(term_end, zone).isoformat()
_PLACED = CaseStatus.PLACED.value


@lru_cache(maxsize=4096)
def _iso(moment: date) -> str:
    """ISO text of a date or time; a batch shares a handful of them."""
    return moment.isoformat()


def _aging_today(row: dict[str, Any], today: date, rules: AllocationRules) -> dict[str, Any]:
    """A case-list row's DPD and bucket today, from what the list holds (the day it became
    delinquent, what is outstanding now)."""
    if row.get("delinquent_since") is None:  # written before aging was recorded
        return {"dpd_today": None, "bucket_today": None}
    if Decimal(row["outstanding"]) <= 0:
        return {"dpd_today": 0, "bucket_today": PAID}
    dpd = max((today - date.fromisoformat(row["delinquent_since"])).days, 0)
    return {"dpd_today": dpd, "bucket_today": rules.bucket(dpd) or CURRENT}


def _ratio(numerator: int, denominator: int) -> str | None:
    return figures.rate_text(figures.ratio(numerator, denominator).value)


def _rejection(index: int, account_ref: str | None, path: str, message: str) -> dict[str, Any]:
    return {"index": index, "account_ref": account_ref,
            "errors": [{"path": path, "message": message}]}


def request_digest(body: bytes) -> str:
    """The hash that tells a replayed placement from a different one under the same reference."""
    return hashlib.sha256(body).hexdigest()


def canonical_json(data: Any) -> bytes:
    """Stable JSON bytes for hashing (sorted keys, compact, UTF-8)."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=str)
