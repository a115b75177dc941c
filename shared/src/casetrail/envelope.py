"""The public contract for case events leaving the case service (schema in docs/events.md).

Consumers see this envelope, never the case service's stored form. `event_id` is derived from
(case id, version), so a redelivered or re-published event has the same id everywhere.
Consumers decode with `decode_envelope`, which upgrades payloads written under older schema
versions through registered upcasters, so events stored years ago still decode.

`shard` names the case log an event comes from when creditors are spread over several
(docs/scaling.md): positions count within one log, so consumers compare them per shard. It
is absent from the JSON of the single default log (None), which keeps those bytes as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from hashlib import sha1
from typing import Any, NamedTuple
from uuid import UUID, SafeUUID
from zlib import crc32

import orjson
from pydantic import BaseModel, ConfigDict

EVENT_NAMESPACE = UUID("b1f0c6d4-2f39-4a8e-8d0b-8e2a7f6c5d31")
ENVELOPE_VERSION = 1


def event_id_for(case_id: UUID | str, version: int) -> UUID:
    """The deterministic id of a case's event at a version: uuid5(EVENT_NAMESPACE,
    "<case id>:<version>"), computed without `uuid.uuid5`'s per-call overhead (rebuilds derive
    millions)."""
    digest = sha1(_NAMESPACE_BYTES + f"{case_id}:{version}".encode(), usedforsecurity=False)
    event_id = _new(UUID)  # UUID(int=...) minus its argument checks: the value is 128 bits
    _set(event_id, "int",
         (int.from_bytes(digest.digest()[:16], "big") & _UUID5_CLEAR) | _UUID5_SET)
    _set(event_id, "is_safe", SafeUUID.unknown)
    return event_id


_new = object.__new__
_set = object.__setattr__
_NAMESPACE_BYTES = EVENT_NAMESPACE.bytes
_UUID5_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)  # version and variant bits
_UUID5_SET = (5 << 76) | (0x8000 << 48)


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
    shard: str | None = None  # the log's shard (None: the single default log)

    def to_json_bytes(self) -> bytes:
        """Canonical JSON bytes (sorted keys) for transport; `shard` only when set."""
        data = self.model_dump(mode="json")
        if data["shard"] is None:
            del data["shard"]
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json_bytes(cls, data: bytes) -> EventEnvelope:
        """Parse transport bytes back into an envelope."""
        return cls.model_validate_json(data)


_FIELDS_SET = frozenset(EventEnvelope.model_fields)


class LogPage(NamedTuple):
    """A page of the case log as a reader asked for it: the envelopes of the event types it
    wanted (all of them if it named none), in order, and how far the page went."""

    events: list[EventEnvelope]
    last_position: int  # the position of the page's last event, wanted or not (0: none)
    read: int  # events in the page, wanted or not


OPENING_EVENT = "Placed"  # the first event of every case


class LogShare:
    """One of `count` disjoint shares of the case log, by a field of each case's opening
    event (e.g. the debtor): share `index` holds the cases whose field hashes (CRC-32) to
    it, with all their events. A reader asks `wants` before decoding an event (the opening
    event of every case is decoded, to see whose it is; the others only for cases in the
    share) and `keeps` after. It must see the log in order: it learns a case's share from its
    opening event."""

    __slots__ = ("cases", "count", "field", "index")

    def __init__(self, index: int, count: int, field: str):
        if not 0 <= index < count:
            raise ValueError(f"share {index} of {count}")
        self.index, self.count, self.field = index, count, field
        self.cases: set[UUID] = set()

    def owns(self, value: str) -> bool:
        """Whether cases whose opening event has this value of the field are in the share."""
        return crc32(value.encode()) % self.count == self.index

    def wants(self, case_id: UUID, event_type: str) -> bool:
        """Whether to decode this event (False: skip it undecoded)."""
        return event_type == OPENING_EVENT or case_id in self.cases

    def keeps(self, envelope: EventEnvelope) -> bool:
        """Whether a decoded event is in the share (an opening event adds its case)."""
        if envelope.type != OPENING_EVENT:
            return True
        if self.owns(str(envelope.payload[self.field])):
            self.cases.add(envelope.case_id)
            return True
        return False


def trusted_envelope(**fields: Any) -> EventEnvelope:
    """An envelope from values the case service produced itself, already of the field types:
    no validation (pydantic's `model_construct` does the same, several times slower). Only
    for the case service's own stored events; anything from a transport is validated by
    `decode_envelope`."""
    if "shard" not in fields:
        fields["shard"] = None
    envelope = _new(EventEnvelope)
    _set(envelope, "__dict__", fields)
    _set(envelope, "__pydantic_fields_set__", _FIELDS_SET)
    _set(envelope, "__pydantic_extra__", None)
    _set(envelope, "__pydantic_private__", None)
    return envelope


def in_shard(envelope: EventEnvelope, shard: str | None) -> EventEnvelope:
    """The envelope marked as coming from the case log of `shard` (None: the default log)."""
    if envelope.shard == shard:
        return envelope
    return trusted_envelope(**{**envelope.__dict__, "shard": shard})


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


class EnvelopeError(ValueError):
    """Bytes that are not a valid case-event envelope (a poison message)."""


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# Current payload schema version per event type (types not listed are at version 1).
CURRENT_SCHEMA_VERSIONS: dict[str, int] = {}
# (type, from_version) -> function turning a payload of that version into the next one.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a payload upgrade from `from_version` to `from_version + 1` of an event type."""

    def register(function: Upcaster) -> Upcaster:
        UPCASTERS[(event_type, from_version)] = function
        CURRENT_SCHEMA_VERSIONS[event_type] = max(
            CURRENT_SCHEMA_VERSIONS.get(event_type, 1), from_version + 1)
        return function

    return register


def upcast(envelope: EventEnvelope) -> EventEnvelope:
    """The envelope with its payload upgraded to the current schema version of its type."""
    version, payload = envelope.schema_version, envelope.payload
    target = CURRENT_SCHEMA_VERSIONS.get(envelope.type, 1)
    if version > target:
        raise EnvelopeError(f"{envelope.type} schema version {version} is newer than this "
                            f"consumer knows ({target}); upgrade the consumer")
    while version < target:
        step = UPCASTERS.get((envelope.type, version))
        if step is None:
            raise EnvelopeError(f"no upcaster for {envelope.type} v{version}")
        payload, version = step(dict(payload)), version + 1
    if version == envelope.schema_version:
        return envelope
    return envelope.model_copy(update={"payload": payload, "schema_version": version})


def decode_envelope(data: bytes | str | dict[str, Any]) -> EventEnvelope:
    """Parse transport bytes (or a feed item) into a current-version envelope."""
    try:
        if isinstance(data, dict):
            envelope = EventEnvelope.model_validate(data)
        else:
            envelope = EventEnvelope.model_validate_json(data)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise EnvelopeError(f"not a case-event envelope: {exc}") from exc
    return upcast(envelope)

