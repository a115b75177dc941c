"""A promise is idempotent by its id, as payments (by reference) and contacts (by contact id)
are: the same promise sent again, or ten times at once, is recorded once and every sender gets
the same answer; another promise under the same id is a conflict."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

DUE = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()


def test_ten_concurrent_identical_promises_record_one_and_replay_nine(as_: Any,
                                                                      placed: str) -> None:
    agency = as_("agency_a")
    body = {"promise_id": "PTP-1", "amount": "100.00", "due_date": DUE}
    start = threading.Barrier(10)

    def send(_: int) -> Any:
        start.wait()
        return agency.post(f"/v1/cases/{placed}/promises", json=body)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(send, range(10)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * 9 + [201], [r.text for r in answers]
    recorded = [r.json() for r in answers if r.status_code == 201]
    assert recorded[0]["events"] == ["PromisedToPay"]
    assert {r.json()["version"] for r in answers} == {recorded[0]["version"]}
    assert all(r.json()["recorded"] is False for r in answers if r.status_code == 200)
    history = as_("admin").get(f"/v1/cases/{placed}/history").json()["events"]
    assert [e["type"] for e in history].count("PromisedToPay") == 1


def test_a_promise_sent_again_replays_and_another_under_its_id_conflicts(as_: Any,
                                                                        placed: str) -> None:
    agency = as_("agency_a")
    body = {"promise_id": "PTP-2", "amount": "100.00", "due_date": DUE}
    first = agency.post(f"/v1/cases/{placed}/promises", json=body)
    assert first.status_code == 201, first.text
    again = agency.post(f"/v1/cases/{placed}/promises", json=body)
    assert again.status_code == 200, again.text
    assert again.json() == {**first.json(), "recorded": False, "events": []}
    for other in ({"amount": "90.00"}, {"due_date": "2030-01-02"}):
        conflict = agency.post(f"/v1/cases/{placed}/promises", json={**body, **other})
        assert conflict.status_code == 409, conflict.text
        assert conflict.json()["error"]["code"] == "invalid_transition"


def test_a_replayed_promise_with_a_stale_expected_version_still_replays(as_: Any,
                                                                        placed: str) -> None:
    agency = as_("agency_a")
    body = {"promise_id": "PTP-3", "amount": "10.00", "due_date": DUE, "expected_version": 1}
    assert agency.post(f"/v1/cases/{placed}/promises", json=body).status_code == 201
    assert agency.post(f"/v1/cases/{placed}/promises", json=body).status_code == 200
