"""The billing service's read model, built from case events only (so it can be rebuilt).

- `billing_cases`: one row per case with what billing needs (creditor, current agency,
  bucket, currency, placed amount, term, recall and closure);
- `case_assignments`: every stretch an agency held a case (placement or reassignment, until
  a recall, reassignment or closure): the shared table of casetrail.projections.assignments;
- `payments`, `reversals`: the money, each with its position in the case log;
- `promises`: promises to pay and how they stand (kept, broken, or open again after a
  reversal), for the promise-kept rate;
- `litigation_stages`: the stages of a lawsuit a law firm recorded on a case
  (`LitigationStageRecorded`, with the firm it names), for its stage fees.

Service-owned records (contracts, invoices) live in `billing_service.adapters.records`; a
rebuild (`ProjectionStore.reset()`) never touches them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import sqlalchemy as sa
from casetrail.envelope import EventEnvelope
from casetrail.projections.assignments import (
    apply_assignment_event,
    assignments_table,
    utc_text,
)
from casetrail.projections.base import Projection
from casetrail.projections.store import insert_row, update_row
from sqlalchemy.engine import Connection

metadata = sa.MetaData()

billing_cases = sa.Table(
    "billing_cases", metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("creditor_id", sa.Text, nullable=False, index=True),
    sa.Column("account_ref", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text, nullable=False, index=True),  # current
    sa.Column("bucket", sa.Text, nullable=False),
    sa.Column("dpd", sa.Integer, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("placed_amount", sa.Text, nullable=False),
    sa.Column("placed_at", sa.Text, nullable=False),
    sa.Column("term_end", sa.Text, nullable=False),  # current assignment's term
    sa.Column("recalled_at", sa.Text),
    sa.Column("closed_at", sa.Text),
    sa.Column("position", sa.BigInteger, nullable=False),  # last event applied
)

case_assignments = assignments_table(metadata)  # shared: casetrail.projections.assignments

payments = sa.Table(
    "payments", metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("reference", sa.Text, primary_key=True),
    sa.Column("amount", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("received_at", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text, nullable=False, index=True),
    sa.Column("position", sa.BigInteger, nullable=False, index=True),
    # The stint the case log credited the payment to, and its flags (e.g. before_placement);
    # None in histories recorded before payments carried them.
    sa.Column("assignment", sa.Integer),
    sa.Column("flags", sa.Text),
)

reversals = sa.Table(
    "reversals", metadata,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("case_id", sa.Text, nullable=False, index=True),
    sa.Column("reference", sa.Text, nullable=False),
    sa.Column("amount", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("reversed_at", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False, index=True),
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
    sa.Column("position", sa.BigInteger, nullable=False),
)

litigation_stages = sa.Table(
    "litigation_stages", metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("stage_ref", sa.Text, primary_key=True),
    sa.Column("stage", sa.Text, nullable=False),  # filed | hearing | judgment | enforcement
    sa.Column("occurred_at", sa.Text, nullable=False),
    sa.Column("court", sa.Text),
    sa.Column("docket_no", sa.Text),
    sa.Column("law_firm_id", sa.Text, nullable=False, index=True),
    sa.Column("position", sa.BigInteger, nullable=False, index=True),
)

Handler = Callable[[Connection, EventEnvelope], None]


class BillingLedger(Projection):
    """Cases, assignments, payments, reversals, promises and litigation stages: the facts
    commission and stage fees are computed from."""

    name = "billing-ledger"
    metadata = metadata
    event_types = frozenset({
        "Placed", "Reassigned", "Recalled", "Closed", "PaymentReceived", "PaymentReversed",
        "PromisedToPay", "PromiseKept", "PromiseBroken", "PromiseReopened",
        "LitigationStageRecorded",
    })  # contacts, disputes and the like change nothing billing computes
    replay_indexes: frozenset[str] = frozenset()  # handlers look rows up by primary key only

    def handle(self, conn: Connection, event: EventEnvelope) -> None:
        """Apply one case event."""
        handler = self._handlers.get(event.type)
        if handler is None:
            return
        handler(conn, event)
        if event.type != "Placed":
            update_row(conn, billing_cases, {"case_id": str(event.case_id)},
                       position=event.position)

    @property
    def _handlers(self) -> dict[str, Handler]:
        return {
            "Placed": self._on_placed,
            "Reassigned": self._on_reassigned,
            "Recalled": self._on_recalled,
            "Closed": self._on_closed,
            "PaymentReceived": self._on_payment_received,
            "PaymentReversed": self._on_payment_reversed,
            "PromisedToPay": self._on_promised_to_pay,
            "PromiseKept": self._on_promise_kept,
            "PromiseBroken": self._on_promise_broken,
            "PromiseReopened": self._on_promise_reopened,
            "LitigationStageRecorded": self._on_litigation_stage_recorded,
        }

    # ------------------------------------------------------------------ per event type

    def _on_placed(self, conn: Connection, e: EventEnvelope) -> None:
        p = e.payload
        placed_amount = sum((Decimal(v) for v in p["balances"].values()), Decimal(0))
        insert_row(conn, billing_cases, dict(
            case_id=str(e.case_id), creditor_id=p["creditor_id"],
            account_ref=p.get("account_ref", ""), agency_id=p["agency_id"], bucket=p["bucket"],
            dpd=p["dpd"], currency=p["currency"], placed_amount=str(placed_amount),
            placed_at=utc_text(p["placed_at"]), term_end=p["term_end"], recalled_at=None,
            closed_at=None, position=e.position))
        apply_assignment_event(conn, case_assignments, e)

    def _on_reassigned(self, conn: Connection, e: EventEnvelope) -> None:
        p = e.payload
        apply_assignment_event(conn, case_assignments, e)
        self._set(conn, e, agency_id=p["to_agency_id"], term_end=p["term_end"],
                  recalled_at=None)

    def _on_recalled(self, conn: Connection, e: EventEnvelope) -> None:
        apply_assignment_event(conn, case_assignments, e)
        self._set(conn, e, recalled_at=utc_text(e.payload["recalled_at"]))

    def _on_closed(self, conn: Connection, e: EventEnvelope) -> None:
        apply_assignment_event(conn, case_assignments, e)
        self._set(conn, e, closed_at=utc_text(e.payload["closed_at"]))

    def _on_payment_received(self, conn: Connection, e: EventEnvelope) -> None:
        p = e.payload
        insert_row(conn, payments, dict(
            case_id=str(e.case_id), reference=p["reference"], amount=p["amount"],
            currency=p["currency"], source=p["source"], received_at=utc_text(p["received_at"]),
            agency_id=p["agency_id"], position=e.position, assignment=p.get("assignment"),
            flags=",".join(p.get("flags", []))))

    def _on_payment_reversed(self, conn: Connection, e: EventEnvelope) -> None:
        p = e.payload
        insert_row(conn, reversals, dict(
            event_id=str(e.event_id), case_id=str(e.case_id), reference=p["reference"],
            amount=p["amount"], reason=p.get("reason", ""),
            reversed_at=utc_text(p["reversed_at"]), agency_id=p.get("agency_id"),
            source=p.get("source", "agency"), position=e.position))

    def _on_promised_to_pay(self, conn: Connection, e: EventEnvelope) -> None:
        p = e.payload
        insert_row(conn, promises, dict(
            case_id=str(e.case_id), promise_id=p["promise_id"], agency_id=p["agency_id"],
            amount=p["amount"], due_date=p["due_date"], promised_at=utc_text(p["promised_at"]),
            state="open", settled_at=None, position=e.position))

    def _on_promise_kept(self, conn: Connection, e: EventEnvelope) -> None:
        self._settle(conn, e, "kept", e.payload["kept_at"])

    def _on_promise_broken(self, conn: Connection, e: EventEnvelope) -> None:
        self._settle(conn, e, "broken", e.payload["broken_at"])

    def _on_promise_reopened(self, conn: Connection, e: EventEnvelope) -> None:
        update_row(conn, promises, {"case_id": str(e.case_id),
                                    "promise_id": e.payload["promise_id"]},
                   state="open", settled_at=None, position=e.position)

    def _on_litigation_stage_recorded(self, conn: Connection, e: EventEnvelope) -> None:
        p = e.payload
        insert_row(conn, litigation_stages, dict(
            case_id=str(e.case_id), stage_ref=p["stage_ref"], stage=p["stage"],
            occurred_at=utc_text(p["occurred_at"]), court=p.get("court"),
            docket_no=p.get("docket_no"), law_firm_id=p["law_firm_id"], position=e.position))

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _settle(conn: Connection, e: EventEnvelope, state: str, at: str) -> None:
        update_row(conn, promises, {"case_id": str(e.case_id),
                                    "promise_id": e.payload["promise_id"]},
                   state=state, settled_at=utc_text(at), position=e.position)

    @staticmethod
    def _set(conn: Connection, e: EventEnvelope, **values: str | None) -> None:
        update_row(conn, billing_cases, {"case_id": str(e.case_id)}, **values)
