"""`casetrail deadlines`: what falls due is recorded without anyone posting it, as of its
deadline, exactly once, and whatever the worker missed while it was down.

BANK's days are Shanghai's (UTC+8), and so are its debtor's: a day ends at 16:00 UTC.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from case_service.application import CaseApplication, allocation, deadlines, placement, views
from case_service.application.placement import AccountInput, DebtorInput, PlacementBatch
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from case_service.entrypoints.deadlines import DeadlineWorker
from casetrail.clock import ManualClock
from casetrail.settings import CommonSettings

PLACED = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 09:00 on 1 June in Shanghai
TERM_END = date(2026, 6, 10)


def day_end_utc(day: date) -> datetime:
    """When a Shanghai day ends, in UTC."""
    return datetime(day.year, day.month, day.day, 16, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(PLACED)


@pytest.fixture
def app(settings: CaseSettings, common: CommonSettings, clock: ManualClock
        ) -> Iterator[CaseApplication]:
    application = build_application(settings, common, clock=clock)
    yield application
    application.close()


def place(app: CaseApplication, ref: str = "A1") -> UUID:
    receipt, _ = placement.place(app, PlacementBatch(
        creditor_id="BANK", placement_ref=f"P-{ref}", received_at=PLACED, request_sha256=ref,
        accounts=[AccountInput(
            index=0, account_ref=ref, currency="CNY", balances={"principal": Decimal("1000")},
            dpd=40, term_end=TERM_END, debtor=DebtorInput(
                name="张三", national_id=f"ID-{ref}", phones=("+8613800000000",), address=None,
                email=None, timezone="Asia/Shanghai"))]), actor="creditor")
    return UUID(receipt["accepted"][0]["case_id"])


def rules(app: CaseApplication, on_term_end: str = "recall") -> None:
    allocation.set_allocation_rules(app, "BANK", {
        "buckets": {"M2": [{"agency_id": "AG-A", "weight": 1}, {"agency_id": "AG-B", "weight": 1}]},
        "default_term_days": 30, "timezone": "Asia/Shanghai", "on_term_end": on_term_end},
        actor="creditor")


def promise(app: CaseApplication, case_id: UUID, promise_id: str, due: date) -> None:
    app.execute(case_id, lambda c: c.promise_to_pay(
        promise_id=promise_id, amount=Decimal("100"), due_date=due,
        promised_at=PLACED + timedelta(hours=1), actor="agency"),
        expected_version=None, authorize=lambda _: None)


def tail(app: CaseApplication, case_id: UUID, n: int) -> list[tuple[str, dict[str, Any]]]:
    return [(e["type"], e["data"]) for e in views.history(app, case_id, unmask=False)[-n:]]


def test_a_promise_breaks_at_the_end_of_its_due_day_where_the_debtor_lives(
        app: CaseApplication, clock: ManualClock) -> None:
    rules(app)
    case_id = place(app)
    promise(app, case_id, "P1", date(2026, 6, 2))
    worker = DeadlineWorker(app)
    clock.set(day_end_utc(date(2026, 6, 2)) - timedelta(seconds=1))  # 23:59:59 in Shanghai
    assert worker.round() == 0
    assert app.get_case(case_id).promises["P1"].state.value == "open"
    clock.set(day_end_utc(date(2026, 6, 2)) + timedelta(minutes=7))  # noticed 7 minutes late
    assert worker.round() == 1
    [(kind, data)] = tail(app, case_id, 1)
    assert kind == "PromiseBroken"
    # Recorded as of the deadline, by the deadlines worker, not as of when it noticed.
    assert (data["promise_id"], data["broken_at"], data["shortfall"]) == (
        "P1", "2026-06-02T16:00:00+00:00", "100")
    assert views.history(app, case_id, unmask=False)[-1]["actor"] == "system:*:deadlines"
    assert worker.round() == 0  # nothing more is due


def test_a_term_that_ran_out_returns_the_case_to_the_creditor_as_of_its_end(
        app: CaseApplication, clock: ManualClock) -> None:
    rules(app, "recall")
    case_id = place(app)
    holder = app.get_case(case_id).agency_id  # allocated by the rules' weights
    clock.set(day_end_utc(TERM_END) - timedelta(microseconds=1))
    assert DeadlineWorker(app).round() == 0
    clock.set(day_end_utc(TERM_END))
    assert DeadlineWorker(app).round() == 1
    [(kind, data)] = tail(app, case_id, 1)
    assert (kind, data["reason"], data["recalled_at"], data["agency_id"]) == (
        "Recalled", "term_ended", "2026-06-10T16:00:00+00:00", holder)
    assert app.get_case(case_id).status.value == "recalled"


def test_a_term_that_ran_out_moves_the_case_on_when_the_creditor_reallocates(
        app: CaseApplication, clock: ManualClock) -> None:
    rules(app, "reallocate")
    case_id = place(app)
    first = app.get_case(case_id).agency_id
    clock.set(day_end_utc(TERM_END) + timedelta(hours=3))
    assert DeadlineWorker(app).round() == 1
    [(kind, data)] = tail(app, case_id, 1)
    assert (kind, data["reason"], data["from_agency_id"]) == ("Reassigned", "term_ended", first)
    assert data["to_agency_id"] in {"AG-A", "AG-B"} - {first}
    # A new term of default_term_days from the day after the old one ended.
    assert data["term_end"] == "2026-07-10"
    assert app.get_case(case_id).next_deadline_at == day_end_utc(date(2026, 7, 10))


def test_after_downtime_everything_that_fell_due_is_recorded_in_deadline_order(
        app: CaseApplication, clock: ManualClock) -> None:
    rules(app, "recall")
    cases = [place(app, f"A{i}") for i in range(3)]
    promise(app, cases[0], "P1", date(2026, 6, 3))
    promise(app, cases[0], "P2", date(2026, 6, 5))
    clock.set(datetime(2026, 7, 1, tzinfo=UTC))  # the worker was down for weeks
    worker = DeadlineWorker(app, batch=2)  # more due cases than one round takes
    assert worker.catch_up() == 5  # two promises broken, three terms ended
    assert [(k, d.get("promise_id"), d.get("broken_at") or d.get("recalled_at"))
            for k, d in tail(app, cases[0], 3)] == [
        ("PromiseBroken", "P1", "2026-06-03T16:00:00+00:00"),
        ("PromiseBroken", "P2", "2026-06-05T16:00:00+00:00"),
        ("Recalled", None, "2026-06-10T16:00:00+00:00")]
    assert deadlines.due_cases(app) == []


def test_two_workers_at_once_record_each_fact_once(app: CaseApplication, clock: ManualClock,
                                                   settings: CaseSettings,
                                                   common: CommonSettings) -> None:
    rules(app)
    cases = [place(app, f"A{i}") for i in range(6)]
    for case_id in cases:
        promise(app, case_id, "P1", date(2026, 6, 2))
    clock.set(datetime(2026, 6, 20, tzinfo=UTC))
    other = build_application(settings, common, clock=clock, migrate=False)
    workers = [DeadlineWorker(app), DeadlineWorker(other)]
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def run(worker: DeadlineWorker) -> None:
        barrier.wait()
        counts.append(worker.catch_up())

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert sum(counts) == 12  # 6 promises broken and 6 terms ended, whoever did which
    for case_id in cases:
        kinds = [k for k, _ in tail(app, case_id, 3)]
        assert kinds[-2:] == ["PromiseBroken", "Recalled"]
        assert kinds.count("PromiseBroken") == 1


def test_a_promise_paid_by_its_due_day_is_kept_and_never_breaks(
        app: CaseApplication, clock: ManualClock) -> None:
    rules(app)
    case_id = place(app)
    promise(app, case_id, "P1", date(2026, 6, 2))
    app.execute(case_id, lambda c: c.receive_payment(
        reference="R1", amount=Decimal("100"), currency="CNY", source="agency",
        received_at=day_end_utc(date(2026, 6, 2)) - timedelta(minutes=1), method=None,
        actor="agency"), expected_version=None, authorize=lambda _: None)
    clock.set(day_end_utc(date(2026, 6, 3)))
    assert DeadlineWorker(app).round() == 0
    assert app.get_case(case_id).promises["P1"].state.value == "kept"


def test_a_scorecard_rotation_moves_the_case_by_measured_recovery_and_records_the_card(
        app: CaseApplication, clock: ManualClock) -> None:
    allocation.set_allocation_rules(app, "BANK", {
        "buckets": {"M2": [{"agency_id": a, "weight": 1} for a in ("AG-A", "AG-B", "AG-C")]},
        "default_term_days": 30, "timezone": "Asia/Shanghai", "on_term_end": "scorecard",
        "scorecard": {"champion_weight": 80}}, actor="creditor")

    def placed_with(ref: str, agency: str, term_end: date) -> UUID:
        receipt, _ = placement.place(app, PlacementBatch(
            creditor_id="BANK", placement_ref=f"P-{ref}", received_at=PLACED,
            request_sha256=ref, accounts=[AccountInput(
                index=0, account_ref=ref, currency="CNY",
                balances={"principal": Decimal("1000")}, dpd=40, term_end=term_end,
                agency_id=agency, debtor=DebtorInput(
                    name="张三", national_id=f"ID-{ref}", phones=(), address=None,
                    email=None, timezone="Asia/Shanghai"))]), actor="creditor")
        return UUID(receipt["accepted"][0]["case_id"])

    def paid(case_id: UUID, amount: str) -> None:
        app.execute(case_id, lambda c: c.receive_payment(
            reference=f"pay-{case_id}", amount=Decimal(amount), currency="CNY",
            source="agency", received_at=PLACED + timedelta(hours=2), method=None,
            actor="agency"), expected_version=None, authorize=lambda _: None)

    later = date(2026, 12, 31)
    for i, (agency, amount) in enumerate([("AG-B", "500"), ("AG-B", "500"), ("AG-C", "100"),
                                          ("AG-C", "100"), ("AG-A", "900")]):
        paid(placed_with(f"BOOK{i}", agency, later), amount)
    rotating = placed_with("ROT", "AG-A", TERM_END)
    clock.set(day_end_utc(TERM_END) + timedelta(hours=3))
    assert DeadlineWorker(app).round() == 2  # two events: the move and its scorecard
    [(moved, data), (kind, card)] = tail(app, rotating, 2)
    assert (moved, kind) == ("Reassigned", "ReallocatedByScorecard")
    assert data["to_agency_id"] == card["to_agency_id"]
    assert data["to_agency_id"] in {"AG-B", "AG-C"}  # never back to the agency it leaves
    scorecard = card["scorecard"]
    assert (scorecard["bucket"], scorecard["currency"], scorecard["rules_version"]) == (
        "M2", "CNY", 1)
    assert [(a["agency_id"], a["role"], a["weight"], a["cases"], a["recovery_rate"])
            for a in scorecard["agencies"]] == [
        ("AG-B", "champion", 80, 2, "0.5000"), ("AG-C", "challenger", 20, 2, "0.1000")]
    assert card["reallocated_at"] == "2026-06-10T16:00:00+00:00"
