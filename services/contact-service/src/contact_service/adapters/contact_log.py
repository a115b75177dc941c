"""The contact service's read model, built from case events only (so it can be rebuilt).

- `contact_cases`: one row per case with what contact rules, service levels and worklists
  need (agency, debtor timezone, holds), so the contact service never reads the case service's
  database;
- `contacts`: every contact attempt, with its action code, recording and flags;
- `violations`: the rules a contact broke when it happened, with the pack version that said so;
- `escalations`, `promises`, `payments`: the facts service levels, worklists, QA sampling and
  KPIs are computed from;
- `case_assignments`: who held each case from when to when (casetrail.projections.assignments),
  for the KPIs' cases assigned;
- `complaints`: every complaint about a case, its steps, deadlines missed and outcome, and
  whether it holds outbound contact while open (as the case decided);
- `visits`: every field visit, from its request to its report.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Sequence
from datetime import UTC
from decimal import Decimal
from typing import Any, Protocol

import sqlalchemy as sa
from casetrail.envelope import EventEnvelope
from casetrail.projections.assignments import (
    apply_assignment_event,
    assignments_table,
    utc_text,
)
from casetrail.projections.base import Projection
from casetrail.projections.store import (
    among,
    batch_scratch,
    insert_row,
    update_row,
    update_rows,
)
from sqlalchemy.engine import Connection

metadata = sa.MetaData()

contact_cases = sa.Table(
    "contact_cases", metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("creditor_id", sa.Text, nullable=False, index=True),
    sa.Column("agency_id", sa.Text, nullable=False, index=True),
    sa.Column("debtor_id", sa.Text, nullable=False, index=True),
    sa.Column("debtor_timezone", sa.Text, nullable=False),
    sa.Column("contact_points", sa.Integer, nullable=False),
    sa.Column("placed_at", sa.Text, nullable=False),
    sa.Column("assigned_at", sa.Text, nullable=False),
    sa.Column("cease_contact_at", sa.Text),
    sa.Column("dispute_open", sa.Boolean, nullable=False),
    sa.Column("disputed_at", sa.Text),  # when the open dispute began
    sa.Column("recalled", sa.Boolean, nullable=False),
    sa.Column("recalled_at", sa.Text),
    sa.Column("closed", sa.Boolean, nullable=False),
    sa.Column("closed_at", sa.Text),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

contacts = sa.Table(
    "contacts", metadata,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False, index=True),
    sa.Column("case_id", sa.Text, nullable=False, index=True),
    sa.Column("creditor_id", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text, nullable=False, index=True),
    sa.Column("debtor_id", sa.Text, nullable=False, index=True),
    sa.Column("contact_id", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("direction", sa.Text, nullable=False),
    sa.Column("party", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("action_code", sa.Text, nullable=False),
    sa.Column("agent_id", sa.Text),
    sa.Column("recording_ref", sa.Text),
    # An opaque reference to the number/address used (never the number itself): what
    # per-number caps count by. The hint is the masked number for display.
    sa.Column("contact_point", sa.Text),
    sa.Column("contact_point_hint", sa.Text),
    sa.Column("occurred_at", sa.Text, nullable=False, index=True),
    sa.Column("flags", sa.Text, nullable=False),
    # When the contact reached the log (the event's recorded_at): the "progress entered the
    # same working day" service level. NULL in rows applied before it was kept.
    sa.Column("recorded_at", sa.Text),
)

violations = sa.Table(
    "violations", metadata,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("rule_id", sa.Text, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False, index=True),
    sa.Column("case_id", sa.Text, nullable=False, index=True),
    sa.Column("creditor_id", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text, nullable=False, index=True),
    sa.Column("contact_id", sa.Text, nullable=False),
    sa.Column("agent_id", sa.Text),
    sa.Column("occurred_at", sa.Text, nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("pack_id", sa.Text, nullable=False),
    sa.Column("pack_version", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)

escalations = sa.Table(
    "escalations", metadata,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("case_id", sa.Text, nullable=False, index=True),
    sa.Column("agency_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("escalated_at", sa.Text, nullable=False),
)

promises = sa.Table(
    "promises", metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("promise_id", sa.Text, primary_key=True),
    sa.Column("agency_id", sa.Text, nullable=False, index=True),
    sa.Column("amount", sa.Text, nullable=False),
    sa.Column("due_date", sa.Text, nullable=False),
    sa.Column("promised_at", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),  # open | kept | broken
    sa.Column("settled_at", sa.Text),
)

payments = sa.Table(
    "payments", metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("reference", sa.Text, primary_key=True),
    sa.Column("agency_id", sa.Text, nullable=False, index=True),
    sa.Column("amount", sa.Text, nullable=False),
    sa.Column("reversed", sa.Text, nullable=False),  # the sum of its reversals so far
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("received_at", sa.Text, nullable=False, index=True),
    sa.Column("flags", sa.Text),  # as recorded, e.g. before_placement (NULL: older releases)
    # The payment's currency (PaymentReceived.currency); NULL in rows applied before it was
    # kept (contact_0003) until a rebuild fills them from the events.
    sa.Column("currency", sa.Text),
)

# Complaints (ComplaintReceived ... ComplaintResolved, ComplaintDeadlineMissed): one row each,
# keyed like the case log keys them. Every fact is the case's (late, contact_hold, outcome);
# nothing here re-decides one. `*_recorded_at` is the envelope's recorded_at (timeliness).
complaints = sa.Table(
    "complaints", metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("complaint_id", sa.Text, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False, index=True),
    sa.Column("creditor_id", sa.Text, nullable=False, index=True),
    sa.Column("agency_id", sa.Text, index=True),  # the holder when received (NULL: recalled)
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("received_at", sa.Text, nullable=False, index=True),
    sa.Column("received_recorded_at", sa.Text, nullable=False),
    sa.Column("contact_hold", sa.Boolean, nullable=False),
    sa.Column("acknowledge_by", sa.Text, nullable=False),
    sa.Column("investigate_by", sa.Text, nullable=False),
    sa.Column("resolve_by", sa.Text, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("acknowledged_at", sa.Text),
    sa.Column("acknowledged_late", sa.Boolean),
    sa.Column("investigated_at", sa.Text),
    sa.Column("investigated_late", sa.Boolean),
    sa.Column("finding", sa.Text),
    sa.Column("resolved_at", sa.Text),
    sa.Column("resolved_late", sa.Boolean),
    sa.Column("outcome", sa.Text),
    sa.Column("resolution_note", sa.Text),
    sa.Column("missed_steps", sa.Text, nullable=False),  # comma-separated, in order missed
    sa.Column("first_missed_at", sa.Text),  # due_at of the first deadline missed
    sa.Column("recalled_at", sa.Text),  # the creditor recalled the case over this complaint
)

# Field visits (VisitRequested ... VisitReported): one row each, as the case recorded them.
visits = sa.Table(
    "visits", metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("visit_id", sa.Text, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False, index=True),
    sa.Column("creditor_id", sa.Text, nullable=False, index=True),
    sa.Column("agency_id", sa.Text, nullable=False, index=True),  # the agency that requested it
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("urgent", sa.Boolean, nullable=False),
    sa.Column("requested_at", sa.Text, nullable=False, index=True),
    sa.Column("visit_by", sa.Text, nullable=False),
    sa.Column("approved_at", sa.Text),
    sa.Column("after_the_fact", sa.Boolean),
    sa.Column("rejected_at", sa.Text),
    sa.Column("rejection_reason", sa.Text),
    sa.Column("performed_at", sa.Text, index=True),
    sa.Column("performed_recorded_at", sa.Text),
    sa.Column("outcome", sa.Text),
    sa.Column("visitor_id", sa.Text),
    sa.Column("evidence", sa.Text),  # JSON list of {kind, sha256, ref}
    sa.Column("late", sa.Boolean),
    sa.Column("reported_at", sa.Text),
    sa.Column("reported_recorded_at", sa.Text),
    sa.Column("summary", sa.Text),
)

# Who held each case from when to when (the agency KPIs' cases assigned): shared table.
case_assignments = assignments_table(metadata)

# Read by the projection (to judge contacts) but not owned by it: a rebuild keeps these rows.
service_metadata = sa.MetaData()
policy_assignments = sa.Table(
    "policy_assignments", service_metadata,
    sa.Column("creditor_id", sa.Text, primary_key=True),
    sa.Column("effective_from", sa.Text, primary_key=True),
    sa.Column("pack_id", sa.Text, nullable=False),
    sa.Column("assigned_at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
)


class ContactJudge(Protocol):
    """What judges contacts as they are recorded (`Policies`)."""

    def judge(self, conn: Connection, case: dict[str, Any], contact: dict[str, Any]
              ) -> list[dict[str, Any]]:
        """The violation rows of a contact (case: its contact_cases row; contact: its row)."""

    def prepare_batch(self, conn: Connection, contacts: Sequence[tuple[str, str, str]]
                      ) -> None:
        """Read ahead what judging a batch's contacts, as (creditor id, debtor id, occurred
        at), needs."""


class ContactLog(Projection):
    """Contacts, per-case contact facts, and the violations contacts committed."""

    name = "contact-log"
    metadata = metadata
    reads_metadata = (service_metadata,)
    replay_indexes = frozenset({"ix_contacts_debtor_id"})  # the judge's debtor history
    # Judging a contact reads the debtor's other contacts, and nothing of other debtors; every
    # other row is the case's own.
    share_field = "debtor_id"

    def __init__(self, judge: ContactJudge | None = None):
        # None: contacts are recorded and not judged.
        self.judge = judge
        self._handlers = self._handler_table()

    def prepare_batch(self, conn: Connection, events: Sequence[EventEnvelope]) -> None:
        """Read the case rows of the batch's cases (those placed before it) in one query,
        then let the judge read its debtors' recent contacts, instead of a query per case
        and per debtor while handling."""
        batch = _batch_cases(conn)
        if batch is None:
            return
        known = batch[0]
        others = {e.case_id for e in events if e.type != "Placed"}
        if not others:
            return
        placed = {str(e.case_id): e.payload for e in events  # their creditors and debtors
                  if e.type == "Placed" and e.case_id in others}
        missing = sorted({str(c) for c in others}.difference(placed, known))
        for start in range(0, len(missing), _READ_AHEAD):
            chunk = missing[start:start + _READ_AHEAD]
            for row in conn.execute(sa.select(contact_cases).where(
                    among(conn, contact_cases.c.case_id, chunk))).mappings():
                known[row["case_id"]] = dict(row)
                batch[2][row["case_id"]] = dict(row)
        if self.judge is None:
            return
        judged = []
        for e in events:
            if e.type == "Contacted":
                case_id = str(e.case_id)
                case = known.get(case_id) or placed.get(case_id)
                if case is not None:  # an unknown case fails in `handle`, as it should
                    judged.append((case["creditor_id"], case["debtor_id"],
                                   e.payload["occurred_at"]))
        self.judge.prepare_batch(conn, judged)

    def handle(self, conn: Connection, event: EventEnvelope) -> None:
        """Apply one case event. Handlers other than Placed get the case's row as a dict and
        change it in place; it is written back after the event, or, inside a batch, once at
        the batch's end (a replay applies thousands of events to the same cases: one read
        and one write per case and batch, instead of per event)."""
        handler = self._handlers.get(event.type)
        if handler is None:
            return
        if event.type == "Placed":
            handler(conn, event, {})
            return
        case_id = str(event.case_id)
        batch = _batch_cases(conn)
        case = None if batch is None else batch[0].get(case_id)
        if case is None:
            case = dict(conn.execute(sa.select(contact_cases).where(
                contact_cases.c.case_id == case_id)).mappings().one())
            if batch is not None:
                batch[0][case_id], batch[2][case_id] = case, dict(case)
        handler(conn, event, case)
        case["version"], case["position"] = event.version, event.position
        if batch is None:
            update_rows(conn, contact_cases, [case])
        else:
            batch[1][case_id] = case

    def _handler_table(self
                       ) -> dict[str, Callable[[Connection, EventEnvelope, dict[str, Any]], None]]:
        return {
            "Placed": self._on_placed,
            "Contacted": self._on_contacted,
            "Escalated": self._on_escalated,
            "PromisedToPay": self._on_promised_to_pay,
            "PromiseKept": self._on_promise_kept,
            "PromiseBroken": self._on_promise_broken,
            "PromiseReopened": self._on_promise_reopened,
            "PaymentReceived": self._on_payment_received,
            "PaymentReversed": self._on_payment_reversed,
            "CeaseContactRequested": self._on_cease_contact_requested,
            "Disputed": self._on_disputed,
            "DisputeResolved": self._on_dispute_resolved,
            "Recalled": self._on_recalled,
            "Reassigned": self._on_reassigned,
            "Closed": self._on_closed,
            "ComplaintReceived": self._on_complaint_received,
            "ComplaintAcknowledged": self._on_complaint_acknowledged,
            "ComplaintInvestigated": self._on_complaint_investigated,
            "ComplaintResolved": self._on_complaint_resolved,
            "ComplaintDeadlineMissed": self._on_complaint_deadline_missed,
            "VisitRequested": self._on_visit_requested,
            "VisitApproved": self._on_visit_approved,
            "VisitRejected": self._on_visit_rejected,
            "VisitPerformed": self._on_visit_performed,
            "VisitReported": self._on_visit_reported,
        }

    # ------------------------------------------------------------------ per event type

    def _on_placed(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]) -> None:
        p = e.payload
        case_id = str(e.case_id)
        row = {
            "case_id": case_id, "creditor_id": p["creditor_id"],
            "agency_id": p["agency_id"], "debtor_id": p["debtor_id"],
            "debtor_timezone": p["debtor_timezone"],
            "contact_points": p.get("contact_points", 0), "placed_at": p["placed_at"],
            "assigned_at": p["placed_at"], "cease_contact_at": None, "dispute_open": False,
            "disputed_at": None, "recalled": False, "recalled_at": None, "closed": False,
            "closed_at": None, "version": e.version, "position": e.position}
        insert_row(conn, contact_cases, row)
        apply_assignment_event(conn, case_assignments, e)
        batch = _batch_cases(conn)
        if batch is not None:  # its later events in this batch need not read it back
            batch[0][case_id] = row  # (changes before the insert is sent go with it)

    def _on_contacted(self, conn: Connection, e: EventEnvelope, case: dict[str, Any]) -> None:
        p = e.payload
        row = {
            "event_id": str(e.event_id), "position": e.position, "case_id": case["case_id"],
            "creditor_id": case["creditor_id"], "agency_id": p["agency_id"],
            "debtor_id": case["debtor_id"], "contact_id": p["contact_id"],
            "channel": p["channel"], "direction": p["direction"], "party": p["party"],
            "outcome": p["outcome"], "action_code": p["action_code"],
            "agent_id": p.get("agent_id"), "recording_ref": p.get("recording_ref"),
            "contact_point": p.get("contact_point_ref"),
            "contact_point_hint": p.get("contact_point_hint"), "occurred_at": p["occurred_at"],
            "flags": ",".join(p.get("flags", [])),
            "recorded_at": e.recorded_at.astimezone(UTC).isoformat(),
        }
        broken = self.judge.judge(conn, case, row) if self.judge is not None else []
        insert_row(conn, contacts, dict(row))
        _remember_contact(conn, row)
        for v in broken:
            insert_row(conn, violations, {
                "event_id": row["event_id"], "position": e.position, "case_id": row["case_id"],
                "creditor_id": row["creditor_id"], "agency_id": row["agency_id"],
                "contact_id": row["contact_id"], "agent_id": row["agent_id"],
                "occurred_at": row["occurred_at"], **v})

    def _on_escalated(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]) -> None:
        p = e.payload
        insert_row(conn, escalations, dict(
            event_id=str(e.event_id), case_id=str(e.case_id), agency_id=p["agency_id"],
            kind=p["kind"], reason=p["reason"], escalated_at=p["escalated_at"]))

    def _on_promised_to_pay(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]) -> None:
        p = e.payload
        insert_row(conn, promises, dict(
            case_id=str(e.case_id), promise_id=p["promise_id"], agency_id=p["agency_id"],
            amount=p["amount"], due_date=p["due_date"], promised_at=p["promised_at"],
            state="open", settled_at=None))

    def _on_promise_kept(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]) -> None:
        self._settle(conn, e, "kept", e.payload["kept_at"])

    def _on_promise_broken(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]) -> None:
        self._settle(conn, e, "broken", e.payload["broken_at"])

    def _on_promise_reopened(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]
                             ) -> None:
        update_row(conn, promises, {"case_id": str(e.case_id),
                                    "promise_id": e.payload["promise_id"]},
                   state="open", settled_at=None)

    def _settle(self, conn: Connection, e: EventEnvelope, state: str, at: str) -> None:
        update_row(conn, promises, {"case_id": str(e.case_id),
                                    "promise_id": e.payload["promise_id"]},
                   state=state, settled_at=at)

    def _on_payment_received(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]
                            ) -> None:
        p = e.payload
        insert_row(conn, payments, dict(
            case_id=str(e.case_id), reference=p["reference"], agency_id=p["agency_id"],
            amount=p["amount"], reversed="0", source=p["source"], received_at=p["received_at"],
            flags=",".join(p.get("flags", [])), currency=p.get("currency")))

    def _on_payment_reversed(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]
                            ) -> None:
        where = (payments.c.case_id == str(e.case_id)) & (
            payments.c.reference == e.payload["reference"])
        current = conn.execute(sa.select(payments.c.reversed).where(where)).scalar_one()
        conn.execute(payments.update().where(where).values(
            reversed=str(Decimal(current) + Decimal(e.payload["amount"]))))

    def _on_cease_contact_requested(self, conn: Connection, e: EventEnvelope, case: dict[str, Any]
                                  ) -> None:
        self._set(case, cease_contact_at=e.payload["requested_at"])

    def _on_disputed(self, conn: Connection, e: EventEnvelope, case: dict[str, Any]) -> None:
        self._set(case, dispute_open=True, disputed_at=e.payload["disputed_at"])

    def _on_dispute_resolved(self, conn: Connection, e: EventEnvelope, case: dict[str, Any]
                            ) -> None:
        self._set(case, dispute_open=False, disputed_at=None)

    def _on_recalled(self, conn: Connection, e: EventEnvelope, case: dict[str, Any]) -> None:
        apply_assignment_event(conn, case_assignments, e)
        self._set(case, recalled=True, recalled_at=e.payload["recalled_at"])
        complaint_id = e.payload.get("complaint_id")  # absent in older histories
        if complaint_id:
            update_row(conn, complaints, {"case_id": str(e.case_id),
                                          "complaint_id": complaint_id},
                       recalled_at=utc_text(e.payload["recalled_at"]))

    def _on_reassigned(self, conn: Connection, e: EventEnvelope, case: dict[str, Any]) -> None:
        p = e.payload
        apply_assignment_event(conn, case_assignments, e)
        self._set(case, agency_id=p["to_agency_id"], assigned_at=p["reassigned_at"],
                  recalled=False, recalled_at=None)

    def _on_closed(self, conn: Connection, e: EventEnvelope, case: dict[str, Any]) -> None:
        apply_assignment_event(conn, case_assignments, e)
        self._set(case, closed=True, closed_at=e.payload["closed_at"])

    # ------------------------------------------------------------------ complaints

    def _on_complaint_received(self, conn: Connection, e: EventEnvelope, case: dict[str, Any]
                               ) -> None:
        p = e.payload
        insert_row(conn, complaints, {
            "case_id": str(e.case_id), "complaint_id": p["complaint_id"],
            "position": e.position, "creditor_id": case["creditor_id"],
            "agency_id": p.get("agency_id"), "channel": p["channel"],
            "category": p["category"], "received_at": utc_text(p["received_at"]),
            "received_recorded_at": _recorded(e), "contact_hold": bool(p["contact_hold"]),
            "acknowledge_by": utc_text(p["acknowledge_by"]),
            "investigate_by": utc_text(p["investigate_by"]),
            "resolve_by": utc_text(p["resolve_by"]), "note": p.get("note"),
            "acknowledged_at": None,
            "acknowledged_late": None, "investigated_at": None, "investigated_late": None,
            "finding": None, "resolved_at": None, "resolved_late": None, "outcome": None,
            "resolution_note": None, "missed_steps": "", "first_missed_at": None,
            "recalled_at": None})

    def _on_complaint_acknowledged(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]
                                   ) -> None:
        p = e.payload
        update_row(conn, complaints, _complaint_key(e),
                   acknowledged_at=utc_text(p["acknowledged_at"]),
                   acknowledged_late=bool(p.get("late", False)))

    def _on_complaint_investigated(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]
                                   ) -> None:
        p = e.payload
        update_row(conn, complaints, _complaint_key(e),
                   investigated_at=utc_text(p["investigated_at"]),
                   investigated_late=bool(p.get("late", False)), finding=p["finding"])

    def _on_complaint_resolved(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]
                               ) -> None:
        p = e.payload
        update_row(conn, complaints, _complaint_key(e), resolved_at=utc_text(p["resolved_at"]),
                   resolved_late=bool(p.get("late", False)), outcome=p["outcome"],
                   resolution_note=p.get("note"))

    def _on_complaint_deadline_missed(self, conn: Connection, e: EventEnvelope,
                                      _: dict[str, Any]) -> None:
        # Read (not kept in the batch): misses are rare, and a read sends what is held first.
        key = _complaint_key(e)
        row = conn.execute(sa.select(complaints.c.missed_steps, complaints.c.first_missed_at)
                           .where(complaints.c.case_id == key["case_id"],
                                  complaints.c.complaint_id == key["complaint_id"])).one()
        steps = [s for s in row.missed_steps.split(",") if s]
        if e.payload["step"] in steps:
            return
        due = utc_text(e.payload["due_at"])
        first = row.first_missed_at if row.first_missed_at and row.first_missed_at <= due \
            else due
        update_row(conn, complaints, key, missed_steps=",".join([*steps, e.payload["step"]]),
                   first_missed_at=first)

    # ------------------------------------------------------------------ field visits

    def _on_visit_requested(self, conn: Connection, e: EventEnvelope, case: dict[str, Any]
                            ) -> None:
        p = e.payload
        insert_row(conn, visits, {
            "case_id": str(e.case_id), "visit_id": p["visit_id"], "position": e.position,
            "creditor_id": case["creditor_id"], "agency_id": p["agency_id"],
            "reason": p["reason"], "urgent": bool(p["urgent"]),
            "requested_at": utc_text(p["requested_at"]), "visit_by": utc_text(p["visit_by"]),
            "approved_at": None, "after_the_fact": None, "rejected_at": None,
            "rejection_reason": None, "performed_at": None, "performed_recorded_at": None,
            "outcome": None, "visitor_id": None, "evidence": None, "late": None,
            "reported_at": None, "reported_recorded_at": None, "summary": None})

    def _on_visit_approved(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]) -> None:
        p = e.payload
        update_row(conn, visits, _visit_key(e), approved_at=utc_text(p["approved_at"]),
                   after_the_fact=bool(p.get("after_the_fact", False)))

    def _on_visit_rejected(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]) -> None:
        p = e.payload
        update_row(conn, visits, _visit_key(e), rejected_at=utc_text(p["rejected_at"]),
                   rejection_reason=p["reason"])

    def _on_visit_performed(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]
                            ) -> None:
        p = e.payload
        update_row(conn, visits, _visit_key(e), performed_at=utc_text(p["performed_at"]),
                   performed_recorded_at=_recorded(e), outcome=p["outcome"],
                   visitor_id=p["visitor_id"],
                   evidence=json.dumps(p.get("evidence", []), sort_keys=True),
                   late=bool(p.get("late", False)))

    def _on_visit_reported(self, conn: Connection, e: EventEnvelope, _: dict[str, Any]) -> None:
        p = e.payload
        update_row(conn, visits, _visit_key(e), reported_at=utc_text(p["reported_at"]),
                   reported_recorded_at=_recorded(e), summary=p["summary"])

    @staticmethod
    def _set(case: dict[str, Any], **values: Any) -> None:
        case.update(values)  # written back by `handle`


def _recorded(e: EventEnvelope) -> str:
    """When the event reached the case log, as the tables keep instants."""
    return e.recorded_at.astimezone(UTC).isoformat()


def _complaint_key(e: EventEnvelope) -> dict[str, Any]:
    return {"case_id": str(e.case_id), "complaint_id": e.payload["complaint_id"]}


def _visit_key(e: EventEnvelope) -> dict[str, Any]:
    return {"case_id": str(e.case_id), "visit_id": e.payload["visit_id"]}


_CaseRows = dict[str, dict[str, Any]]


def _batch_cases(conn: Connection) -> tuple[_CaseRows, _CaseRows, _CaseRows] | None:
    """Inside a batch: (the contact_cases rows it has read or made, the ones it changed, the
    ones it read as they were read), by case id. The changed ones are written once at its
    end, each with the columns that differ from what was read (most events change the
    version and position only); a row made in the batch with all of them. None outside a
    batch."""
    batch = batch_scratch(conn)
    if batch is None:
        return None
    scratch, at_end = batch
    cases: tuple[_CaseRows, _CaseRows, _CaseRows] | None = scratch.get("contact_cases")
    if cases is None:
        changed: _CaseRows = {}
        read: _CaseRows = {}

        def write_back() -> None:
            by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for case_id, row in changed.items():
                before = read.get(case_id)
                columns = tuple(row) if before is None else ("case_id", *(
                    c for c, v in row.items() if c != "case_id" and before[c] != v))
                if len(columns) > 1:
                    by_columns.setdefault(columns, []).append({c: row[c] for c in columns})
            for rows in by_columns.values():
                update_rows(conn, contact_cases, rows)

        cases = scratch["contact_cases"] = ({}, changed, read)
        at_end.append(write_back)
    return cases


_READ_AHEAD = 1_000  # keys per query when a batch reads ahead


# ---------------------------------------------------------------------- debtor histories
# Judging a contact reads the debtor's recent contacts. Inside a batch they are read once per
# debtor and kept, with the batch's own contacts added as they are applied, so judging does
# not query (and make the batch send its held inserts) for every contact.

def debtor_contacts(conn: Connection, debtor_id: str, start: str
                    ) -> list[tuple[str, int, dict[str, Any]]] | None:
    """The debtor's contacts that occurred at or after `start` (UTC ISO text), as
    (occurred_at, position, row), ordered by both: the table's rows and this batch's own.
    None outside a batch (read the table then)."""
    batch = batch_scratch(conn)
    if batch is None:
        return None
    known: dict[str, tuple[str, list[tuple[str, int, dict[str, Any]]]]] = \
        batch[0].setdefault("debtor_contacts", {})
    entry = known.get(debtor_id)
    if entry is None or start < entry[0]:  # not read yet from `start`
        prefetch_debtor_contacts(conn, {debtor_id}, start)
        entry = known[debtor_id]
    return entry[1]


def prefetch_debtor_contacts(conn: Connection, debtor_ids: set[str], start: str) -> None:
    """Inside a batch: read the contacts at or after `start` of every debtor not yet read
    from that instant, in a query per thousand debtors, for `debtor_contacts`."""
    batch = batch_scratch(conn)
    if batch is None:
        return
    known: dict[str, tuple[str, list[tuple[str, int, dict[str, Any]]]]] = \
        batch[0].setdefault("debtor_contacts", {})
    missing = sorted(d for d in debtor_ids if d not in known or start < known[d][0])
    found: dict[str, list[tuple[str, int, dict[str, Any]]]] = {d: [] for d in missing}
    t = contacts
    for first in range(0, len(missing), _READ_AHEAD):
        for r in conn.execute(sa.select(t).where(
                among(conn, t.c.debtor_id, missing[first:first + _READ_AHEAD]),
                t.c.occurred_at >= start)).mappings():
            found[r["debtor_id"]].append((r["occurred_at"], r["position"], dict(r)))
    for debtor_id, rows in found.items():
        rows.sort(key=lambda r: (r[0], r[1]))
        known[debtor_id] = (start, rows)


def _remember_contact(conn: Connection, row: dict[str, Any]) -> None:
    batch = batch_scratch(conn)
    if batch is None:
        return
    entry = batch[0].get("debtor_contacts", {}).get(row["debtor_id"])
    if entry is not None and row["occurred_at"] >= entry[0]:
        bisect.insort(entry[1], (row["occurred_at"], row["position"], row),
                      key=lambda r: (r[0], r[1]))
