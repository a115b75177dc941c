"""The projection store's exactly-once rules and its bulk paths, on SQLite and PostgreSQL.

- duplicates are recognised by the log position applied through (per source partition), so a
  redelivered page and a re-published copy both change nothing;
- a projection built from the feed (or rebuilt from the log) moves to Kafka partitions without
  re-applying what it holds;
- pages large enough to go through COPY (PostgreSQL) store exactly what single inserts store;
- contacts judged in one large batch (debtor histories kept in memory, case rows written once
  at the end) give exactly the rows and violations of contacts judged one by one, across two
  cases of one debtor and with a contact recorded late;
- a rebuild straight from the event store gives a shadow equal to the live copy, with every
  index of the live copy (those no handler reads are built after the load), and a second
  rebuild starts from an empty shadow;
- a rebuild by several processes, each applying the events of a share of the debtors, gives
  the same shadow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from case_service.application import (
    AccountInput,
    CaseApplication,
    DebtorInput,
    PlacementBatch,
    pii,
    placement,
)
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from casetrail.crypto import MasterKey
from casetrail.envelope import EventEnvelope
from casetrail.projections.rebuild import StoreSource, compare, rebuild, shadow_url, swap
from casetrail.projections.store import LOG_SOURCE, Delivery, ProjectionStore, make_engine
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, fresh_database
from contact_service.adapters.contact_log import contact_cases, violations
from contact_service.bootstrap import contact_log_projection
from contact_service.config import ContactSettings

AT = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
def cases(tmp_path: Path) -> Iterator[CaseApplication]:
    app = build_application(CaseSettings(database_url=f"sqlite:///{tmp_path}/case.db"),
                            CommonSettings(master_key=MasterKey.generate_b64(),
                                           var_dir=tmp_path / "var"))
    yield app
    app.close()


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path, "contact") as database_url:
        yield database_url


@pytest.fixture
def store(url: str) -> Iterator[ProjectionStore]:
    projection_store = ProjectionStore(make_engine(url), contact_log_projection())
    projection_store.create_schema()
    yield projection_store
    projection_store.engine.dispose()


def place(cases: CaseApplication, n: int, ref: str = "P") -> list[EventEnvelope]:
    placement.place(cases, PlacementBatch(
        creditor_id="BANK", placement_ref=ref, received_at=AT, request_sha256=ref,
        accounts=[AccountInput(index=i, account_ref=f"{ref}-{i}", currency="CNY", dpd=40,
                               agency_id="AG", balances={"principal": Decimal("100.00")},
                               debtor=DebtorInput(name="n", national_id=f"N{i}",
                                                  phones=("+8613800000000",), address=None,
                                                  email=None, timezone="Asia/Shanghai"))
                  for i in range(n)]), actor="t")
    return cases.events_after(0, 100_000)


def rows(store: ProjectionStore) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(contact_cases).order_by(contact_cases.c.position)).mappings()]


def test_a_redelivered_page_and_a_republished_copy_change_nothing(
        cases: CaseApplication, store: ProjectionStore) -> None:
    events = place(cases, 5)
    deliveries = [Delivery(i, e) for i, e in enumerate(events)]  # Kafka offsets 0..4
    assert store.apply("kafka:t", 3, deliveries).applied == 5
    assert store.apply("kafka:t", 3, deliveries).duplicates == 5  # redelivered: same offsets
    # The relay re-published the last two after a crash: new offsets, same log positions.
    copies = [Delivery(5 + i, e) for i, e in enumerate(events[3:])]
    result = store.apply("kafka:t", 3, copies)
    assert (result.applied, result.duplicates, result.last_position) == (0, 2, 6)
    assert len(rows(store)) == 5
    assert store.positions("kafka:t") == {3: 6}


def test_a_projection_built_from_the_feed_moves_to_kafka_without_applying_twice(
        cases: CaseApplication, store: ProjectionStore) -> None:
    events = place(cases, 4)
    store.apply(LOG_SOURCE, 0, [Delivery(e.position, e) for e in events[:3]])
    # Kafka starts from offset 0 of a partition: the events the feed brought are skipped.
    result = store.apply("kafka:t", 0, [Delivery(i, e) for i, e in enumerate(events)])
    assert (result.applied, result.duplicates) == (1, 3)
    assert [r["position"] for r in rows(store)] == [e.position for e in events]


def test_large_pages_store_exactly_what_single_inserts_store(
        cases: CaseApplication, store: ProjectionStore, tmp_path: Path) -> None:
    events = place(cases, 120)  # pages above the COPY threshold on PostgreSQL
    single = ProjectionStore(make_engine(f"sqlite:///{tmp_path}/single.db"),
                             contact_log_projection())
    single.create_schema()
    for e in events:
        single.apply(LOG_SOURCE, 0, [Delivery(e.position, e)])
    store.apply(LOG_SOURCE, 0, [Delivery(e.position, e) for e in events])
    assert rows(store) == rows(single)
    assert compare(single, store) == []
    single.engine.dispose()


def test_a_rebuild_from_the_event_store_equals_the_live_copy(
        cases: CaseApplication, store: ProjectionStore, url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import casetrail.projections.rebuild as rebuilding

    monkeypatch.setattr(rebuilding, "LOG_PAGE", 5_000)
    events = place(cases, 12_000)  # several pages, and more than one chunk to swap
    for start in range(0, len(events), 700):  # the live copy followed the feed in pages
        store.apply(LOG_SOURCE, 0, [Delivery(e.position, e) for e in events[start:start + 700]])
    seen: list[int] = []
    shadow = asyncio.run(rebuild(store, url, log=cases.log_page, progress=seen.append))
    try:
        assert sum(seen) == len(events)
        assert shadow.position(LOG_SOURCE) == events[-1].position
        assert compare(store, shadow) == []
        with store.engine.begin() as conn:  # a tampered live row is a difference
            conn.execute(contact_cases.update().where(
                contact_cases.c.position == events[7].position).values(agency_id="AG-X"))
        [difference] = compare(store, shadow)
        assert difference.table == "contact_cases"
        # Swapping streams the shadow's rows (and positions) into the live copy: a case row
        # and an assignment row per placement, and the position.
        assert swap(store, shadow) == 2 * len(events) + 1
        assert compare(store, shadow) == []
        assert store.position(LOG_SOURCE) == events[-1].position
    finally:
        shadow.engine.dispose()


def test_judging_in_one_batch_equals_judging_event_by_event(
        cases: CaseApplication, url: str, tmp_path: Path) -> None:
    projection = contact_log_projection(ContactSettings(default_policy_pack="cn-gbt-45251-2025"))
    day = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    receipt, _ = placement.place(cases, PlacementBatch(
        creditor_id="BANK", placement_ref="J", received_at=day - timedelta(days=1),
        request_sha256="J", accounts=[AccountInput(
            index=i, account_ref=f"J-{i}", currency="CNY", dpd=40, agency_id="AG",
            balances={"principal": Decimal("100.00")},
            debtor=DebtorInput(name="n", national_id="SAME", phones=("+8613800000000",),
                               address=None, email=None, timezone="Asia/Shanghai"))
            for i in range(2)]), actor="t")
    ids = [UUID(r["case_id"]) for r in receipt["accepted"]]
    # Conversations alternate between the debtor's two cases; the last happened first.
    for n, hour in enumerate([1, 2, 3, 4, 5, 6, 7, 0]):
        def call(case: Any, n: int = n, hour: int = hour) -> Any:
            return case.record_contact(
                contact_id=f"c{n}", channel="phone", direction="outbound", party="debtor",
                outcome="conversation", action_code="PTP", agent_id="a", recording_ref=None,
                contact_point=pii.contact_point(cases, case, "+8613800000000"),
                occurred_at=day + timedelta(hours=hour), note=None, actor="t")
        cases.execute(ids[n % 2], call, expected_version=None, authorize=lambda _: None)
        if n == 5:  # a recall between contacts: a case row changed inside the batch
            cases.execute(ids[1], lambda case: case.recall(
                reason="rotation", recalled_at=day + timedelta(hours=6, minutes=30),
                actor="t"), expected_version=None, authorize=lambda _: None)
    # A promise kept by a payment: a row inserted and updated in one batch.
    cases.execute(ids[0], lambda case: case.promise_to_pay(
        promise_id="p1", amount=Decimal("40.00"), due_date=(day + timedelta(days=3)).date(),
        promised_at=day + timedelta(hours=8), actor="t"),
        expected_version=None, authorize=lambda _: None)
    cases.execute(ids[0], lambda case: case.receive_payment(
        reference="pay1", amount=Decimal("40.00"), currency="CNY", source="agency",
        received_at=day + timedelta(hours=9), method=None, actor="t"),
        expected_version=None, authorize=lambda _: None)
    events = cases.events_after(0, 1000)
    assert "PromiseKept" in {e.type for e in events}
    one_by_one = ProjectionStore(make_engine(f"sqlite:///{tmp_path}/one.db"), projection)
    batched = ProjectionStore(make_engine(url), projection)
    # Pages of three: what a page reads ahead (case rows, debtor histories) comes from the
    # tables the pages before wrote.
    paged = ProjectionStore(make_engine(f"sqlite:///{tmp_path}/paged.db"), projection)
    try:
        for store in (one_by_one, batched, paged):
            store.create_schema()
        for e in events:
            one_by_one.apply(LOG_SOURCE, 0, [Delivery(e.position, e)])
        batched.apply(LOG_SOURCE, 0, [Delivery(e.position, e) for e in events])
        for first in range(0, len(events), 3):
            paged.apply(LOG_SOURCE, 0, [Delivery(e.position, e) for e in events[first:first + 3]])
        assert compare(one_by_one, batched) == []
        assert compare(one_by_one, paged) == []
        with batched.engine.connect() as conn:
            broken = conn.execute(sa.select(violations.c.case_id, violations.c.rule_id)).all()
            recalled = conn.execute(sa.select(contact_cases.c.recalled).where(
                contact_cases.c.case_id == str(ids[1]))).scalar()
        caps = {case for case, rule in broken if rule == "effective-calls-per-debtor-per-day"}
        assert caps == {str(i) for i in ids}  # the debtor's cap counts both cases' calls
        assert "case-hold" in {rule for _, rule in broken}  # judged after the recall
        assert recalled is True
    finally:
        for store in (one_by_one, batched, paged):
            store.engine.dispose()


def indexes(store: ProjectionStore) -> dict[str, list[str]]:
    inspector = sa.inspect(store.engine)
    return {t.name: sorted(str(i["name"]) for i in inspector.get_indexes(t.name))
            for t in store.projection.metadata.sorted_tables}


def test_a_shadow_is_loaded_without_unread_indexes_and_ends_with_all_of_them(
        cases: CaseApplication, store: ProjectionStore, url: str) -> None:
    projection = store.projection
    declared = {str(i.name) for t in projection.metadata.sorted_tables for i in t.indexes}
    assert projection.replay_indexes is not None
    assert projection.replay_indexes < declared  # names that exist, and some are deferred
    events = place(cases, 50)
    store.apply(LOG_SOURCE, 0, [Delivery(e.position, e) for e in events])
    during: list[dict[str, list[str]]] = []
    probe = ProjectionStore(make_engine(shadow_url(url)), projection)
    shadow: ProjectionStore | None = None
    for _ in range(2):  # the second rebuild replaces the first shadow
        shadow = asyncio.run(rebuild(store, url, log=cases.log_page,
                                     progress=lambda _: during.append(indexes(probe))))
        assert compare(store, shadow) == []
        assert indexes(shadow) == indexes(store)
        shadow.engine.dispose()
    probe.engine.dispose()
    loading = during[0]["contacts"]
    assert "ix_contacts_debtor_id" in loading  # the judge reads it during the replay
    assert "ix_contacts_agency_id" not in loading  # built after the load
    assert during[0]["contact_cases"] == []
    if store.is_postgres:
        assert shadow is not None
        with shadow.engine.connect() as conn:
            persistence = conn.exec_driver_sql(
                "SELECT relname, relpersistence FROM pg_class WHERE relname = 'contact_cases' "
                "AND relnamespace = current_schema()::regnamespace").all()
        assert persistence == [("contact_cases", "u")]  # scratch: no write-ahead log


def test_bulk_inserts_keep_types_defaults_and_uneven_rows(store: ProjectionStore) -> None:
    from casetrail.projections.store import insert_rows

    table = sa.Table("bulk_probe", sa.MetaData(),
                     sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("a", sa.Text), sa.Column("b", sa.Boolean),
                     sa.Column("n", sa.Numeric(12, 2)),
                     sa.Column("d", sa.DateTime(timezone=True)),
                     sa.Column("opt", sa.Text, default="python-side"))
    with store.engine.begin() as conn:
        table.create(conn)
        full = [{"id": i, "a": f"é\t\\\n{i}", "b": i % 2 == 0, "n": Decimal(i) / 4,
                 "d": AT, "opt": None} for i in range(30)]
        insert_rows(conn, table, full)  # COPY on PostgreSQL
    with store.engine.begin() as conn:
        # Rows of the same length with other keys are not one shape: never written into the
        # first row's columns, but refused as SQLAlchemy refuses them.
        uneven = [{"id": 100 + i, "a": "x", **({"opt": "given"} if i % 2 else {"b": True})}
                  for i in range(30)]
        with pytest.raises(sa.exc.StatementError):
            insert_rows(conn, table, uneven)
    with store.engine.begin() as conn:
        insert_rows(conn, table, [{"id": 200 + i, "a": "y"} for i in range(30)])  # defaults
        got = {r.id: r for r in conn.execute(sa.select(table))}
    assert (got[3].a, got[3].b, got[3].n) == ("é\t\\\n3", False, Decimal("0.75"))
    assert got[3].d.replace(tzinfo=got[3].d.tzinfo or UTC) == AT  # SQLite keeps no zone
    assert got[3].opt is None
    assert (got[205].opt, got[205].b) == ("python-side", None)
    assert len(got) == 60


def test_a_growing_shadow_gets_planner_statistics_during_the_rebuild(
        cases: CaseApplication, store: ProjectionStore, url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    if not store.is_postgres:
        pytest.skip("statistics matter to PostgreSQL's planner only")
    import casetrail.projections.rebuild as rebuilding

    monkeypatch.setattr(rebuilding, "LOG_PAGE", 100)
    monkeypatch.setattr(rebuilding, "ANALYZE_FIRST", 200)
    place(cases, 1000)
    probe = ProjectionStore(make_engine(shadow_url(url)), store.projection)
    estimates: list[float] = []

    def estimated_rows(_: int) -> None:  # what the planner believes, page by page
        with probe.engine.connect() as conn:
            estimates.append(conn.execute(sa.text(
                "SELECT reltuples FROM pg_class WHERE oid = 'contact_cases'::regclass")).scalar())

    try:
        shadow = asyncio.run(rebuild(store, url, log=cases.log_page, progress=estimated_rows))
        shadow.engine.dispose()
    finally:
        probe.engine.dispose()
    # Never analyzed (-1) for the first pages, then refreshed at 200, 400 and 800 events,
    # not only by the ANALYZE at the end.
    assert estimates[0] < 0
    assert [n for n in estimates[:-1] if n > 0] == sorted(n for n in estimates[:-1] if n > 0)
    assert {200, 400, 800} <= {int(n) for n in estimates}


# PostgreSQL only: SQLite takes one writer at a time, so one process applies the whole log.
@pytest.mark.postgres
def test_a_rebuild_in_shares_of_the_debtors_equals_the_live_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three processes each apply the events of a share of the debtors (the pages they
    read are small, and placements come between contacts), and the shadow they build equals
    the live copy judged event by event in one process: every debtor's cap counts all of
    its cases' contacts, whichever process applied them."""
    import casetrail.projections.rebuild as rebuilding

    with fresh_database("postgres", tmp_path, "contact") as url:
        monkeypatch.setattr(rebuilding, "PARALLEL_FROM", 0)  # spawn them even for a small log
        monkeypatch.setattr(rebuilding, "LOG_PAGE", 7)
        case_settings = CaseSettings(database_url=f"sqlite:///{tmp_path}/shares.db")
        common = CommonSettings(master_key=MasterKey.generate_b64(), var_dir=tmp_path / "var")
        # Pickled for each worker process: settings not used yet (a used one holds keys).
        open_cases = partial(build_application, case_settings,
                             CommonSettings(**common.model_dump()))
        cases = build_application(case_settings, common)
        projection = contact_log_projection(
            ContactSettings(default_policy_pack="cn-gbt-45251-2025"))
        live = ProjectionStore(make_engine(url), projection)
        live.create_schema()
        day = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
        try:
            ids: list[UUID] = []
            for batch in range(2):  # 8 debtors with 2 cases each; a second placement later
                receipt, _ = placement.place(cases, PlacementBatch(
                    creditor_id="BANK", placement_ref=f"S{batch}", request_sha256=f"S{batch}",
                    received_at=day - timedelta(days=1), accounts=[AccountInput(
                        index=i, account_ref=f"S{batch}-{i}", currency="CNY", dpd=40,
                        agency_id="AG", balances={"principal": Decimal("100.00")},
                        debtor=DebtorInput(name="n", national_id=f"D{batch}-{i % 4}",
                                           phones=("+8613800000000",), address=None,
                                           email=None, timezone="Asia/Shanghai"))
                        for i in range(8)]), actor="t")
                ids += [UUID(r["case_id"]) for r in receipt["accepted"]]
                for n, hour in enumerate([0, 1, 2, 3, 13]):  # 13:00 UTC: 21:00 in Shanghai
                    for k, case_id in enumerate(ids):
                        def call(case: Any, n: int = n, hour: int = hour, k: int = k,
                                 batch: int = batch) -> Any:
                            return case.record_contact(
                                contact_id=f"c{batch}-{n}", channel="phone",
                                direction="outbound", party="debtor",
                                outcome="conversation" if (n + k) % 2 else "no_answer",
                                action_code="PTP", agent_id="a", recording_ref=None,
                                contact_point=pii.contact_point(cases, case, "+8613800000000"),
                                occurred_at=day + timedelta(days=batch, hours=hour, minutes=k),
                                note=None, actor="t")
                        cases.execute(case_id, call, expected_version=None,
                                      authorize=lambda _: None)
                cases.execute(ids[batch], lambda case, batch=batch: case.recall(
                    reason="rotation", recalled_at=day + timedelta(days=batch, hours=14),
                    actor="t"), expected_version=None, authorize=lambda _: None)
            events = cases.events_after(0, 100_000)
            for e in events:  # the live copy, event by event
                live.apply(LOG_SOURCE, 0, [Delivery(e.position, e)])
            seen: list[int] = []
            shadow = asyncio.run(rebuild(live, url, log=cases.log_page, progress=seen.append,
                                         log_workers=StoreSource(open_cases, 3)))
            try:
                assert compare(live, shadow) == []
                assert shadow.positions(LOG_SOURCE) == {0: events[-1].position}
                assert sum(seen) == len(events)
                with shadow.engine.connect() as conn:
                    broken = conn.execute(sa.select(violations.c.rule_id)).scalars().all()
                assert {"effective-calls-per-debtor-per-day", "case-hold"} <= set(broken)
            finally:
                shadow.engine.dispose()
        finally:
            live.engine.dispose()
            cases.close()


def test_log_shares_split_the_cases_by_their_opening_event() -> None:
    from casetrail.envelope import LogShare, trusted_envelope

    def placed(debtor: str) -> EventEnvelope:
        case_id = uuid4()
        return trusted_envelope(event_id=uuid4(), type="Placed", schema_version=1,
                                case_id=case_id, version=1, position=1, occurred_at=AT,
                                recorded_at=AT, payload={"debtor_id": debtor})

    shares = [LogShare(i, 3, "debtor_id") for i in range(3)]
    openings = [placed(f"d{n % 20}") for n in range(60)]
    for opening in openings:  # every case is in exactly one share, with its debtor's others
        takers = [s for s in shares if s.wants(opening.case_id, "Placed") and s.keeps(opening)]
        assert len(takers) == 1
        assert takers[0].owns(str(opening.payload["debtor_id"]))
    assert all(s.cases for s in shares)  # 20 debtors: each share holds some
    for opening in openings:  # later events: decoded only by their case's share
        owners = [s for s in shares if s.wants(opening.case_id, "Contacted")]
        assert owners == [s for s in shares if opening.case_id in s.cases]
    with pytest.raises(ValueError, match="share 3 of 3"):
        LogShare(3, 3, "debtor_id")
