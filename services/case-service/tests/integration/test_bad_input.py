"""Bad input gets a 4xx with a reason, never a 500."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

PAST = (datetime.now(UTC) - timedelta(hours=1)).isoformat()


def test_malformed_json_is_422_with_a_reason(client: Any, api_keys: dict[str, str]) -> None:
    r = client.post("/v1/placements", content=b'{"placement_ref": "P", "accounts": [',
                    headers={"Authorization": f"Bearer {api_keys['bank1']}",
                             "Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["type"] == "json_invalid"


@pytest.mark.parametrize("content", [
    b'{"placement_ref": "P", "accounts": [{"dpd": NaN}]}',  # not JSON, though Python reads it
    b'{"placement_ref": "P", "accounts": ["\\ud800"]}',  # a lone surrogate
    b'{"placement_ref": "P", "accounts": [1]}\n{"again": 1}',
])
def test_json_that_is_not_standard_is_422(client: Any, api_keys: dict[str, str],
                                          content: bytes) -> None:
    r = client.post("/v1/placements", content=content,
                    headers={"Authorization": f"Bearer {api_keys['bank1']}",
                             "Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["type"] == "json_invalid"


def test_the_placement_digest_covers_what_model_dump_gives() -> None:
    from case_service.entrypoints.routes.placements import placement_content
    from case_service.entrypoints.schemas import PlacementIn

    body = PlacementIn.model_validate({"placement_ref": "P-1", "accounts": [
        {"account_ref": "A", "balances": {"principal": "1.50"}, "dpd": 3.0, "x": [None, True],
         "debtor": {"name": "张三 \u00e9"}}, 7, "s"]})
    assert placement_content(body) == body.model_dump(mode="json")


@pytest.mark.parametrize(("body", "path"), [
    ({"accounts": [{}]}, "body.placement_ref"),
    ({"placement_ref": "P", "accounts": "many"}, "body.accounts"),
    ({"placement_ref": "P", "accounts": []}, "body.accounts"),
    ({"placement_ref": "P with spaces", "accounts": [{}]}, "body.placement_ref"),
    ({"placement_ref": "P", "accounts": [{}], "extra": 1}, "body.extra"),
])
def test_placement_envelope_errors_name_the_field(as_: Any, body: Any, path: str) -> None:
    r = as_("bank1").post("/v1/placements", json=body)
    assert r.status_code == 422
    assert path in [f["path"] for f in r.json()["error"]["fields"]]


def test_oversized_batch_is_refused(as_: Any, row: Any) -> None:
    one = row("A")
    r = as_("bank1").post("/v1/placements", json={"placement_ref": "P",
                                                  "accounts": [one] * 10_001})
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["path"] == "body.accounts"


def test_body_over_the_size_limit_is_413(client: Any, api_keys: dict[str, str],
                                         settings: Any, common: Any, application: Any) -> None:
    from case_service.entrypoints.app import create_app
    from fastapi.testclient import TestClient

    small = TestClient(create_app(settings.model_copy(update={"max_body_bytes": 1000}), common,
                                  application))
    r = small.post("/v1/placements", content=b"x" * 5000,
                   headers={"Authorization": f"Bearer {api_keys['bank1']}",
                            "Content-Type": "application/json"})
    assert r.status_code == 413


def test_admin_placement_without_creditor_is_422(as_: Any, row: Any) -> None:
    r = as_("admin").post("/v1/placements", json={"placement_ref": "P", "accounts": [row("A")]})
    assert r.status_code == 422


def test_creditor_cannot_place_for_another_creditor(as_: Any, row: Any) -> None:
    r = as_("bank1").post("/v1/placements", json={"creditor_id": "BANK2", "placement_ref": "P",
                                                  "accounts": [row("A")]})
    assert r.status_code == 403


@pytest.mark.parametrize(("amount", "why"), [
    ("-1", "greater than or equal"),
    ("0", "greater than zero"),
    ("1e40", "plain decimal"),  # exponents are refused outright (issue 18)
    ("1" + "0" * 13, "less than or equal"),
    ("12.345", "decimal places"),
    ("abc", "decimal"),
    (12.5, "decimal string"),
    ("NaN", "plain decimal"),
])
def test_bad_payment_amounts_are_422(as_: Any, placed: str, amount: Any, why: str) -> None:
    r = as_("agency_a").post(f"/v1/cases/{placed}/payments", json={
        "reference": "R1", "amount": amount, "received_at": PAST})
    assert r.status_code == 422, r.text
    assert why.lower() in r.text.lower()


def test_unknown_currency_is_422(as_: Any, placed: str) -> None:
    r = as_("agency_a").post(f"/v1/cases/{placed}/payments", json={
        "reference": "R1", "amount": "10", "currency": "ZZZ", "received_at": PAST})
    assert r.status_code == 422
    assert "unknown currency" in r.text


def test_payment_in_another_currency_than_the_case_is_refused(as_: Any, placed: str) -> None:
    r = as_("agency_a").post(f"/v1/cases/{placed}/payments", json={
        "reference": "R1", "amount": "10", "currency": "USD", "received_at": PAST})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_amount"


@pytest.mark.parametrize(("field", "value"), [
    ("occurred_at", "2026-01-01T10:00:00"),  # no offset
    ("occurred_at", (datetime.now(UTC) + timedelta(days=1)).isoformat()),  # future
    ("channel", "pigeon"),
    ("action_code", "lower case"),
    ("party", 7),
])
def test_bad_contact_fields_are_422_with_their_path(as_: Any, placed: str, field: str,
                                                     value: Any) -> None:
    body = {"contact_id": "c1", "channel": "phone", "party": "debtor", "outcome": "no_answer",
            "action_code": "NOANS", "occurred_at": PAST, field: value}
    r = as_("agency_a").post(f"/v1/cases/{placed}/contacts", json=body)
    assert r.status_code == 422
    assert f"body.{field}" in [f["path"] for f in r.json()["error"]["fields"]]


def test_unknown_case_is_404_and_malformed_id_is_422(as_: Any) -> None:
    assert as_("admin").get(f"/v1/cases/{uuid.uuid4()}").status_code == 404
    assert as_("admin").get("/v1/cases/not-a-uuid").status_code == 422
    r = as_("agency_a").post(f"/v1/cases/{uuid.uuid4()}/contacts", json={
        "contact_id": "c1", "channel": "phone", "party": "debtor", "outcome": "no_answer",
        "action_code": "NOANS", "occurred_at": PAST})
    assert r.status_code == 404


def test_wrong_role_for_a_command_is_403(as_: Any, placed: str) -> None:
    r = as_("agency_a").post(f"/v1/cases/{placed}/recall", json={"reason": "rotation"})
    assert r.status_code == 403
    r = as_("agency_a").post(f"/v1/cases/{placed}/payments", json={
        "reference": "R", "amount": "1", "received_at": PAST, "source": "creditor_direct"})
    assert r.status_code == 403


def test_promise_with_negative_amount_or_past_due_date_is_refused(as_: Any, placed: str) -> None:
    agency = as_("agency_a")
    negative = agency.post(f"/v1/cases/{placed}/promises", json={
        "promise_id": "p", "amount": "-3", "due_date": "2030-01-01"})
    assert negative.status_code == 422
    past = agency.post(f"/v1/cases/{placed}/promises", json={
        "promise_id": "p", "amount": "3", "due_date": "2000-01-01"})
    assert past.status_code == 422
    assert past.json()["error"]["code"] == "invalid_date"


def test_wrong_method_and_unknown_path_are_4xx(as_: Any) -> None:
    assert as_("admin").get("/v1/nowhere").status_code == 404
    assert as_("admin").put("/v1/placements", json={}).status_code == 405


FUTURE = (datetime.now(UTC) + timedelta(days=60)).isoformat()


@pytest.mark.parametrize(("path", "body", "field"), [
    ("hardship", {"reason": "job loss", "flagged_at": FUTURE}, "body.flagged_at"),
    ("closure", {"reason": "term_expired", "closed_at": FUTURE}, "body.closed_at"),
    ("promises/p1/broken", {"as_of": FUTURE}, "body.as_of"),
    ("disputes", {"reason": "not mine", "disputed_at": FUTURE}, "body.disputed_at"),
])
def test_a_business_time_in_the_future_is_refused(as_: Any, placed: str, path: str,
                                                  body: dict[str, Any], field: str) -> None:
    r = as_("agency_a").post(f"/v1/cases/{placed}/{path}", json=body)
    if r.status_code == 403:  # creditor-only commands
        r = as_("bank1").post(f"/v1/cases/{placed}/{path}", json=body)
    assert r.status_code == 422, r.text
    assert field in [f["path"] for f in r.json()["error"]["fields"]]
