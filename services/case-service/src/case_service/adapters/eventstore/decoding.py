"""Stored case events decoded without the library's general path: straight into public
envelopes (the feed, the relay, rebuilds), into domain events, or applied to an aggregate
(the replay of every case). Each decoder builds what the library would (`object.__new__`,
`decorated_funcs`) and falls back to the library for anything it does not know; each is
tested equal to the library's path on every event type (tests/integration/test_envelopes.py).
Only events stored as plain JSON (no cipher, no compression) take these paths.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from inspect import Parameter, signature
from operator import itemgetter
from typing import Any
from uuid import UUID

import orjson
from casetrail.envelope import (
    CURRENT_SCHEMA_VERSIONS,
    EventEnvelope,
    event_id_for,
    trusted_envelope,
)
from eventsourcing.domain import (
    CanMutateAggregate,
    DecoratedFuncCaller,
    OriginatorIDError,
    OriginatorVersionError,
    decorated_funcs,
)
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from case_service.adapters.integration import INTERNAL_FIELDS, OCCURRED_AT_FIELD, to_envelope

# ---------------------------------------------------------------------- stored bytes -> envelope
# Rebuilds, the relay and the feed turn millions of stored events into envelopes. Going through
# the library (JSON decode with an object hook, the domain event object, back to JSON
# primitives, then pydantic validation) costs about 70 µs an event. The stored JSON already
# holds the envelope: the library's transcodings wrap Decimals, datetimes and dates as
# {"_type_": name, "_data_": text}, where the text is exactly what `to_jsonable` prints, so
# replacing each wrapper by its text gives the payload.
# Anything else (UUIDs, an unknown transcoding, an event class with upcasts, a cipher) takes
# the library's path; `test_lean_envelopes_equal_library_envelopes` checks both paths agree on
# every event type.

_PLAIN_TRANSCODINGS = frozenset({"decimal_str", "datetime_iso", "date_iso"})


class _NeedsLibrary(Exception):
    """The stored state holds a value the lean path does not decode (e.g. a UUID)."""


def _plain(value: Any, decoders: dict[str, Any] | None = None) -> Any:
    """A decoded JSON object or array with the library's transcoding wrappers replaced (in
    place: the value was just parsed) by their text, or with `decoders` (name -> function of
    the text) by what each decodes it to. An unknown wrapper raises _NeedsLibrary."""
    decoders = _TEXT if decoders is None else decoders
    items = value.items() if type(value) is dict else enumerate(value)
    for k, v in items:
        if type(v) is dict:
            kind = v.get("_type_")
            if kind is None or len(v) != 2 or "_data_" not in v:
                _plain(v, decoders)
            else:
                decode = decoders.get(kind)
                if decode is None:
                    raise _NeedsLibrary(kind)
                value[k] = decode(v["_data_"])
        elif type(v) is list:
            _plain(v, decoders)
    return value


_TEXT = dict.fromkeys(_PLAIN_TRANSCODINGS, str)  # str of a str is the same object


def stored_as_plain_json(mapper: Any) -> bool:
    """Whether the mapper stores events as plain JSON (no cipher, no compression): what the
    lean decoders here read."""
    return mapper.cipher is None and mapper.compressor is None


@lru_cache(maxsize=256)
def _topic_info(topic: str) -> tuple[str, bool]:
    """(public type name, whether the lean path may decode it) of a stored event topic."""
    return resolve_topic(topic).__name__, _event_class(topic) is not None


def topic_type(topic: str) -> str:
    """The public type name (envelope `type`) of a stored event topic."""
    return _topic_info(topic)[0]


def envelope_from_stored(stored: Any, position: int, mapper: Any) -> EventEnvelope:
    """The public envelope of a stored event (a library `Notification` or `StoredEvent`)."""
    if stored_as_plain_json(mapper):
        envelope = _lean(stored.topic, stored.originator_id, stored.originator_version,
                         position, stored.state)
        if envelope is not None:
            return envelope
    return to_envelope(mapper.to_domain_event(stored), position)


def envelope_from_row(row: tuple[Any, ...], mapper: Any) -> EventEnvelope:
    """The envelope of a (position, case id, version, topic, state) row of an event store
    without cipher or compression."""
    position, case_id, version, topic, state = row
    envelope = _lean(topic, case_id, version, position, state)
    if envelope is not None:
        return envelope
    stored = StoredEvent(originator_id=case_id, originator_version=version, topic=topic,
                         state=bytes(state))
    return to_envelope(mapper.to_domain_event(stored), position)


def _lean(topic: str, case_id: Any, version: int, position: int, state: bytes
          ) -> EventEnvelope | None:
    """The envelope decoded straight from the stored JSON, or None: the library's turn."""
    kind, lean = _topic_info(topic)
    if not lean:
        return None
    try:
        plain = _plain(orjson.loads(state))
    except _NeedsLibrary:
        return None
    return lean_envelope(kind, case_id, version, position, plain)


def lean_envelope(kind: str, case_id: Any, version: int, position: int,
                  state: dict[str, Any]) -> EventEnvelope:
    """The envelope of an event whose stored state is already plain JSON values."""
    recorded_at = datetime.fromisoformat(state["timestamp"])
    occurred = state.get(OCCURRED_AT_FIELD.get(kind, "timestamp"))
    for name in INTERNAL_FIELDS:
        state.pop(name, None)
    if not isinstance(case_id, UUID):
        case_id = UUID(str(case_id))
    return trusted_envelope(
        event_id=event_id_for(case_id, version), type=kind,
        schema_version=CURRENT_SCHEMA_VERSIONS.get(kind, 1), case_id=case_id, version=version,
        position=position,
        occurred_at=recorded_at if occurred is None else datetime.fromisoformat(occurred),
        recorded_at=recorded_at, payload=state)


# ---------------------------------------------------------------------- stored bytes -> event
# Replaying every case (`application/replay.py`) decodes each stored event into the
# library's domain event. The library's JSON decoder calls a Python hook for every object; the
# same typed values come from orjson and a walk that replaces each transcoding wrapper by what
# the library's transcoding decodes it to (`_plain` with these decoders). Anything else takes
# the library's path. `test_lean_domain_events_equal_the_library_s` compares both paths on
# every event type.

_TYPED_TRANSCODINGS: dict[str, Any] = {
    "decimal_str": Decimal, "datetime_iso": datetime.fromisoformat,
    "date_iso": date.fromisoformat,
}


@lru_cache(maxsize=256)
def _event_class(topic: str) -> Any:
    """The domain event class of a stored topic, or None when the lean path may not decode
    it (a class with upcasts)."""
    cls = resolve_topic(topic)
    return cls if getattr(cls, "class_version", 1) == 1 else None


def _typed_attributes(state: bytes) -> dict[str, Any] | None:
    """A stored state's attributes with the values the library's transcodings decode to, or
    None when it holds one the lean path does not decode."""
    try:
        attributes: dict[str, Any] = _plain(orjson.loads(state), _TYPED_TRANSCODINGS)
    except _NeedsLibrary:
        return None
    return attributes


def domain_event_from_row(case_id: UUID, version: int, topic: str, state: bytes,
                          mapper: Any) -> Any:
    """The library's domain event of a stored event, as `mapper.to_domain_event` builds it
    (the same attributes, the same types), decoded with orjson where it can be."""
    cls = _event_class(topic) if stored_as_plain_json(mapper) else None
    attributes = None if cls is None else _typed_attributes(state)
    if cls is not None and attributes is not None:
        attributes.pop("class_version", None)  # as the library does (1: no upcasts)
        attributes["originator_id"] = case_id
        attributes["originator_version"] = version
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", attributes)
        return event
    return mapper.to_domain_event(StoredEvent(originator_id=case_id, originator_version=version,
                                              topic=topic, state=bytes(state)))


# ---------------------------------------------------------------------- stored bytes -> state
# Most events of a case are applied by a method decorated with @event: the library's event
# object (`DecoratedFuncCaller.apply`) picks the method's parameters out of its attributes
# and calls it. Replaying millions of events, building each event object only to do that
# costs as much as the method itself; `apply_stored_event` calls the same method with the
# same arguments straight from the decoded attributes. Any event class that applies itself
# otherwise (a created event, its own `apply` or `mutate`, upcasts) takes the library's path.
# `test_applied_rows_equal_the_library_s_mutate` compares both paths on every event type.


@lru_cache(maxsize=256)
def _handler(topic: str) -> tuple[Any, Callable[[dict[str, Any]], Any]] | None:
    """The @event method a stored event's class applies, and a function picking its
    arguments (in order) out of the event's attributes, when the class applies itself only
    by calling that method (None: use the library's `mutate`)."""
    cls = _event_class(topic)
    if cls is None or cls.mutate is not CanMutateAggregate.mutate \
            or cls.apply is not DecoratedFuncCaller.apply or cls not in decorated_funcs:
        return None
    method = decorated_funcs[cls]
    parameters = list(signature(method).parameters.values())[1:]  # without self
    if any(p.kind is not Parameter.POSITIONAL_OR_KEYWORD for p in parameters):
        return None
    names = [p.name for p in parameters]
    if len(names) > 1:
        return method, itemgetter(*names)
    return method, (lambda attributes: (attributes[names[0]],)) if names else (lambda _: ())


def apply_stored_event(aggregate: Any, case_id: UUID, version: int, topic: str, state: bytes,
                       mapper: Any) -> Any:
    """The aggregate after the stored event (None before the first): what
    `domain_event_from_row(...).mutate(aggregate)` gives, by calling the aggregate's @event
    method with the decoded attributes where the library's event would do only that."""
    handler = _handler(topic) if aggregate is not None and stored_as_plain_json(mapper) \
        else None
    attributes = None if handler is None else _typed_attributes(state)
    if handler is None or attributes is None:
        return domain_event_from_row(case_id, version, topic, state, mapper).mutate(aggregate)
    if case_id != aggregate.id:
        raise OriginatorIDError(case_id, aggregate.id)
    if version != aggregate.version + 1:
        raise OriginatorVersionError(version, aggregate.version + 1)
    attributes["originator_id"] = case_id
    attributes["originator_version"] = version
    method, arguments = handler
    try:
        picked = arguments(attributes)
    except KeyError:  # a parameter the event lacks: the library leaves it to its default
        return domain_event_from_row(case_id, version, topic, state, mapper).mutate(aggregate)
    method(aggregate, *picked)
    aggregate.version = version
    aggregate.modified_on = attributes["timestamp"]
    return aggregate
