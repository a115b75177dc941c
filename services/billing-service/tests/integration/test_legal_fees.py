"""Legal fees (诉讼费用) end to end: a case handed to a law firm (`Reassigned` +
`HandedToLawFirm`), the stages the firm records (`LitigationStageRecorded`, naming the firm),
the billing-ledger projection, a law firm's contract with `stage_fees` and billing runs over
HTTP, in JSON, CSV and PDF. Runs on SQLite and on PostgreSQL (TEST_DATABASE_URL).

Contract BANK-LF-1 unless a test says otherwise: filed 800.00, judgment 1200.00, enforcement
500.00 (no hearing fee), M2 20 % on recoveries, tax 6 %, days in Asia/Shanghai (every event is
at 10:00 UTC, 18:00 in Beijing: the same day).
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pypdfium2
import pytest
import sqlalchemy as sa
from billing_service.adapters.billing_ledger import litigation_stages
from casetrail.projections.rebuild import compare, rebuild, rebuild_from_log
from casetrail.projections.store import Delivery

if TYPE_CHECKING:
    from conftest import World

FEES = {"filed": "800.00", "judgment": "1200.00", "enforcement": "500.00"}
DOCKET = "(2026)京0105民初123号"


def at(day: str, hour: int = 10) -> datetime:
    """An instant on a UTC day (10:00 unless told)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def legal_contract(world: World, **overrides: Any) -> dict[str, Any]:
    body = world.contract_body(rates={"M2": "0.20"}, stage_fees=FEES, tax_rate="0.06",
                               timezone="Asia/Shanghai")
    body.update(overrides)
    return body


def hand_to(world: World, case_id: UUID, firm: str, day: str) -> None:
    """The creditor reassigns the case to a law firm: the legal hand-off."""
    world._run(case_id, lambda c: c.reassign(
        to_agency_id=firm, reason="litigation", term_end=date(2026, 12, 31),
        reassigned_at=at(day, 8), actor="test", to_law_firm=True))


def stage(world: World, case_id: UUID, ref: str, name: str, day: str,
          docket: str | None = DOCKET) -> None:
    """The firm holding the case records a litigation stage."""
    world._run(case_id, lambda c: c.record_litigation_stage(
        stage_ref=ref, stage=name, occurred_at=at(day), court="北京市朝阳区人民法院",
        docket_no=docket, note=None, actor="test"))


def pdf_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return "\n".join(document[i].get_textpage().get_text_range()
                         for i in range(len(document)))
    finally:
        document.close()


def stage_lines(invoice: dict[str, Any]) -> list[tuple[str, str | None, str | None, str, bool]]:
    """(reference, stage, docket_no, commission, commissionable) per stage-fee line."""
    return [(line["reference"], line["stage"], line["docket_no"], line["commission"],
             line["commissionable"]) for line in invoice["lines"] if line["kind"] == "stage_fee"]


def test_a_contract_may_state_stage_fees_only(world: World) -> None:
    response = world.put("bank", "/v1/contracts/BANK/LF-1", world.contract_body(
        rates={}, stage_fees={"filed": "800.00", "hearing": "300", "judgment": "1200.00"}))
    assert response.status_code == 201, response.text
    assert response.json()["stage_fees"] == {"filed": "800", "hearing": "300",
                                             "judgment": "1200"}
    assert response.json()["rates"] == {}
    listed = world.get("bank", "/v1/contracts/BANK/LF-1").json()["versions"]
    assert listed[0]["stage_fees"] == response.json()["stage_fees"]
    # An ordinary contract states none.
    assert world.contract(world.contract_body())["stage_fees"] == {}


@pytest.mark.parametrize(("change", "path"), [
    ({"stage_fees": {"appeal": "100.00"}}, "body.stage_fees.appeal.[key]"),
    ({"stage_fees": {"filed": "-800.00"}}, "body.stage_fees.filed"),
    ({"stage_fees": {"filed": 800.5}}, "body.stage_fees.filed"),
    ({"stage_fees": {"filed": "800.005"}}, "body.stage_fees"),
    ({"rates": {}, "stage_fees": {}}, "body.rates"),
])
def test_bad_stage_fees_are_422_at_their_field(world: World, change: dict[str, Any],
                                               path: str) -> None:
    response = world.put("bank", "/v1/contracts/BANK/LF-1", world.contract_body(**change))
    assert response.status_code == 422, response.text
    assert path in [f["path"] for f in response.json()["error"]["fields"]]


def test_stage_fees_are_billed_with_the_firm_s_commission_taxed_and_exported(
        world: World) -> None:
    case = world.place(bucket="M2", amount="50000.00", agency="AG-A")
    world.contract(world.contract_body(), agency="AG-A")
    world.contract(legal_contract(world), agency="LF-1")
    world.pay(case, "AG-PAY", "1000.00", "2026-01-20")
    hand_to(world, case, "LF-1", "2026-02-02")
    stage(world, case, "S1", "filed", "2026-02-05")
    stage(world, case, "S2", "hearing", "2026-02-15", docket=None)
    stage(world, case, "S3", "judgment", "2026-02-25")
    world.pay(case, "LF-PAY", "5000.00", "2026-02-26")
    world.sync()

    february = world.bill("2026-02-01", "2026-02-28", agency="LF-1")

    # filed 800.00 + hearing (no fee in the contract) 0.00 + judgment 1200.00 + the firm's
    # recovery 5000 x 0.20 = 1000.00: subtotal 3000.00, tax 6 % = 180.00, total 3180.00
    assert world.lines(february) == [("stage_fee", "800.00", "800.00", True),
                                     ("stage_fee", "0.00", "0.00", False),
                                     ("stage_fee", "1200.00", "1200.00", True),
                                     ("payment", "5000.00", "1000.00", True)]
    assert stage_lines(february) == [("S1", "filed", DOCKET, "800.00", True),
                                     ("S2", "hearing", None, "0.00", False),
                                     ("S3", "judgment", DOCKET, "1200.00", True)]
    filed = february["lines"][0]
    assert filed["entry"] == f"stage_fee:{case}:S1"
    assert filed["case_id"] == str(case)
    assert filed["rule"] == "stage fee 立案费 filed 800.00 (contract v1)"
    assert filed["occurred_on"] == "2026-02-05"
    assert february["lines"][1]["explanation"] == (
        "hearing stage recorded 2026-02-15: no fee for the hearing stage under contract v1")
    totals = february["totals"]
    assert (totals["stage_fee_lines"], totals["stage_fees"]) == (3, "2000.00")
    assert (totals["payments"], totals["earned_commission"], totals["subtotal"],
            totals["tax"], totals["total"]) == (1, "3000.00", "3000.00", "180.00", "3180.00")
    assert totals["commissionable_amount"] == "5000.00"  # a fee is not recovered money

    # The collection agency's invoice has its own recovery and no stage fee.
    for_a = world.bill("2026-01-01", "2026-02-28", agency="AG-A")
    assert world.lines(for_a) == [("payment", "1000.00", "180.00", True)]
    assert "stage_fees" not in for_a["totals"]

    # Enforcement in March: its fee on the next invoice; nothing billed twice.
    stage(world, case, "S4", "enforcement", "2026-03-10")
    world.sync()
    march = world.bill("2026-03-01", "2026-03-31", agency="LF-1")
    assert stage_lines(march) == [("S4", "enforcement", DOCKET, "500.00", True)]
    assert (march["totals"]["subtotal"], march["totals"]["tax"],
            march["totals"]["total"]) == ("500.00", "30.00", "530.00")

    # CSV: a row per line with its stage and docket number; PDF: rendered.
    path = f"/v1/invoices/{february['invoice_id']}"
    exported = world.client.get(path, params={"format": "csv"}, headers=world.headers("bank"))
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["kind"], r["reference"], r["stage"], r["docket_no"], r["commission"])
            for r in rows] == [("stage_fee", "S1", "filed", DOCKET, "800.00"),
                               ("stage_fee", "S2", "hearing", "", "0.00"),
                               ("stage_fee", "S3", "judgment", DOCKET, "1200.00"),
                               ("payment", "LF-PAY", "", "", "1000.00")]
    pdf = world.client.get(path, params={"format": "pdf"}, headers=world.headers("bank"))
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["x-content-hash"] == february["content_hash"]
    again = world.client.get(path, params={"format": "pdf"}, headers=world.headers("bank"))
    assert again.content == pdf.content  # reproducible
    text = "".join(pdf_text(pdf.content).split())  # cells wrap: compare without spaces
    for words in ("立案费Filed", "开庭费Hearing", "判决费Judgment", DOCKET,
                  "其中诉讼阶段费用", "2000.00", "3180.00"):
        assert words in text, words


def test_another_firm_s_stage_and_a_stage_before_the_contract_bill_nothing(
        world: World) -> None:
    ours = world.place(bucket="M2", agency="AG-A")
    theirs = world.place(bucket="M2", agency="AG-A")
    world.contract(legal_contract(world, effective_from="2026-02-10", rates={}),
                   agency="LF-1")
    world.contract(legal_contract(world, rates={},
                                  stage_fees={"filed": "600.00"}), agency="LF-2")
    hand_to(world, ours, "LF-1", "2026-02-02")
    hand_to(world, theirs, "LF-2", "2026-02-02")
    stage(world, ours, "S1", "filed", "2026-02-05")      # before LF-1's contract takes effect
    stage(world, theirs, "T1", "filed", "2026-02-06")    # recorded by LF-2
    stage(world, ours, "S2", "judgment", "2026-02-20")
    world.sync()

    for_lf1 = world.bill("2026-02-01", "2026-02-28", agency="LF-1")
    for_lf2 = world.bill("2026-02-01", "2026-02-28", agency="LF-2")

    # LF-1: its filing of 02-05 predates its contract (from 02-10): listed at 0.00 with the
    # reason, as a payment with no contract in force is; its judgment 1200.00, tax 72.00.
    # LF-2's filing is not on LF-1's invoice at all.
    assert stage_lines(for_lf1) == [("S1", "filed", DOCKET, "0.00", False),
                                    ("S2", "judgment", DOCKET, "1200.00", True)]
    assert for_lf1["lines"][0]["explanation"] == (
        "filed stage recorded 2026-02-05, docket (2026)京0105民初123号: no contract in force "
        "on 2026-02-05")
    assert (for_lf1["totals"]["subtotal"], for_lf1["totals"]["total"]) == ("1200.00",
                                                                          "1272.00")
    # LF-2 bills its own filing under its own contract: 600.00 + 6 % = 636.00.
    assert stage_lines(for_lf2) == [("T1", "filed", DOCKET, "600.00", True)]
    assert for_lf2["totals"]["total"] == "636.00"


def test_the_same_stage_event_applied_twice_bills_once(world: World) -> None:
    case = world.place(bucket="M2", agency="AG-A")
    world.contract(legal_contract(world), agency="LF-1")
    hand_to(world, case, "LF-1", "2026-02-02")
    stage(world, case, "S1", "filed", "2026-02-05")
    stage(world, case, "S1", "filed", "2026-02-05")  # the firm's retry: recorded once
    world.sync()
    events = world.cases.events_after(0, 1000)
    assert [e.type for e in events].count("LitigationStageRecorded") == 1
    # Redelivered (a consumer restarting behind its commit): applied once.
    world.service.ledger.apply("feed", 0, [Delivery(e.position, e) for e in events])
    world.sync()
    with world.service.ledger.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(
            litigation_stages)).scalar() == 1

    february = world.bill("2026-02-01", "2026-02-28", agency="LF-1")
    march = world.bill("2026-03-01", "2026-03-31", agency="LF-1")
    assert stage_lines(february) == [("S1", "filed", DOCKET, "800.00", True)]
    assert stage_lines(march) == []
    assert world.bill("2026-02-01", "2026-02-28", agency="LF-1", expect=200) == february


def test_a_rebuild_of_the_ledger_equals_the_live_one_and_reproduces_the_invoice(
        world: World, billing_db: str) -> None:
    case = world.place(bucket="M2", agency="AG-A")
    world.contract(legal_contract(world), agency="LF-1")
    world.pay(case, "AG-PAY", "1000.00", "2026-01-20")
    hand_to(world, case, "LF-1", "2026-02-02")
    stage(world, case, "S1", "filed", "2026-02-05")
    stage(world, case, "S2", "judgment", "2026-02-25")
    world.pay(case, "LF-PAY", "2500.00", "2026-02-26")
    world.sync()
    issued = world.bill("2026-02-01", "2026-02-28", agency="LF-1")
    # 800.00 + 1200.00 + 2500 x 0.20 = 500.00: 2500.00, tax 150.00, total 2650.00
    assert issued["totals"]["total"] == "2650.00"
    stage(world, case, "S3", "enforcement", "2026-03-03")  # after the run
    world.sync()

    live = world.service.ledger
    with live.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(
            litigation_stages)).scalar() == 3
    # A shadow rebuilt from the whole log equals the live read model, table by table
    # (`litigation_stages` is one of the projection's tables compare checks).
    assert "litigation_stages" in {t.name for t in live.projection.metadata.sorted_tables}
    shadow = asyncio.run(rebuild(
        live, billing_db, log=lambda after, _, types: world.cases.log_page(after, 4, types)))
    try:
        assert compare(live, shadow) == []
    finally:
        shadow.engine.dispose()

    # Reset and replayed in place: the stages come back and the invoice recomputes to its hash.
    last = world.cases.events_after(0, 1000)[-1]
    live.reset()
    assert rebuild_from_log(live, lambda after, _, types: world.cases.log_page(after, 3, types)
                            ) == last.position
    with live.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(
            litigation_stages)).scalar() == 3
    checked = world.get("auditor", "/v1/billing-runs/preview", creditor_id="BANK",
                        agency_id="LF-1", period_start="2026-02-01",
                        period_end="2026-02-28").json()
    assert checked["stored"] is True
    assert checked["matches"] is True
    assert checked["content_hash"] == issued["content_hash"]
