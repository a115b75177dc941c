"""Which policy pack applies to whom, and judging contacts against it from the read model.

Assignments (creditor → pack) are records with an effective time, appended and never
edited, and never retroactive: a new assignment takes effect from its effective time, which
cannot be in the past. Pack versions are files, also with effective times. So judging a
contact by "the assignment and pack version in force when it happened" gives the same answer
live and on a rebuild from the log.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from casetrail.projections.store import among, batch_scratch
from casetrail.retry import retrying
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from contact_service.adapters.complaints import case_complaints
from contact_service.adapters.contact_log import (
    contact_cases,
    contacts,
    debtor_contacts,
    policy_assignments,
    prefetch_debtor_contacts,
)
from contact_service.domain.complaints import ComplaintFact
from contact_service.domain.policy import (
    CaseContactState,
    ContactRecord,
    ContactRequest,
    Decision,
    PackNotInForce,
    PackRegistry,
    PolicyPack,
    contact_record,
    evaluate,
    violations,
)
from contact_service.domain.records import AssignmentConflict

# How far back contacts matter to any shipped rule (7-day caps and quiet periods, and the
# "3 failed attempts in a row" third-party condition), with margin.
HISTORY_DAYS = 31
# Attempts of an assignment "from now" whose microsecond other assignments of the creditor,
# made concurrently, keep taking between its read and its insert.
FROM_NOW_ATTEMPTS = 5


class Policies:
    """Pack versions (files) and the pack in force for a creditor, and judgements under them
    (the contact-log projection's judge: it reads through the connection it is given)."""

    def __init__(self, registry: PackRegistry, default_pack: str):
        if default_pack not in registry.pack_ids:
            raise ValueError(f"default policy pack {default_pack!r} is not among "
                             f"{registry.pack_ids}")
        self.registry, self.default_pack = registry, default_pack

    def pack_for(self, conn: Connection, creditor_id: str, at: datetime) -> PolicyPack:
        """The pack version in force for a creditor at an instant."""
        t = policy_assignments
        pack_id = conn.execute(
            sa.select(t.c.pack_id).where(t.c.creditor_id == creditor_id,
                                         t.c.effective_from <= at.astimezone(UTC).isoformat())
            .order_by(t.c.effective_from.desc()).limit(1)).scalar()
        return self.registry.in_force(pack_id or self.default_pack, at)

    def _pack_in_batch(self, conn: Connection, creditor_id: str, at: datetime) -> PolicyPack:
        """`pack_for`, with each creditor's assignments read once per projection batch
        (a replay judges thousands of contacts per batch, mostly for a few creditors)."""
        batch = batch_scratch(conn)
        if batch is None:
            return self.pack_for(conn, creditor_id, at)
        known = batch[0].get("policy_assignments")
        if known is None or creditor_id not in known:
            known = self._read_assignments(conn, {creditor_id})
        instant = at.astimezone(UTC).isoformat()
        pack_id = next((p for start, p in known[creditor_id] if start <= instant), None)
        return self.registry.in_force(pack_id or self.default_pack, at)

    @staticmethod
    def _read_assignments(conn: Connection, creditors: set[str]
                          ) -> dict[str, list[tuple[str, str]]]:
        """Per creditor, its (effective from, pack id) assignments, newest first, kept for
        the projection batch; those of `creditors` not yet kept are read in one query."""
        batch = batch_scratch(conn)
        assert batch is not None
        known: dict[str, list[tuple[str, str]]] = batch[0].setdefault("policy_assignments", {})
        missing = sorted(creditors.difference(known))
        if missing:
            t = policy_assignments
            for creditor in missing:
                known[creditor] = []
            for row in conn.execute(sa.select(t.c.creditor_id, t.c.effective_from, t.c.pack_id)
                                    .where(among(conn, t.c.creditor_id, missing))):
                known[row.creditor_id].append((row.effective_from, row.pack_id))
            for creditor in missing:  # ISO UTC texts sort by time
                known[creditor].sort(reverse=True)
        return known

    # ------------------------------------------------------------------ judging

    def judge(self, conn: Connection, case: dict[str, Any], contact: dict[str, Any]
              ) -> list[dict[str, Any]]:
        """The rules a just-recorded contact broke (the ContactLog projection's judge)."""
        record = contact_record(contact)
        batch = batch_scratch(conn)
        if batch is not None:  # it is in the history of the debtor's later contacts
            batch[0].setdefault("contact_records", {})[contact["event_id"]] = record
        try:
            pack = self._pack_in_batch(conn, case["creditor_id"], record.occurred_at)
        except PackNotInForce:
            # Before the first version of the pack took effect no rule was in force, so the
            # contact broke none; it is still logged (the case service took it).
            return []
        history = self._history_in_batch(conn, case["debtor_id"], record.occurred_at)
        # One violation per rule: a rule can deny for several reasons at once (a case both
        # disputed and recalled), which become one row with every reason.
        by_rule: dict[str, dict[str, Any]] = {}
        for d in violations(pack, case_state(case), history, record):
            if d.rule_id in by_rule:
                by_rule[d.rule_id]["reason"] += f"; {d.reason}"
            else:
                by_rule[d.rule_id] = {"rule_id": d.rule_id, "kind": d.kind, "pack_id": pack.id,
                                      "pack_version": pack.version, "reason": d.reason}
        return list(by_rule.values())

    def prepare_batch(self, conn: Connection, contacts: Sequence[tuple[str, str, str]]
                      ) -> None:
        """Before a projection batch judges its contacts, given as (creditor id, debtor id,
        occurred at): read the creditors' assignments, and every contact of those debtors a
        judgement in the batch looks back on, in one query each (per thousand debtors)
        instead of one per creditor and per debtor while judging (each of which would also
        make the batch send its held writes first)."""
        if not contacts:
            return
        self._read_assignments(conn, {creditor for creditor, _, _ in contacts})
        earliest = min(datetime.fromisoformat(at) for _, _, at in contacts)
        prefetch_debtor_contacts(conn, {debtor for _, debtor, _ in contacts},
                                 _history_window(earliest)[0])

    def permission(self, conn: Connection, case: dict[str, Any], request: ContactRequest
                   ) -> Decision:
        """May this contact be made at `request.at`? (the permission endpoint)."""
        pack = self.pack_for(conn, case["creditor_id"], request.at)
        history = self.history(conn, case["debtor_id"], request.at)
        return evaluate(pack, case_state(case), history, request)

    def _history_in_batch(self, conn: Connection, debtor_id: str, before: datetime
                          ) -> Sequence[ContactRecord]:
        """`history`, from the debtor's contacts a projection batch keeps (read once per
        debtor and batch)."""
        start, end = _history_window(before)
        rows = debtor_contacts(conn, debtor_id, start)
        if rows is None:
            return self.history(conn, debtor_id, before)
        # A debtor's contact is in the history of each of its later contacts: validated once.
        records: dict[str, ContactRecord] = batch_scratch(conn)[0].setdefault(  # type: ignore[index]
            "contact_records", {})
        history = []
        for at, _, row in rows:
            if start <= at < end:
                record = records.get(row["event_id"])
                if record is None:
                    record = records[row["event_id"]] = contact_record(row)
                history.append(record)
        return history

    @staticmethod
    def history(conn: Connection, debtor_id: str, before: datetime) -> Sequence[ContactRecord]:
        """The debtor's contacts (all their cases with this creditor) in the lookback window
        before an instant, oldest first."""
        t = contacts
        start, end = _history_window(before)
        rows = conn.execute(sa.select(t).where(
            t.c.debtor_id == debtor_id, t.c.occurred_at >= start, t.c.occurred_at < end)
            .order_by(t.c.occurred_at, t.c.position)).mappings()
        return [contact_record(dict(r)) for r in rows]


def _history_window(before: datetime) -> tuple[str, str]:
    """[start, end) of the contacts a judgement at `before` looks back on, as UTC ISO text."""
    if before.tzinfo is not UTC:
        before = before.astimezone(UTC)
    return (before - _HISTORY).isoformat(), before.isoformat()


_HISTORY = timedelta(days=HISTORY_DAYS)


def case_state(case: dict[str, Any]) -> CaseContactState:
    """The rules' view of a contact_cases row (the same, frozen, value for rows that agree
    on what it holds: a case's contacts are judged one after another)."""
    return _case_state(case["case_id"], case["debtor_id"], case["debtor_timezone"],
                       case["cease_contact_at"], case["dispute_open"], case["recalled"],
                       case["closed"])


@lru_cache(maxsize=4096)
def _case_state(case_id: str, debtor_id: str, debtor_timezone: str,
                cease_contact_at: Any, dispute_open: bool, recalled: bool,
                closed: bool) -> CaseContactState:
    return CaseContactState(
        case_id=case_id, debtor_id=debtor_id, debtor_timezone=debtor_timezone,
        cease_contact=cease_contact_at is not None, cease_contact_at=cease_contact_at,
        dispute_open=dispute_open, recalled=recalled, closed=closed)


def load_case(conn: Connection, case_id: str) -> dict[str, Any] | None:
    """A contact_cases row."""
    row = conn.execute(sa.select(contact_cases).where(
        contact_cases.c.case_id == case_id)).mappings().first()
    return dict(row) if row else None


class ComplianceStore:
    """What contact permission and policy assignments read and write outside the projection's
    transactions: the creditors' assignments (records, appended with an effective time and
    never edited), and the contact log as permission reads it."""

    def __init__(self, engine: Engine, policies: Policies):
        self.engine, self.policies = engine, policies

    def assign(self, creditor_id: str, pack_id: str, start: datetime, now: datetime,
               actor: str, *, from_now: bool) -> tuple[dict[str, Any], bool]:
        """Record that `pack_id` applies to the creditor from `start` (made `now` by `actor`);
        the flag says whether it was recorded now.

        From now (`from_now`): when another assignment already starts at that very instant (a
        clock that has not moved, or one made concurrently), this one is the later, from the
        next free microsecond. From a stated instant that is taken: the same pack is a replay
        (the recorded one is returned), another pack is an AssignmentConflict."""
        if not from_now:
            try:
                return self._insert(creditor_id, pack_id, start, now, actor,
                                    next_free=False), True
            except IntegrityError:  # (creditor, effective_from) is the key: it is taken
                existing = next((a for a in self.assignments(creditor_id)
                                 if a["effective_from"] == start.isoformat()), None)
                if existing is None or existing["pack_id"] != pack_id:
                    raise AssignmentConflict(
                        f"another policy pack is assigned to {creditor_id} from "
                        f"{start.isoformat()}") from None
                return existing, False
        for attempt in retrying(FROM_NOW_ATTEMPTS, on=IntegrityError):
            with attempt:  # another took the very microsecond meanwhile: look again
                return self._insert(creditor_id, pack_id, start, now, actor,
                                    next_free=True), True
        raise AssertionError("unreachable: the last attempt's error propagates")

    def _insert(self, creditor_id: str, pack_id: str, start: datetime, now: datetime,
                actor: str, *, next_free: bool) -> dict[str, Any]:
        t = policy_assignments
        with self.engine.begin() as conn:
            if next_free:
                taken = set(conn.execute(sa.select(t.c.effective_from).where(
                    t.c.creditor_id == creditor_id,
                    t.c.effective_from >= start.isoformat())).scalars())
                while start.isoformat() in taken:
                    start += timedelta(microseconds=1)
            row = {"creditor_id": creditor_id, "effective_from": start.isoformat(),
                   "pack_id": pack_id, "assigned_at": now.isoformat(), "actor": actor}
            conn.execute(t.insert().values(**row))
        return row

    def assignments(self, creditor_id: str) -> list[dict[str, Any]]:
        """A creditor's assignments, oldest first."""
        t = policy_assignments
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(
                sa.select(t).where(t.c.creditor_id == creditor_id)
                .order_by(t.c.effective_from)).mappings()]

    def pack_in_force(self, creditor_id: str, at: datetime) -> PolicyPack:
        """The pack version in force for a creditor at an instant (PackNotInForce: none)."""
        with self.engine.connect() as conn:
            return self.policies.pack_for(conn, creditor_id, at)

    @contextmanager
    def reading(self) -> Iterator[PermissionReader]:
        """One connection to answer a permission question on."""
        with self.engine.connect() as conn:
            yield PermissionReader(conn, self.policies)


class PermissionReader:
    """A case of the contact log and the rules it is judged by, read on one connection."""

    def __init__(self, conn: Connection, policies: Policies):
        self.conn, self.policies = conn, policies

    def case(self, case_id: str) -> dict[str, Any] | None:
        """The case's contact_cases row, or None."""
        return load_case(self.conn, case_id)

    def permission(self, case: dict[str, Any], request: ContactRequest) -> Decision:
        """May this contact be made at `request.at`?"""
        return self.policies.permission(self.conn, case, request)

    def complaints(self, case_id: str) -> list[ComplaintFact]:
        """The case's complaints (their contact holds)."""
        return case_complaints(self.conn, case_id)
