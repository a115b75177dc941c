"""The faster paths of a billing run against the plain ones they replace, on SQLite and on
PostgreSQL (TEST_DATABASE_URL): reading the ledger's facts as tuples of the needed columns
(`LedgerFacts._facts`) against reading whole rows as mappings (`ReferenceFacts` below, the
former code), and storing a document with each line serialised once, its lines sent by COPY
on PostgreSQL, and the stored record returned (`InvoiceBook.store`) against serialising the
content and every line separately and reading the record back (`reference_store`).

The histories cover payments, partial and full reversals (of payments invoiced in the same
and in an earlier run), creditor-direct payments, marginal tiers, reassignments between
agencies, a recall and its tail, payments before placement, a law firm's stage fees, and more
than enough lines for COPY.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from billing_service.adapters.billing_ledger import (
    case_assignments,
    litigation_stages,
    payments,
    reversals,
)
from billing_service.adapters.database import WriteConflict
from billing_service.adapters.facts import CHUNK, LedgerFacts
from billing_service.adapters.invoices import InvoiceBook, stored_text
from billing_service.adapters.records import invoice_lines, invoices
from billing_service.application.invoices import invoice_view
from billing_service.application.runs import BillingRuns
from billing_service.domain.invoice import InvoiceDraft, Period
from billing_service.domain.ledger import (
    Assignment,
    CaseFacts,
    PaymentFact,
    ReversalFact,
    StageFact,
    credited,
)
from casetrail.figures import BEFORE_PLACEMENT
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from conftest import World

FEES = {"filed": "800.00", "judgment": "1200.00", "enforcement": "500.00"}
PAIRS = [("BANK", "AG-A"), ("BANK", "AG-B"), ("BANK", "LF-1")]


class ReferenceFacts(LedgerFacts):
    """The former reading of the facts: whole rows, as mappings, parsed one by one."""

    def _facts(self, conn: Connection, rows: Sequence[Any], as_of: int | None
               ) -> list[CaseFacts]:
        found: list[CaseFacts] = []
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            ids = [r["case_id"] for r in chunk]
            held = _group(_select(conn, case_assignments, ids, as_of, "seq"))
            paid = _group(_select(conn, payments, ids, as_of, "position"))
            taken = _group(_select(conn, reversals, ids, as_of, "position"))
            staged = _group(_select(conn, litigation_stages, ids, as_of, "position"))
            for row in chunk:
                case_id = row["case_id"]
                stints = tuple(_assignment(r, as_of) for r in held.get(case_id, []))
                if not stints:
                    continue
                found.append(CaseFacts(
                    case_id=case_id, creditor_id=row["creditor_id"],
                    account_ref=row["account_ref"], bucket=row["bucket"],
                    currency=row["currency"], placed_amount=Decimal(row["placed_amount"]),
                    placed_at=datetime.fromisoformat(row["placed_at"]), assignments=stints,
                    payments=tuple(_payment(r, stints) for r in paid.get(case_id, [])),
                    reversals=tuple(ReversalFact(
                        event_id=r["event_id"], reference=r["reference"],
                        amount=Decimal(r["amount"]), reason=r["reason"],
                        reversed_at=datetime.fromisoformat(r["reversed_at"]),
                        position=int(r["position"])) for r in taken.get(case_id, [])),
                    stages=tuple(_stage(r) for r in staged.get(case_id, []))))
        return found


def _select(conn: Connection, table: sa.Table, ids: list[str], as_of: int | None,
            order: str) -> Iterable[Any]:
    query = sa.select(table).where(table.c.case_id.in_(ids))
    if as_of is not None:
        query = query.where(table.c.position <= as_of)
    return conn.execute(query.order_by(table.c.case_id, table.c[order])).mappings()


def _group(rows: Iterable[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row["case_id"]].append(row)
    return grouped


def _payment(row: Any, stints: Sequence[Assignment]) -> PaymentFact:
    return credited(stints, PaymentFact(
        reference=row["reference"], amount=Decimal(row["amount"]), source=row["source"],
        received_at=datetime.fromisoformat(row["received_at"]), agency_id=row["agency_id"],
        position=int(row["position"]),
        assignment=None if row["assignment"] is None else int(row["assignment"]),
        before_placement=BEFORE_PLACEMENT in (row["flags"] or "").split(",")))


def _stage(row: Any) -> StageFact:
    return StageFact(
        stage_ref=row["stage_ref"], stage=row["stage"],
        occurred_at=datetime.fromisoformat(row["occurred_at"]), court=row["court"],
        docket_no=row["docket_no"], law_firm_id=row["law_firm_id"],
        position=int(row["position"]))


def _assignment(row: Any, as_of: int | None) -> Assignment:
    ended = row["ended_at"] is not None and (
        as_of is None or row["ended_position"] is None or int(row["ended_position"]) <= as_of)
    return Assignment(
        seq=int(row["seq"]), agency_id=row["agency_id"],
        assigned_at=datetime.fromisoformat(row["assigned_at"]),
        term_end=date.fromisoformat(row["term_end"]),
        ended_at=datetime.fromisoformat(row["ended_at"]) if ended else None,
        end_reason=row["end_reason"] if ended else None)


def reference_store(conn: Connection, draft: InvoiceDraft, issued_at: str, issued_by: str
                    ) -> dict[str, Any]:
    """The former storing: the content and each line serialised on their own, the lines
    inserted as an executemany, the record read back."""
    content, totals = draft.content, draft.content["totals"]
    conn.execute(invoices.insert().values(
        invoice_id=draft.invoice_id, creditor_id=draft.creditor_id,
        agency_id=draft.agency_id, seq=draft.seq,
        period_start=draft.period.start.isoformat(),
        period_end=draft.period.end.isoformat(), currency=content["currency"],
        subtotal=totals["subtotal"], tax=totals["tax"], total=totals["total"],
        content=json.dumps(content, sort_keys=True, ensure_ascii=False),
        content_hash=draft.content_hash, as_of_position=draft.as_of_position,
        as_of_contract_version=draft.as_of_contract_version, issued_at=issued_at,
        issued_by=issued_by))
    rows = [{"invoice_id": draft.invoice_id, "line_no": line["line_no"],
             "creditor_id": draft.creditor_id, "agency_id": draft.agency_id,
             "seq": draft.seq, "entry": line["entry"], "kind": line["kind"],
             "case_id": line["case_id"], "reference": line["reference"],
             "position": line["position"], "commission": line["commission"],
             "line": json.dumps(line, sort_keys=True, ensure_ascii=False)}
            for line in content["lines"]]
    if rows:
        conn.execute(invoice_lines.insert(), rows)
    record = InvoiceBook().get(conn, draft.invoice_id)
    assert record is not None
    return record


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def history(world: World) -> None:
    """Cases of BANK with AG-A, AG-B and the law firm LF-1 over October and November."""
    tiered = world.place(bucket="M3", amount="30000.00", placed="2026-09-20",
                         term_end="2026-12-31")
    world.pay(tiered, "T-1", "6000.00", "2026-10-02")
    world.pay(tiered, "T-2", "6000.00", "2026-10-05", source="creditor_direct")
    world.reverse(tiered, "T-2", "2026-10-07", "2500.00")  # partial, same run
    world.reverse(tiered, "T-2", "2026-10-09")  # the rest: completes it
    world.pay(tiered, "T-3", "1234.56", "2026-10-12")
    world.reverse(tiered, "T-3", "2026-11-03", "234.56")  # claws back an earlier invoice

    moved = world.place(bucket="M2", amount="8000.00", placed="2026-09-25",
                        term_end="2026-10-15")
    world.pay(moved, "M-1", "300.00", "2026-10-03")
    world.pay(moved, "M-TAIL", "120.00", "2026-10-20")  # AG-A's tail
    world.reassign(moved, "AG-B", "2026-10-21", "2026-12-31")
    world.pay(moved, "M-2", "450.00", "2026-10-25")
    world.pay(moved, "M-3", "99.99", "2026-11-10", source="creditor_direct")
    world.reverse(moved, "M-1", "2026-11-12")  # AG-A's payment, invoiced in October

    recalled = world.place(bucket="M1", amount="5000.00", agency="AG-B",
                           placed="2026-09-28", term_end="2026-12-31")
    world.pay(recalled, "R-1", "700.00", "2026-10-04")
    world.recall(recalled, "2026-10-08")
    world.pay(recalled, "R-TAIL", "80.00", "2026-10-12")
    world.pay(recalled, "R-LATE", "80.00", "2026-11-20")  # beyond the tail

    many = world.place(bucket="M4+", amount="90000.00", placed="2026-09-29",
                       term_end="2026-12-31")
    for n in range(30):
        world.pay(many, f"N-{n:02d}", f"{10 + n}.{n:02d}", f"2026-10-{n % 28 + 1:02d}",
                  source="creditor_direct" if n % 4 == 0 else "agency", hour=n % 24)
    for n in range(0, 30, 7):
        world.reverse(many, f"N-{n:02d}", "2026-11-02", "1.01")

    sued = world.place(bucket="M2", amount="20000.00", placed="2026-09-20",
                       term_end="2026-10-10")
    world.pay(sued, "S-1", "500.00", "2026-10-06")
    _hand_to(world, sued, "LF-1", "2026-10-11")
    _record_stage(world, sued, "ST-1", "filed", "2026-10-14")
    _record_stage(world, sued, "ST-2", "hearing", "2026-10-28")
    world.pay(sued, "S-2", "1500.00", "2026-10-30")
    _record_stage(world, sued, "ST-3", "judgment", "2026-11-16")
    world.sync()
    world.clock.set(at("2026-12-05", 0))
    tiers = {"M3": [{"up_to": "10000", "rate": "0.20"}, {"up_to": None, "rate": "0.15"}]}
    world.contract(world.contract_body(tiers=tiers, tail_days=10, minimum_fee="50",
                                       tax_rate="0.06", timezone="Asia/Shanghai"))
    world.contract(world.contract_body(tail_days=5, tax_rate="0.06", timezone="Asia/Shanghai",
                                       minimum_fee="500",
                                       creditor_direct_commissionable=False),
                   agency="AG-B")
    world.contract(world.contract_body(rates={"M2": "0.20"}, stage_fees=FEES,
                                       tax_rate="0.06", timezone="Asia/Shanghai"),
                   agency="LF-1")


def _hand_to(world: World, case_id: UUID, firm: str, day: str) -> None:
    world._run(case_id, lambda c: c.reassign(
        to_agency_id=firm, reason="litigation", term_end=date(2026, 12, 31),
        reassigned_at=at(day, 8), actor="test", to_law_firm=True))


def _record_stage(world: World, case_id: UUID, ref: str, name: str, day: str) -> None:
    world._run(case_id, lambda c: c.record_litigation_stage(
        stage_ref=ref, stage=name, occurred_at=at(day), court="北京市朝阳区人民法院",
        docket_no="(2026)京0105民初123号", note=None, actor="test"))


def reference_runs(world: World) -> BillingRuns:
    runs = world.service.runs
    return BillingRuns(runs.database, runs.contracts, runs.invoices, ReferenceFacts(),
                       runs.clock, runs.default_timezone, runs.parties)


def test_facts_read_as_tuples_equal_the_rows_read_as_mappings(world: World) -> None:
    history(world)
    fast, plain = world.service.runs.facts, ReferenceFacts()
    with world.service.runs.database.reading() as conn:
        last = fast.last_position(conn)
        for creditor, agency in [*PAIRS, (None, None), ("BANK", None)]:
            for as_of in (None, last, last // 2, last // 3, 5, 0):
                args: dict[str, Any] = dict(creditor_id=creditor, agency_id=agency,
                                            as_of_position=as_of)
                got, expected = fast.cases(conn, **args), plain.cases(conn, **args)
                assert got == expected
        assert any(c.reversals for c in fast.cases(conn, creditor_id="BANK"))
        assert any(c.stages for c in fast.cases(conn, creditor_id="BANK"))
        assert any(len(c.assignments) > 1 for c in fast.cases(conn, creditor_id="BANK"))


def test_runs_store_what_the_plain_path_stores(world: World) -> None:
    history(world)
    runs, reference = world.service.runs, reference_runs(world)
    book, views = InvoiceBook(), []
    for period in (Period(date(2026, 10, 1), date(2026, 10, 31)),
                   Period(date(2026, 11, 1), date(2026, 11, 30))):
        for creditor, agency in PAIRS:
            expected = reference.preview(creditor, agency, period)
            assert runs.preview(creditor, agency, period) == expected
            view, created = runs.run(creditor, agency, period, "test")
            assert created
            views.append(view)
            assert view["content_hash"] == expected["content_hash"]
            assert {k: view[k] for k in expected["content"]} == expected["content"]
            with runs.database.reading() as conn:
                record = book.get(conn, view["invoice_id"])
                assert record is not None
                assert view == invoice_view(record)
                text = conn.execute(sa.select(invoices.c.content).where(
                    invoices.c.invoice_id == view["invoice_id"])).scalar_one()
                assert text == json.dumps(expected["content"], sort_keys=True,
                                          ensure_ascii=False)
                stored = conn.execute(sa.select(invoice_lines).where(
                    invoice_lines.c.invoice_id == view["invoice_id"]).order_by(
                    invoice_lines.c.line_no)).mappings().all()
            lines = expected["content"]["lines"]
            assert [r["line"] for r in stored] == [
                json.dumps(line, sort_keys=True, ensure_ascii=False) for line in lines]
            assert [(r["line_no"], r["entry"], r["kind"], r["case_id"], r["reference"],
                     r["position"], r["commission"], r["seq"]) for r in stored] == [
                (line["line_no"], line["entry"], line["kind"], line["case_id"],
                 line["reference"], line["position"], line["commission"], record["seq"])
                for line in lines]
            again = runs.preview(creditor, agency, period)
            assert again["matches"]
            assert again["stored_content_intact"]
            assert again == reference.preview(creditor, agency, period)
    kinds = {line["kind"] for view in views for line in view["lines"]}
    assert kinds >= {"payment", "reversal", "stage_fee", "minimum_fee"}
    assert {view["document_type"] for view in views} == {"invoice", "credit_note"}
    assert len(views[0]["lines"]) > 20  # enough for COPY on PostgreSQL


def test_store_returns_the_record_the_plain_store_reads_back(world: World) -> None:
    history(world)
    runs = world.service.runs
    period = Period(date(2026, 10, 1), date(2026, 10, 31))
    for creditor, agency in PAIRS:
        with runs.database.reading() as conn:
            draft = runs._draft(conn, creditor, agency, period)
        with runs.database.engine.connect() as conn, conn.begin() as transaction:
            got = runs.invoices.store(conn, draft, "2026-12-05T00:00:00+00:00", "test")
            stored_lines = lines_of(conn, draft.invoice_id)
            transaction.rollback()
        with runs.database.engine.connect() as conn, conn.begin() as transaction:
            expected = reference_store(conn, draft, "2026-12-05T00:00:00+00:00", "test")
            reference_lines = lines_of(conn, draft.invoice_id)
            transaction.rollback()
        assert got == expected
        assert stored_lines == reference_lines


def lines_of(conn: Connection, invoice_id: str) -> list[tuple[Any, ...]]:
    """The stored index rows of a document's lines, in line order."""
    return [tuple(r) for r in conn.execute(sa.select(invoice_lines).where(
        invoice_lines.c.invoice_id == invoice_id).order_by(invoice_lines.c.line_no))]


def test_an_entry_billed_twice_is_a_write_conflict(world: World) -> None:
    history(world)
    runs = world.service.runs
    period = Period(date(2026, 10, 1), date(2026, 10, 31))
    with runs.database.reading() as conn:
        draft = runs._draft(conn, "BANK", "AG-A", period)
    assert len(draft.content["lines"]) > 20
    runs.run("BANK", "AG-A", period, "test")
    clash = InvoiceDraft(  # another number, seq and period, the same entries
        invoice_id="INV-BANK-AG-A-00009", creditor_id="BANK", agency_id="AG-A", seq=9,
        period=Period(date(2026, 9, 1), date(2026, 9, 30)), content=draft.content,
        content_hash=draft.content_hash, as_of_position=draft.as_of_position,
        as_of_contract_version=draft.as_of_contract_version)
    with pytest.raises(WriteConflict), runs.database.writing() as conn:
        runs.invoices.store(conn, clash, "2026-12-05T00:00:00+00:00", "test")
    with runs.database.reading() as conn:
        assert runs.invoices.get(conn, "INV-BANK-AG-A-00009") is None


@pytest.mark.parametrize("content", [
    {"lines": [], "a": 1},
    {"lines": [{"x": "é 中文 \u2028 \x00 \"q\" \\", "line_no": 1}], "z": None},
    {"a": {"lines": []}, "lines": [{"k": [1, 2, {"b": True}]}, {"k": "\x00lines\x00"}],
     "b": "\x00lines\x00"},
    {"lines": [{"a": 1}], "note": "\"\\u0000lines\\u0000\""},
])
def test_stored_text_is_the_plain_dump(content: dict[str, Any]) -> None:
    texts = [json.dumps(line, sort_keys=True, ensure_ascii=False) for line in content["lines"]]
    assert stored_text(content, texts) == json.dumps(content, sort_keys=True,
                                                     ensure_ascii=False)
