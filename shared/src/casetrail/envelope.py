"""The public contract for case events leaving the case service (schema in docs/events.md).

Consumers see this envelope, never the case service's stored form. `event_id` is derived from
(case id, version), so a redelivered or re-published event has the same id everywhere.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

import orjson
from pydantic import BaseModel, ConfigDict

EVENT_NAMESPACE = UUID("b1f0c6d4-2f39-4a8e-8d0b-8e2a7f6c5d31")
ENVELOPE_VERSION = 1


def event_id_for(case_id: UUID | str, version: int) -> UUID:
    """The deterministic id of a case's event at a version."""
    return uuid5(EVENT_NAMESPACE, f"{case_id}:{version}")


class EventEnvelope(BaseModel):
    """One case event as other services and auditors see it."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID
    type: str
    schema_version: int
    case_id: UUID
    version: int
    position: int
    occurred_at: datetime
    recorded_at: datetime
    payload: dict[str, Any]

    def to_json_bytes(self) -> bytes:
        """Canonical JSON bytes (sorted keys) for transport."""
        return orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json_bytes(cls, data: bytes) -> EventEnvelope:
        """Parse transport bytes back into an envelope."""
        return cls.model_validate_json(data)


def to_jsonable(value: Any) -> Any:
    """Turn event attribute values into JSON primitives: Decimal and dates become strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    return value
