"""Maps the case's domain events onto the public envelope in casetrail.envelope: what leaves
the service (docs/events.md). The faster decoding of stored bytes straight into envelopes is
in eventstore/decoding.py, tested equal to this."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casetrail.envelope import CURRENT_SCHEMA_VERSIONS, EventEnvelope, event_id_for, to_jsonable

# The business time of each event type; everything else falls back to the recorded time.
OCCURRED_AT_FIELD = {
    "Placed": "placed_at", "Contacted": "occurred_at", "PaymentReceived": "received_at",
    "PaymentReversed": "reversed_at", "PromisedToPay": "promised_at", "PromiseKept": "kept_at",
    "PromiseBroken": "broken_at", "PromiseReopened": "reopened_at",
    "RepaymentPlanAgreed": "agreed_at",
    "Disputed": "disputed_at", "DisputeResolved": "resolved_at",
    "HardshipFlagged": "flagged_at", "CeaseContactRequested": "requested_at",
    "Escalated": "escalated_at", "Recalled": "recalled_at", "Reassigned": "reassigned_at",
    "Closed": "closed_at",
    "ComplaintReceived": "received_at", "ComplaintAcknowledged": "acknowledged_at",
    "ComplaintInvestigated": "investigated_at", "ComplaintResolved": "resolved_at",
    "ComplaintDeadlineMissed": "due_at",
    "VisitRequested": "requested_at", "VisitApproved": "approved_at",
    "VisitRejected": "rejected_at", "VisitPerformed": "performed_at",
    "VisitReported": "reported_at",
    "SettlementProposed": "proposed_at", "SettlementApproved": "approved_at",
    "SettlementRejected": "rejected_at", "SettlementFulfilled": "fulfilled_at",
    "SettlementDefaulted": "defaulted_at", "PiiRevealed": "revealed_at",
    "HandedToLawFirm": "handed_at", "LitigationStageRecorded": "occurred_at",
    "LegalDocumentReferenced": "referenced_at", "ReallocatedByScorecard": "reallocated_at",
}
INTERNAL_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic",
                   "debtor_pii", "contact_point_sealed"}


def event_type(domain_event: Any) -> str:
    """The public type name of a stored event: its class name."""
    return type(domain_event).__name__


def event_data(domain_event: Any) -> dict[str, Any]:
    """The event's own attributes, as JSON primitives, without library internals or PII."""
    return {k: to_jsonable(v) for k, v in domain_event.__dict__.items()
            if k not in INTERNAL_FIELDS}


def to_envelope(domain_event: Any, position: int) -> EventEnvelope:
    """The public envelope of one stored event at its global position."""
    kind = event_type(domain_event)
    recorded_at: datetime = domain_event.timestamp
    occurred = getattr(domain_event, OCCURRED_AT_FIELD.get(kind, "timestamp"), recorded_at)
    return EventEnvelope(
        event_id=event_id_for(domain_event.originator_id, domain_event.originator_version),
        type=kind,
        schema_version=CURRENT_SCHEMA_VERSIONS.get(kind, 1),
        case_id=domain_event.originator_id,
        version=domain_event.originator_version,
        position=position,
        occurred_at=occurred,
        recorded_at=recorded_at,
        payload=event_data(domain_event),
    )
