"""The public event envelope: deterministic ids and canonical JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
import pydantic
import pytest
from casetrail.envelope import (
    ENVELOPE_VERSION,
    EnvelopeError,
    EventEnvelope,
    decode_envelope,
    event_id_for,
    to_jsonable,
)

CASE_ID = UUID("d89cbf0c-e105-555b-9ea8-342b5c6ddf3f")


def envelope(**overrides: Any) -> EventEnvelope:
    fields: dict[str, Any] = {
        "event_id": event_id_for(CASE_ID, 3),
        "type": "PaymentReceived",
        "schema_version": ENVELOPE_VERSION,
        "case_id": CASE_ID,
        "version": 3,
        "position": 118,
        "occurred_at": datetime(2025, 3, 10, 8, 30, tzinfo=UTC),
        "recorded_at": datetime(2025, 3, 10, 8, 30, 1, 250000, tzinfo=UTC),
        "payload": to_jsonable({
            "reference": "r1", "amount": Decimal("100.50"), "currency": "CNY",
            "received_at": datetime(2025, 3, 10, 8, 30, tzinfo=UTC), "flags": [],
            "due": date(2025, 3, 17), "agency_id": "AG-A", "method": None,
        }),
    }
    fields.update(overrides)
    return EventEnvelope(**fields)


def test_event_ids_are_deterministic_per_case_and_version() -> None:
    assert event_id_for(CASE_ID, 1) == event_id_for(CASE_ID, 1)
    assert event_id_for(CASE_ID, 1) == event_id_for(str(CASE_ID), 1)
    assert event_id_for(CASE_ID, 1).version == 5


def test_event_ids_differ_between_versions_and_cases() -> None:
    other = UUID("00000000-0000-0000-0000-000000000001")
    ids = {event_id_for(CASE_ID, 1), event_id_for(CASE_ID, 2), event_id_for(other, 1),
           event_id_for(other, 2)}
    assert len(ids) == 4


def test_an_envelope_survives_its_json_form() -> None:
    original = envelope()
    data = original.to_json_bytes()
    assert EventEnvelope.from_json_bytes(data) == original
    assert EventEnvelope.from_json_bytes(data).to_json_bytes() == data


def test_the_json_form_has_sorted_keys_and_json_primitives() -> None:
    data = orjson.loads(envelope().to_json_bytes())
    assert list(data) == sorted(data)
    assert data["event_id"] == str(event_id_for(CASE_ID, 3))
    assert data["case_id"] == str(CASE_ID)
    assert data["payload"]["amount"] == "100.50"
    assert data["payload"]["due"] == "2025-03-17"
    assert data["occurred_at"].startswith("2025-03-10T08:30:00")


def test_the_json_form_is_canonical_whatever_the_payload_key_order() -> None:
    first = envelope(payload={"a": 1, "b": {"y": 2, "x": 1}})
    second = envelope(payload={"b": {"x": 1, "y": 2}, "a": 1})
    assert first.to_json_bytes() == second.to_json_bytes()
    assert first.to_json_bytes().index(b'"x"') < first.to_json_bytes().index(b'"y"')


def test_an_envelope_cannot_be_changed() -> None:
    with pytest.raises(pydantic.ValidationError):
        envelope().version = 4  # type: ignore[misc]


def test_an_envelope_missing_a_field_is_refused() -> None:
    data = orjson.loads(envelope().to_json_bytes())
    del data["case_id"]
    with pytest.raises(pydantic.ValidationError):
        EventEnvelope.from_json_bytes(orjson.dumps(data))


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("12.30"), "12.30"),
    (Decimal("-0.01"), "-0.01"),
    (Decimal("1E+3"), "1E+3"),
    (date(2025, 3, 3), "2025-03-03"),
    (datetime(2025, 3, 3, 9, 0, tzinfo=UTC), "2025-03-03T09:00:00+00:00"),
    (datetime(2025, 3, 3, 17, 0, tzinfo=timezone(timedelta(hours=8))),
     "2025-03-03T17:00:00+08:00"),
    (CASE_ID, str(CASE_ID)),
    ("text", "text"), (7, 7), (None, None), (True, True), (1.5, 1.5),
])
def test_jsonable_turns_decimals_dates_and_uuids_into_strings(value: Any, expected: Any) -> None:
    assert to_jsonable(value) == expected


def test_jsonable_converts_nested_structures() -> None:
    value = {
        "installments": [{"due_date": date(2025, 4, 1), "amount": Decimal("300.00")},
                         ({"due_date": date(2025, 5, 1), "amount": Decimal("300.00")},)],
        "ids": (CASE_ID,),
        "flags": {"overpayment"},
        7: {"deep": [[Decimal("0.5")]]},
    }
    assert to_jsonable(value) == {
        "installments": [{"due_date": "2025-04-01", "amount": "300.00"},
                         [{"due_date": "2025-05-01", "amount": "300.00"}]],
        "ids": [str(CASE_ID)],
        "flags": ["overpayment"],
        "7": {"deep": [["0.5"]]},
    }


def test_jsonable_output_serialises_to_json_and_back_unchanged() -> None:
    value = to_jsonable({"amount": Decimal("1.10"), "at": datetime(2025, 1, 1, tzinfo=UTC),
                         "id": CASE_ID, "items": [date(2025, 1, 2)]})
    assert orjson.loads(orjson.dumps(value)) == value


# ------------------------------------------------------------------------ decoding and upcasting


@pytest.fixture
def promise_schema_v2() -> Any:
    """Pretend PromisedToPay moved to v2 (amount split into value + currency)."""
    from casetrail import envelope as module

    saved = (dict(module.UPCASTERS), dict(module.CURRENT_SCHEMA_VERSIONS))

    @module.upcaster("PromisedToPay", 1)
    def _v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
        payload["amount"] = {"value": payload.pop("amount"), "currency": "CNY"}
        return payload

    yield
    module.UPCASTERS.clear()
    module.UPCASTERS.update(saved[0])
    module.CURRENT_SCHEMA_VERSIONS.clear()
    module.CURRENT_SCHEMA_VERSIONS.update(saved[1])


def test_an_old_schema_version_is_upcast_when_decoded(promise_schema_v2: None) -> None:
    old = envelope(type="PromisedToPay", schema_version=1, payload={"amount": "50.00"})
    decoded = decode_envelope(old.to_json_bytes())
    assert decoded.schema_version == 2
    assert decoded.payload == {"amount": {"value": "50.00", "currency": "CNY"}}


def test_a_current_schema_version_decodes_unchanged(promise_schema_v2: None) -> None:
    current = envelope(type="PromisedToPay", schema_version=2,
                       payload={"amount": {"value": "1", "currency": "CNY"}})
    assert decode_envelope(current.to_json_bytes()) == current


def test_a_schema_version_newer_than_the_consumer_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="newer than this consumer"):
        decode_envelope(envelope(schema_version=7).to_json_bytes())


@pytest.mark.parametrize("data", [b"", b"\x00garbage", b"{}", b'{"type": 1}', b"[1, 2]"])
def test_bytes_that_are_not_an_envelope_raise_an_envelope_error(data: bytes) -> None:
    with pytest.raises(EnvelopeError):
        decode_envelope(data)


def test_a_feed_item_decodes_like_transport_bytes() -> None:
    original = envelope()
    assert decode_envelope(original.model_dump(mode="json")) == original
