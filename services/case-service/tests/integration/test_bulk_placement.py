"""Bulk placement writes `Placed` events directly in the library's stored form; they must be
exactly what the library would have stored for `Case(**facts)`, and the summaries exactly what
`summarize` gives for the aggregate."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from case_service.adapters.case_list import summarize, summarize_opening
from case_service.adapters.eventstore.stored_events import PLACED_TOPIC, placed_event
from case_service.application import CaseApplication
from case_service.application.placement import AccountInput, DebtorInput, PlacementBatch, place
from case_service.domain.case import Case, case_id_for

OPENED = datetime(2026, 4, 1, 2, 3, 4, 567890, tzinfo=UTC)

FACTS: list[dict[str, Any]] = [
    {"creditor_id": "BANK1", "account_ref": "A-1", "placement_ref": "P-1", "agency_id": "AG-A",
     "allocation": {"method": "named"}, "debtor_id": "d-1", "debtor_pii": "pii1:abc",
     "debtor_timezone": "Asia/Shanghai", "contact_points": 2, "currency": "CNY",
     "balances": {"principal": Decimal("1200.50"), "interest": Decimal("0.10"),
                  "fees": Decimal("30")},
     "dpd": 75, "bucket": "M3", "product": None,
     "placed_at": datetime(2026, 3, 31, 23, 59, 59, 1, tzinfo=UTC),
     "term_end": date(2027, 3, 31), "actor": "creditor:BANK1",
     "creditor_timezone": "Asia/Shanghai", "delinquent_since": date(2026, 1, 16)},
    {"creditor_id": "银行", "account_ref": "账户/\"7\"\\\u001f", "placement_ref": "P 2",
     "agency_id": "催收-1", "allocation": {"method": "rules", "rules_version": 3},
     "debtor_id": "d-2", "debtor_pii": "pii1:é", "debtor_timezone": "America/New_York",
     "contact_points": 0, "currency": "USD", "balances": {"principal": Decimal("1E+3")},
     "dpd": 0, "bucket": "M0", "product": "card", "placed_at": OPENED,
     "term_end": date(2026, 4, 1), "actor": "admin", "creditor_timezone": "UTC",
     "delinquent_since": date(2026, 4, 1)},
]


def library_form(app: CaseApplication, facts: dict[str, Any]) -> tuple[Case, Any]:
    case = Case(**facts)
    [event] = case.collect_events()
    return case, app.mapper.to_stored_event(event)


@pytest.mark.parametrize("facts", FACTS, ids=["ascii", "unicode-and-escapes"])
def test_direct_placed_events_are_what_the_library_stores(application: CaseApplication,
                                                          facts: dict[str, Any]) -> None:
    case, library = library_form(application, facts)
    ours = placed_event(case.id, OPENED, facts)
    assert (ours.originator_id, ours.originator_version, ours.topic) == \
        (library.originator_id, library.originator_version, library.topic) == \
        (case_id_for(facts["creditor_id"], facts["account_ref"]), 1, PLACED_TOPIC)
    decode = application.mapper.transcoder.decode
    assert {**decode(ours.state), "timestamp": None} == \
        {**decode(library.state), "timestamp": None}
    assert list(decode(ours.state)) == list(decode(library.state))  # same keys, same order
    # The aggregate the library rebuilds from our event equals the one it built itself.
    rebuilt = application.mapper.to_domain_event(ours).mutate(None)
    assert rebuilt.created_on == OPENED
    skip = {"_created_on", "_modified_on", "_pending_events"}
    assert {k: v for k, v in vars(rebuilt).items() if k not in skip} == \
        {k: v for k, v in vars(case).items() if k not in skip}


@pytest.mark.parametrize("facts", FACTS, ids=["ascii", "unicode-and-escapes"])
def test_opening_summaries_are_what_summarize_gives(facts: dict[str, Any]) -> None:
    case = Case(**facts)
    expected = replace(summarize(case), updated_at=OPENED.isoformat())
    assert summarize_opening(str(case.id), facts, OPENED) == expected


def test_placed_cases_load_take_commands_and_list(application: CaseApplication) -> None:
    receipt, _ = place(application, PlacementBatch(
        creditor_id="BANK1", placement_ref="P-9", received_at=OPENED, request_sha256="h",
        accounts=[AccountInput(
            index=i, account_ref=f"R-{i}", currency="CNY", dpd=40, agency_id="AG-A",
            balances={"principal": Decimal("100.00"), "fees": Decimal("5")},
            debtor=DebtorInput(name="李四", national_id=f"N{i}", phones=("+8613800000000",),
                               address=None, email=None, timezone="Asia/Shanghai"))
            for i in range(3)]), actor="creditor")
    case_id = UUID(receipt["accepted"][0]["case_id"])
    case = application.get_case(case_id)
    assert (case.version, case.outstanding, case.status.value) == (1, Decimal("105.00"),
                                                                    "placed")
    application.execute(case_id, lambda c: c.receive_payment(
        reference="p1", amount=Decimal("5.00"), currency="CNY", source="agency",
        received_at=datetime(2026, 4, 2, tzinfo=UTC), method=None, actor="agency"),
        expected_version=1, authorize=lambda _: None)
    rows, _ = application.store.list_summaries(filters={"creditor_id": "BANK1"}, after=0,
                                               limit=10)
    assert [r["case_id"] for r in rows] == [a["case_id"] for a in receipt["accepted"]]
    assert (rows[0]["version"], rows[0]["outstanding"], rows[0]["status"]) == \
        (2, "100.00", "active")
    assert (rows[1]["version"], rows[1]["outstanding"], rows[1]["placed_amount"]) == \
        (1, "105.00", "105.00")
    envelope = application.events_after(0, 1)[0]
    assert envelope.type == "Placed"
    assert envelope.payload["balances"] == {"principal": "100.00", "fees": "5"}
