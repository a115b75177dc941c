"""Two writers on one case: with an expected version one gets 409 and nothing is lost."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from case_service.application import VersionConflict

PAST = datetime.now(UTC) - timedelta(hours=1)


def race(application: Any, case_id: UUID, expected: int | None, refs: list[str]) -> list[Any]:
    """Run one payment per ref at once, all having loaded the same version first."""
    barrier = threading.Barrier(len(refs))
    results: list[Any] = [None] * len(refs)

    def pay(i: int) -> None:
        first_attempt = [True]

        def command(case: Any) -> Any:
            if first_attempt[0]:  # everyone loads the same version before anyone saves
                first_attempt[0] = False
                barrier.wait(timeout=10)
            return case.receive_payment(reference=refs[i], amount=1, currency="CNY",
                                        source="agency", received_at=PAST, method=None,
                                        actor="test")
        try:
            results[i] = application.execute(case_id, command, expected_version=expected,
                                             authorize=lambda case: None, retries=0
                                             if expected else 3)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=pay, args=(i,)) for i in range(len(refs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_two_writers_with_the_same_expected_version_one_gets_409(
        application: Any, placed: str, as_: Any) -> None:
    case_id = UUID(placed)
    results = race(application, case_id, expected=1, refs=["A", "B"])
    conflicts = [r for r in results if isinstance(r, VersionConflict)]
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(conflicts) == 1
    assert len(winners) == 1
    case = application.get_case(case_id)
    assert case.version == 2
    assert len(case.payments) == 1
    history = as_("auditor").get(f"/v1/cases/{placed}/history").json()["events"]
    assert [e["type"] for e in history] == ["Placed", "PaymentReceived"]


def test_two_writers_without_expected_version_both_land(application: Any, placed: str) -> None:
    results = race(application, UUID(placed), expected=None, refs=["A", "B"])
    assert not [r for r in results if isinstance(r, Exception)], results
    case = application.get_case(UUID(placed))
    assert sorted(case.payments) == ["A", "B"]
    assert case.version == 3


def test_concurrent_http_writers_with_same_version(as_: Any, placed: str) -> None:
    agency = as_("agency_a")
    statuses: list[int] = []
    lock = threading.Lock()

    def post(i: int) -> None:
        r = agency.post(f"/v1/cases/{placed}/contacts", json={
            "contact_id": f"c{i}", "channel": "phone", "party": "none",
            "outcome": "no_answer", "action_code": "NOANS",
            "occurred_at": PAST.isoformat(), "expected_version": 1})
        with lock:
            statuses.append(r.status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(201) == 1
    assert statuses.count(409) == 5


@pytest.mark.parametrize("n", [20])
def test_many_concurrent_payments_none_lost(application: Any, placed: str, n: int) -> None:
    results = race(application, UUID(placed), expected=None, refs=[f"R{i}" for i in range(n)])
    failures = [r for r in results if isinstance(r, Exception)]
    case = application.get_case(UUID(placed))
    # Every payment either landed or was reported as a conflict; none vanished silently.
    assert len(case.payments) + len(failures) == n
    assert all(isinstance(f, VersionConflict) for f in failures)
