"""Pages stay fast however many cases there are: every list is paged by the service (the
case list by cursor), so the console asks for one page of 50 and renders only that."""

from __future__ import annotations

import time
from typing import Any

from tests.browser.system import ConsoleSystem


def test_the_case_list_is_paged_by_the_service_so_many_cases_cost_the_same(
        tabs: Any, system: ConsoleSystem) -> None:
    admin = system.api("case", "admin")
    accounts = [{"account_ref": f"BULK-{i:05d}", "agency_id": "AG-BULK", "currency": "CNY",
                 "dpd": 30 + i % 90, "balances": {"principal": "1000.00"},
                 "debtor": {"name": f"批量{i}", "national_id": f"11010119900109{i:04d}",
                            "timezone": "Asia/Shanghai"}} for i in range(5000)]
    placed = admin.post("/v1/placements", json={"creditor_id": "BANK-BULK",
                                                "placement_ref": "BULK-1",
                                                "accounts": accounts}, timeout=120)
    assert placed.status_code in (200, 201), placed.text[:500]
    tab = tabs("auditor")
    timings = []
    tab.open("/cases?creditor_id=BANK-BULK")
    for _ in range(3):
        started = time.perf_counter()
        tab.page.click("#next-page")
        tab.page.wait_for_load_state()
        timings.append(time.perf_counter() - started)
        assert tab.page.locator("#case-table tbody tr").count() == 50
    assert "cursor=" in tab.page.url
    assert max(timings) < 2.0, timings  # one page of 50, whatever the total
