"""Group commit (adapters/eventstore/group_commit.py, recorders.py) against the plain path.

- The same saves written through group transactions and through one transaction per save
  (`group_commit = False`, the recorder path the library's contract test covers) leave the
  same rows: events in the same order at the same positions, the same audit leaves and the
  same case list, on SQLite and on PostgreSQL.
- A save that conflicts fails alone: its neighbours in the batch are written, it gets its own
  IntegrityError, and over HTTP each concurrent command gets its own 201 or 409.
- Two application instances writing at once (each with its own committer and connections, as
  two API processes) leave a log whose follower never skips a position or sees one out of
  order.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from case_service.adapters.case_list import summarize
from case_service.adapters.eventstore.group_commit import SaveRequest
from case_service.adapters.eventstore.recorders import leaf_tails
from case_service.adapters.tables import audit_leaves, case_summaries
from case_service.application import CaseApplication
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from case_service.domain.case import Case
from case_service.entrypoints.app import create_app
from casetrail import merkle
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, fresh_database
from eventsourcing.persistence import IntegrityError, StoredEvent

PLACED_AT = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
OCCURRED = datetime.now(UTC) - timedelta(hours=1)

Save = tuple[list[StoredEvent], list[Any]]  # a save: its stored events, its case list rows


def placement(account_ref: str) -> dict[str, Any]:
    """The keyword arguments of a valid `Case(...)`."""
    return {
        "creditor_id": "BANK1", "account_ref": account_ref, "placement_ref": "P-GC",
        "agency_id": "AG-A", "allocation": {"rules_version": 1, "bucket": "M2",
                                            "chosen": "named"},
        "debtor_id": f"debtor-{account_ref}", "debtor_pii": "pii1:opaque",
        "debtor_timezone": "Asia/Shanghai", "contact_points": 1, "currency": "CNY",
        "balances": {"principal": Decimal("1000.00"), "interest": Decimal("20.50")},
        "dpd": 45, "bucket": "M2", "product": "card", "placed_at": PLACED_AT,
        "term_end": date(2027, 3, 3), "actor": "creditor:BANK1:k9",
        "creditor_timezone": "UTC", "delinquent_since": None,
    }


def commands_on(case: Case, n: int) -> list[Any]:
    """Three facts recorded on a case, each a save of its own."""
    return [
        lambda: case.record_contact(
            contact_id=f"C-{n}", channel="phone", direction="outbound", party="debtor",
            outcome="conversation", action_code="PTP", agent_id=None, recording_ref=None,
            contact_point=None, occurred_at=OCCURRED, note=None, actor="agency:AG-A:k1"),
        lambda: case.receive_payment(
            reference=f"R-{n}", amount=Decimal("10.00"), currency="CNY", source="agency",
            received_at=OCCURRED, method=None, actor="agency:AG-A:k1"),
        lambda: case.promise_to_pay(
            promise_id=f"P-{n}", amount=Decimal("100.00"), due_date=date(2027, 1, 1),
            promised_at=OCCURRED, actor="agency:AG-A:k1"),
    ]


def make_saves(application: CaseApplication, cases: int) -> tuple[list[Save], list[Save]]:
    """Openings of `cases` cases, then three commands on each (interleaved across cases), as
    stored events encoded once: the same bytes are written down both paths."""
    aggregates = [Case(**placement(f"ACC-{n:03d}")) for n in range(cases)]
    openings: list[Save] = []
    for case in aggregates:
        openings.append(([application.mapper.to_stored_event(e)
                          for e in case.collect_events()], [summarize(case)]))
    commands: list[Save] = []
    steps = [commands_on(case, n) for n, case in enumerate(aggregates)]
    for round_ in range(3):
        for case, step in zip(aggregates, steps, strict=True):
            step[round_]()
            commands.append(([application.mapper.to_stored_event(e)
                              for e in case.collect_events()], [summarize(case)]))
    return openings, commands


def table_rows(application: CaseApplication) -> dict[str, Any]:
    """Everything a save writes: events by position, leaves and the case list."""
    notifications = application.recorder.select_notifications(start=None, limit=100_000)
    with application.store.engine.connect() as conn:
        leaves = {p: bytes(h) for p, h in conn.execute(
            sa.select(audit_leaves.c.position, audit_leaves.c.leaf_hash)).all()}
        summaries = [dict(r) for r in conn.execute(
            sa.select(case_summaries).order_by(case_summaries.c.case_id)).mappings()]
    return {
        "events": [(n.id, str(n.originator_id), n.originator_version, n.topic, n.state)
                   for n in notifications],
        "leaves": leaves,
        "summaries": summaries,
    }


@pytest.fixture(params=BACKENDS)
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two fresh, empty databases on one backend."""
    with fresh_database(request.param, tmp_path, "gc_plain") as plain, \
            fresh_database(request.param, tmp_path, "gc_group") as grouped:
        yield plain, grouped


def build(url: str, common: CommonSettings, *, group_commit: bool, migrate: bool = True
          ) -> CaseApplication:
    """The case application on `url`, with or without group commit."""
    return build_application(CaseSettings(database_url=url, group_commit=group_commit), common,
                             migrate=migrate)


def test_group_committed_saves_write_what_one_transaction_per_save_writes(
        two_databases: tuple[str, str], common: CommonSettings) -> None:
    plain = build(two_databases[0], common, group_commit=False)
    grouped = build(two_databases[1], common, group_commit=True)
    try:
        openings, commands = make_saves(plain, cases=12)
        for stored, summaries in [*openings, *commands]:
            plain.recorder.insert_events(stored, in_transaction=plain.case_log.writer(summaries))
        # Openings through the committer one at a time, then the commands in batches of 7,
        # each batch one transaction.
        for stored, summaries in openings:
            grouped.recorder.insert_events(stored,
                                           in_transaction=grouped.case_log.writer(summaries))
        for start in range(0, len(commands), 7):
            batch = [SaveRequest(stored, grouped.case_log.writer(summaries), leaf_tails(stored))
                     for stored, summaries in commands[start:start + 7]]
            outcomes = grouped.recorder.write_batch(batch)  # type: ignore[attr-defined]
            assert all(isinstance(o, list) and len(o) == len(r.stored_events)
                       for o, r in zip(outcomes, batch, strict=True))
        expected, actual = table_rows(plain), table_rows(grouped)
        assert actual["events"] == expected["events"]
        assert actual["leaves"] == expected["leaves"]
        assert actual["summaries"] == expected["summaries"]
        assert expected["leaves"] == {p: merkle.leaf_hash(p, c, v, t, s)
                                      for p, c, v, t, s in expected["events"]}
        assert len(expected["events"]) == 12 * 4
    finally:
        plain.close()
        grouped.close()


def test_group_commit_from_many_threads_writes_every_save_in_case_order(
        database_url: str, common: CommonSettings) -> None:
    application = build(database_url, common, group_commit=True)
    try:
        openings, commands = make_saves(application, cases=16)
        for stored, summaries in openings:
            application.recorder.insert_events(
                stored, in_transaction=application.case_log.writer(summaries))
        # One thread per case, each saving its case's commands in order, all at once.
        by_case: dict[UUID, list[Save]] = {}
        for save in commands:
            by_case.setdefault(save[0][0].originator_id, []).append(save)
        barrier = threading.Barrier(len(by_case))
        errors: list[BaseException] = []

        def write(saves: list[Save]) -> None:
            barrier.wait(timeout=30)
            try:
                for stored, summaries in saves:
                    application.recorder.insert_events(
                        stored, in_transaction=application.case_log.writer(summaries))
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=write, args=(saves,)) for saves in by_case.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        rows = table_rows(application)
        assert len(rows["events"]) == 16 * 4
        for case_id in by_case:  # each case's versions in position order
            versions = [v for _, c, v, _, _ in rows["events"] if c == str(case_id)]
            assert versions == [1, 2, 3, 4]
        assert rows["leaves"] == {p: merkle.leaf_hash(p, c, v, t, s)
                                  for p, c, v, t, s in rows["events"]}
        assert {s["case_id"]: s["version"] for s in rows["summaries"]} == {
            str(c): 4 for c in by_case}
    finally:
        application.close()


def test_a_save_that_conflicts_in_a_batch_fails_alone(
        database_url: str, common: CommonSettings) -> None:
    application = build(database_url, common, group_commit=True)
    try:
        first, second = Case(**placement("ACC-1")), Case(**placement("ACC-2"))
        for case in (first, second):
            application.save(case, in_transaction=application.case_log.writer(
                [summarize(case)]))
        twin = application.get_case(first.id)  # loaded at the same version as `first`

        def request(case: Case, fact: Any) -> SaveRequest:
            fact()
            stored = [application.mapper.to_stored_event(e) for e in case.collect_events()]
            return SaveRequest(stored, application.case_log.writer([summarize(case)]),
                               leaf_tails(stored))

        batch = [
            request(first, commands_on(first, 1)[0]),
            request(twin, commands_on(twin, 2)[1]),  # version 2 of the same case again
            request(second, commands_on(second, 3)[1]),
        ]
        outcomes = application.recorder.write_batch(batch)  # type: ignore[attr-defined]
        assert isinstance(outcomes[0], list)
        assert isinstance(outcomes[1], IntegrityError)
        assert isinstance(outcomes[2], list)
        assert [type(e).__name__ for e in application.case_events(first.id)] == [
            "Placed", "Contacted"]
        assert [type(e).__name__ for e in application.case_events(second.id)] == [
            "Placed", "PaymentReceived"]
        rows = table_rows(application)
        assert rows["leaves"] == {p: merkle.leaf_hash(p, c, v, t, s)
                                  for p, c, v, t, s in rows["events"]}
        summary = {s["case_id"]: s for s in rows["summaries"]}
        assert summary[str(first.id)]["version"] == 2
        assert summary[str(first.id)]["outstanding"] == "1020.50"  # the payment lost
        assert summary[str(second.id)]["outstanding"] == "1010.50"
        # Through the committer, the loser's save alone fails the same way.
        with pytest.raises(IntegrityError):
            application.recorder.insert_events(batch[1].stored_events)
        assert application.get_case(first.id).version == 2
    finally:
        application.close()


def test_concurrent_commands_over_http_each_get_their_own_answer(
        settings: CaseSettings, common: CommonSettings, application: CaseApplication,
        api_keys: dict[str, str]) -> None:
    app = create_app(settings, common, application)
    agency = {"Authorization": f"Bearer {api_keys['agency_a']}"}
    creditor = {"Authorization": f"Bearer {api_keys['bank1']}"}

    async def scenario() -> tuple[list[str], list[list[int]], list[list[int]]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://case") as client:
            placed = await client.post("/v1/placements", headers=creditor, json={
                "placement_ref": "P-GC", "accounts": [
                    {"account_ref": f"GC-{n}", "agency_id": "AG-A", "currency": "CNY",
                     "balances": {"principal": "500.00"}, "dpd": 30,
                     "debtor": {"name": "D", "national_id": f"GC{n:08d}",
                                "phones": ["+8613800000000"], "timezone": "Asia/Shanghai"}}
                    for n in range(4)]})
            assert placed.status_code == 201, placed.text
            ids = [a["case_id"] for a in placed.json()["accepted"]]

            def pay(case_id: str, ref: str, expected: int | None) -> Any:
                body: dict[str, Any] = {"reference": ref, "amount": "1.00", "currency": "CNY",
                                        "source": "agency",
                                        "received_at": OCCURRED.isoformat()}
                if expected is not None:
                    body["expected_version"] = expected
                return client.post(f"/v1/cases/{case_id}/payments", headers=agency,
                                   json=body)

            # Five payments per case at once, all expecting version 1: one wins per case.
            raced = await asyncio.gather(*(pay(c, f"X-{c[:6]}-{n}", 1)
                                           for c in ids for n in range(5)))
            # Four more per case with no expected version: each is recorded (a lost race is
            # run again on fresh state, up to COMMAND_RETRIES = 3 times: each of the other
            # three can win one race at most).
            free = await asyncio.gather(*(pay(c, f"Y-{c[:6]}-{n}", None)
                                          for c in ids for n in range(4)))
            per_case_raced = [[r.status_code for r in raced[i * 5:(i + 1) * 5]]
                              for i in range(len(ids))]
            per_case_free = [[r.status_code for r in free[i * 4:(i + 1) * 4]]
                             for i in range(len(ids))]
            for response in raced:
                if response.status_code == 409:
                    assert response.json()["error"]["code"] == "version_conflict"
            return ids, per_case_raced, per_case_free

    ids, raced, free = asyncio.run(scenario())
    for codes in raced:
        assert sorted(codes) == [201, 409, 409, 409, 409]
    for codes in free:
        assert codes == [201] * 4
    for case_id in ids:
        case = application.get_case(UUID(case_id))
        assert len(case.payments) == 5
        assert case.version == 6


def test_two_writers_on_one_log_leave_no_gap_and_no_reorder_for_a_follower(
        database_url: str, common: CommonSettings) -> None:
    # Two application instances: their own committers and connection pools, as two API
    # processes or pods. Each batch takes the table lock, so batches serialize and a
    # follower reading after its last position sees every position in order.
    first = build(database_url, common, group_commit=True)
    second = build(database_url, common, group_commit=True, migrate=False)
    try:
        openings, commands = make_saves(first, cases=24)
        for stored, summaries in openings:
            first.recorder.insert_events(stored, in_transaction=first.case_log.writer(summaries))
        seen: list[int] = []
        writing = threading.Event()
        writing.set()

        def follow() -> None:
            last = 0
            while True:
                done = not writing.is_set()
                page = first.recorder.select_notifications(start=last, limit=50,
                                                           inclusive_of_start=False)
                seen.extend(n.id for n in page)
                if page:
                    last = page[-1].id
                elif done:
                    return

        by_case: dict[UUID, list[Save]] = {}
        for save in commands:
            by_case.setdefault(save[0][0].originator_id, []).append(save)
        errors: list[BaseException] = []

        def write(application: CaseApplication, saves: list[Save]) -> None:
            try:
                for stored, summaries in saves:
                    application.recorder.insert_events(
                        stored, in_transaction=application.case_log.writer(summaries))
            except BaseException as error:
                errors.append(error)

        follower = threading.Thread(target=follow)
        follower.start()
        writers = [threading.Thread(target=write, args=((first, second)[n % 2], saves))
                   for n, saves in enumerate(by_case.values())]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join(timeout=120)
        writing.clear()
        follower.join(timeout=60)
        assert errors == []
        every = [n.id for n in first.recorder.select_notifications(start=None, limit=100_000)]
        assert len(every) == 24 * 4
        assert seen == sorted(set(seen))  # never out of order, never twice
        assert seen == every  # nothing skipped
    finally:
        first.close()
        second.close()
