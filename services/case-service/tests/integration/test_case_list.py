"""The case list is what the log implies: `casetrail projections rebuild case-summaries`
replays every case from the event store and compares the result with the summaries the
service wrote beside the events (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from case_service.adapters.case_list import CaseSummaries
from case_service.adapters.tables import case_summaries
from case_service.application import CaseApplication, listing, pii, placement, replay
from case_service.application.placement import AccountInput, DebtorInput, PlacementBatch
from case_service.bootstrap import build_application, case_summaries_projection
from case_service.config import CaseSettings
from casetrail.projections import rebuild as rebuilding
from casetrail.projections.base import Projection
from casetrail.projections.rebuild import StoreSource, compare, rebuild, swap
from casetrail.projections.store import ProjectionStore, make_engine
from casetrail.settings import CommonSettings

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def place(app: CaseApplication, refs: list[str]) -> list[UUID]:
    receipt, _ = placement.place(app, PlacementBatch(
        creditor_id="BANK1", placement_ref=f"P-{refs[0]}", received_at=AT,
        request_sha256=refs[0], accounts=[AccountInput(
            index=i, account_ref=ref, currency="CNY", dpd=75, agency_id="AG-A",
            balances={"principal": Decimal("1200.50"), "fees": Decimal("30")},
            debtor=DebtorInput(name="张三", national_id=f"1101011990030700{i}",
                               phones=("+8613800000000",), address=None, email=None,
                               timezone="Asia/Shanghai")) for i, ref in enumerate(refs)]),
        actor="creditor")
    return [UUID(r["case_id"]) for r in receipt["accepted"]]


def act(app: CaseApplication, case_id: UUID, command: Any) -> None:
    app.execute(case_id, command, expected_version=None, authorize=lambda _: None)


def workload(app: CaseApplication) -> list[UUID]:
    """Cases in every status the list shows, through the paths that change a summary."""
    ids = place(app, ["A1", "A2", "A3", "A4", "A5", "A6"])
    t = [AT + timedelta(hours=h) for h in range(1, 40)]
    worked, recalled, paid, kept, planned, _untouched = ids
    for n in range(7):  # a long history: more events than a page of the replay
        act(app, worked, lambda c, n=n: c.record_contact(
            contact_id=f"c{n}", channel="phone", direction="outbound", party="debtor",
            outcome="conversation", action_code="PTP", agent_id="ag-1", recording_ref=None,
            contact_point=pii.contact_point(app, c, "+8613800000000"), occurred_at=t[n],
            note=None, actor="agent"))
    act(app, worked, lambda c: c.dispute(reason="amount wrong", disputed_at=t[8], actor="a"))
    act(app, recalled, lambda c: c.recall(reason="rotation", recalled_at=t[9], actor="cr"))
    act(app, recalled, lambda c: c.reassign(to_agency_id="AG-B", reason="second placement",
                                            term_end=(t[10] + timedelta(days=90)).date(),
                                            reassigned_at=t[10], actor="cr"))
    act(app, paid, lambda c: c.receive_payment(
        reference="pay-3", amount=Decimal("1230.50"), currency="CNY",
        source="creditor_direct", received_at=t[11], method=None, actor="cr"))
    act(app, paid, lambda c: c.close(reason="paid_in_full", closed_at=t[12], note=None,
                                     actor="cr"))
    # A promise kept by a payment, then reopened when the payment bounces.
    act(app, kept, lambda c: c.promise_to_pay(promise_id="p1", amount=Decimal("100.00"),
                                              due_date=t[20].date(), promised_at=t[13],
                                              actor="agent"))
    act(app, kept, lambda c: c.receive_payment(
        reference="pay-4", amount=Decimal("100.00"), currency="CNY", source="agency",
        received_at=t[14], method=None, actor="agent"))
    act(app, kept, lambda c: c.reverse_payment(reference="pay-4", amount=Decimal("40.00"),
                                               reason="bounced", reversed_at=t[15],
                                               actor="cr"))
    act(app, planned, lambda c: c.agree_repayment_plan(
        plan_id="plan-1", installments=[(t[16].date() + timedelta(days=30), Decimal("50")),
                                        (t[16].date() + timedelta(days=60), Decimal("50"))],
        agreed_at=t[16], actor="agent"))
    return ids


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay pages of three events: cases cut across pages, one longer than a page."""
    monkeypatch.setattr(replay, "REPLAY_PAGE", 3)


def rebuilt(settings: CaseSettings, common: CommonSettings, workers: int = 1
            ) -> tuple[ProjectionStore, ProjectionStore, int]:
    """Rebuild the case list as the CLI does: each worker opens the case application anew."""
    live = ProjectionStore(make_engine(settings.database_url),
                           case_summaries_projection(settings))
    seen: list[int] = []
    # A fresh copy of the settings: worker processes get the opener pickled, and settings
    # that have been used hold derived keys, which do not pickle.
    fresh = CommonSettings(**common.model_dump())
    source = StoreSource(partial(build_application, settings, fresh), workers)
    shadow = asyncio.run(rebuild(live, settings.database_url, store=source,
                                 progress=seen.append))
    return live, shadow, sum(seen)


def rows(store: ProjectionStore) -> dict[str, dict[str, Any]]:
    with store.engine.connect() as conn:
        return {r["case_id"]: dict(r) for r in
                conn.execute(sa.select(case_summaries)).mappings()}


def test_the_case_list_rebuilt_from_the_log_equals_the_one_written_with_the_events(
        application: CaseApplication, settings: CaseSettings, common: CommonSettings,
        small_pages: None) -> None:
    ids = workload(application)
    live, shadow, read = rebuilt(settings, common)
    try:
        assert read == application.last_position()  # every event, once
        assert compare(live, shadow) == []
        listed = rows(shadow)
        assert len(listed) == len(ids)
        statuses = [(listed[str(i)]["status"], listed[str(i)]["outstanding"],
                     listed[str(i)]["assigned_agency_id"]) for i in ids]
        assert statuses == [("disputed", "1230.50", "AG-A"), ("placed", "1230.50", "AG-B"),
                            ("closed", "0.00", "AG-A"), ("promised", "1170.50", "AG-A"),
                            ("arrangement", "1230.50", "AG-A"), ("placed", "1230.50", "AG-A")]
        assert listed[str(ids[0])]["version"] == 9
        assert rows(live) == listed
    finally:
        shadow.engine.dispose()
        live.engine.dispose()


def test_a_tampered_case_list_is_caught_and_swapping_repairs_it(
        application: CaseApplication, settings: CaseSettings, common: CommonSettings) -> None:
    ids = workload(application)
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(case_summaries.update().where(case_summaries.c.case_id == str(ids[2]))
                     .values(status="active", outstanding="900.00"))
        conn.execute(case_summaries.delete().where(case_summaries.c.case_id == str(ids[5])))
    live, shadow, _ = rebuilt(settings, common)
    try:
        differences = compare(live, shadow)
        assert {d.table for d in differences} == {"case_summaries"}
        assert {k for d in differences for k in d.example_keys} == {str(ids[2]), str(ids[5])}
        assert swap(live, shadow) == len(ids)
        assert compare(live, shadow) == []
        assert rows(live)[str(ids[2])]["status"] == "closed"
        # The service still pages its list (and finds the restored case) after the swap.
        listed, _, _ = listing.list_cases(application, filters={"creditor_id": "BANK1"}, after=0,
                                           limit=100)
        assert {r["case_id"] for r in listed} == {str(i) for i in ids}
    finally:
        shadow.engine.dispose()
        live.engine.dispose()
        engine.dispose()


def test_a_replay_stops_at_the_position_it_was_asked_for(
        application: CaseApplication, small_pages: None) -> None:
    [case_id] = place(application, ["B1"])
    through = application.last_position()
    act(application, case_id, lambda c: c.recall(reason="rotation", recalled_at=AT, actor="c"))
    [(read, [(case, opened)])] = list(replay.replay_cases(application, through=through))
    assert (read, case.version, case.status.value, opened) == (1, 1, "placed", through)
    [(_, [(case, _)])] = list(replay.replay_cases(application))
    assert (case.version, case.status.value) == (2, "recalled")
    assert case.__dict__ == application.get_case(case_id).__dict__


def test_parts_of_the_replay_hold_every_case_once(application: CaseApplication,
                                                  small_pages: None) -> None:
    ids = workload(application) + place(application, [f"C{i}" for i in range(40)])
    whole = [case.id for _, cases in replay.replay_cases(application) for case, _ in cases]
    assert sorted(whole) == sorted(ids)
    for parts in (2, 3, 7):
        split = [[case.id for _, cases in replay.replay_cases(application, part=(i, parts))
                  for case, _ in cases] for i in range(parts)]
        assert [i for part in split for i in part] == whole  # disjoint, in case id order
        assert all(split)  # 46 random ids: each range holds some
    with pytest.raises(ValueError, match="part 2 of 2"):
        next(replay.replay_cases(application, part=(2, 2)))


# PostgreSQL only: SQLite takes one writer at a time, so one process loads its shadow.
@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_worker_processes_rebuild_the_same_case_list(
        application: CaseApplication, settings: CaseSettings, common: CommonSettings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rebuilding, "PARALLEL_FROM", 0)  # spawn them even for a small log
    ids = workload(application) + place(application, [f"C{i}" for i in range(40)])
    live, shadow, read = rebuilt(settings, common, workers=3)
    try:
        assert read == application.last_position()
        assert len(rows(shadow)) == len(ids)
        assert compare(live, shadow) == []
    finally:
        shadow.engine.dispose()
        live.engine.dispose()


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_a_failing_worker_process_fails_the_rebuild_with_its_traceback(
        application: CaseApplication, settings: CaseSettings, common: CommonSettings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rebuilding, "PARALLEL_FROM", 0)
    place(application, [f"C{i}" for i in range(20)])
    shadow = ProjectionStore(make_engine(rebuilding.shadow_url(settings.database_url)),
                             case_summaries_projection(settings))
    rebuilding.prepare_bulk_load(shadow)
    source = StoreSource(partial(build_application, settings,
                                 CommonSettings(**common.model_dump())), 2)
    # This process loads through `shadow`; the worker connects to the URL, which is wrong.
    unreachable = "postgresql://casetrail:wrong@127.0.0.1:9/nowhere"
    try:
        with pytest.raises(RuntimeError, match=r"(?s)a rebuild worker failed:.*Traceback"):
            rebuilding.load_from_store(shadow, unreachable, source)
    finally:
        shadow.engine.dispose()


def test_the_case_list_is_never_consumed_or_replayed_from_events(tmp_path: Path) -> None:
    from casetrail.projections.consume import build_runner
    from casetrail.settings import CommonSettings

    with pytest.raises(LookupError, match="nothing to consume"):
        build_runner("case-summaries", "feed", CommonSettings())
    url = f"sqlite:///{tmp_path}/case.db"
    live = ProjectionStore(make_engine(url), CaseSummaries())
    with pytest.raises(ValueError, match="event store"):
        asyncio.run(rebuild(live, url, log=lambda *_: None))  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="not from the store"):
        asyncio.run(rebuild(ProjectionStore(make_engine(url), Replayed()), url,
                            store=StoreSource(lambda: None)))


class Replayed(Projection):
    """A projection built by replaying events."""

    name = "replayed"
    metadata = sa.MetaData()

    def handle(self, conn: Any, event: Any) -> None:
        """Nothing to do."""
    with pytest.raises(TypeError, match="rebuilt from the event store"):
        CaseSummaries().handle(None, None)  # type: ignore[arg-type]


def test_the_mirror_has_the_live_table_s_columns_and_indexes(
        application: CaseApplication, settings: CaseSettings) -> None:
    """The live table `CaseStore.create_schema` made (from DDL compiled out of
    `case_summaries`, in the database's schema) is the one the projection compares and swaps:
    the same columns, key and indexes, or the comparison would miss a column or an index."""
    engine = make_engine(settings.database_url)
    try:
        found = sa.inspect(engine)
        assert [c["name"] for c in found.get_columns("case_summaries")] == \
            [c.name for c in case_summaries.columns]
        assert found.get_pk_constraint("case_summaries")["constrained_columns"] == ["case_id"]
        assert {i["name"]: i["column_names"] for i in found.get_indexes("case_summaries")} == \
            {i.name: [c.name for c in i.columns] for i in case_summaries.indexes}
    finally:
        engine.dispose()
