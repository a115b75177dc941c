"""`Placed` events for bulk placements, encoded straight into the library's stored form.

A placement opens up to 10,000 cases at once. Creating each one as a library aggregate (the
metaclass call, argument filtering, runtime protocol checks, the pending-event collection,
then the stdlib JSON encoder with a Python hook per Decimal and datetime) cost more than
everything else in the request together. A case's opening event is a plain record of what was
placed, so it is written here directly in the library's format: the same topic, the same
state keys in the same order, the same `{"_type_": ..., "_data_": ...}` transcodings, so the
library reads these events back exactly as if it had written them.
`tests/integration/test_bulk_placement.py` decodes both forms and compares them field by field.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from case_service.domain.case import Case

CASE_TOPIC = get_topic(Case)
PLACED_TOPIC = get_topic(Case.Placed)  # type: ignore[attr-defined]


def _transcoded(value: Any) -> dict[str, str]:
    """orjson's hook for what JSON has no type for: the library transcoder's wrapper."""
    if isinstance(value, Decimal):
        return {"_type_": "decimal_str", "_data_": str(value)}
    if isinstance(value, datetime):
        return {"_type_": "datetime_iso", "_data_": value.isoformat()}
    if isinstance(value, date):  # the case service's DateAsISO transcoding
        return {"_type_": "date_iso", "_data_": value.isoformat()}
    raise TypeError(f"no stored form for {type(value).__name__} in a Placed event")


def placed_event(case_id: UUID, timestamp: datetime, facts: dict[str, Any]) -> StoredEvent:
    """The stored `Case.Placed` event opening a case: `facts` are the keyword arguments of
    `Case(...)`, in the order of its signature. (Placed facts hold no UUIDs, which orjson
    would write as bare strings where the library writes a wrapper.)"""
    state = {"timestamp": timestamp, "originator_topic": CASE_TOPIC, **facts}
    # Wrapped here rather than by the hook: one Python call per balance instead of several.
    state["balances"] = {k: {"_type_": "decimal_str", "_data_": str(v)}
                         for k, v in facts["balances"].items()}
    return StoredEvent(originator_id=case_id, originator_version=1, topic=PLACED_TOPIC,
                       state=orjson.dumps(state, default=_transcoded,
                                          option=orjson.OPT_PASSTHROUGH_DATETIME))
