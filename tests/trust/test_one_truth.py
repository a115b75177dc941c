"""One history, fed to every service: the same fact reads the same, the same figure counts the
same, in the case service, the contact service's KPIs and worklist, and billing's performance
report and invoices (issue 16, "A fact is decided once" and "Every metric has one
definition"; docs/figures.md).

AG-A's October (all instants UTC):

| case | placed       | in October                                                       |
|------|--------------|------------------------------------------------------------------|
| C1   | 09-20        | contacted 10-03; promise P1 of 1000 due 10-10, paid 10-05 (kept) |
|      |              | then the payment bounced 10-12: P1 is open again                 |
| C2   | 10-02        | contacted 10-04; promise P2 of 500 due 10-08, paid 10-07 (kept)   |
| C3   | 10-03        | contacted 10-05; reassigned to AG-B on 10-15                     |
| C4   | 10-04        | contacted 10-06 (third party)                                    |
| C5   | 10-05        | contacted 10-07                                                  |
| C6   | 10-06        | 5000 of 10000 paid to the creditor directly on 09-28, reported   |
|      |              | 10-08: before the case was placed; contacted 10-09               |
| C7   | 10-07        | never contacted; 2000 paid 10-20                                 |
| X1   | 08-01, AG-A  | reassigned to AG-B on 09-01: not AG-A's in October                |
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from casetrail.testing import BACKENDS, fresh_database

from tests.trust.harness import Services, at

OCTOBER = {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}


@pytest.fixture(params=BACKENDS)
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    with fresh_database(request.param, tmp_path, "case") as case_url, \
            fresh_database(request.param, tmp_path, "contact") as contact_url, \
            fresh_database(request.param, tmp_path, "billing") as billing_url:
        world = Services(tmp_path, case_url, contact_url, billing_url)
        try:
            yield world
        finally:
            world.close()


@pytest.fixture
def october(services: Services) -> dict[str, Any]:
    s = services
    for agency in ("AG-A", "AG-B"):
        response = s.put("billing", "bank", f"/v1/contracts/BANK/{agency}", {
            "effective_from": "2026-01-01", "currency": "CNY",
            "rates": {"M1": "0.12", "M2": "0.18", "M3": "0.25", "M4+": "0.35"},
            "tail_days": 0, "creditor_direct_commissionable": True, "minimum_fee": "0",
            "tax_rate": "0"})
        assert response.status_code in (200, 201), response.text
    c = {name: s.place(placed=day) for name, day in [
        ("C1", "2026-09-20"), ("C2", "2026-10-02"), ("C3", "2026-10-03"), ("C4", "2026-10-04"),
        ("C5", "2026-10-05"), ("C6", "2026-10-06"), ("C7", "2026-10-07"),
        ("X1", "2026-08-01")]}
    s.reassign(c["X1"], "AG-B", at("2026-09-01"))
    s.contact(c["C1"], "k1", at("2026-10-03"))
    s.promise(c["C1"], "P1", "1000.00", at("2026-10-03", 11), "2026-10-10")
    s.pay(c["C1"], "C1-PAY", "1000.00", at("2026-10-05"))
    s.contact(c["C2"], "k2", at("2026-10-04"))
    s.promise(c["C2"], "P2", "500.00", at("2026-10-04", 11), "2026-10-08")
    s.pay(c["C2"], "C2-PAY", "500.00", at("2026-10-07"))
    s.contact(c["C3"], "k3", at("2026-10-05"))
    s.contact(c["C4"], "k4", at("2026-10-06"), party="third_party")
    s.contact(c["C5"], "k5", at("2026-10-07"))
    s.pay(c["C6"], "C6-DIRECT", "5000.00", at("2026-09-28"), source="creditor_direct")
    s.contact(c["C6"], "k6", at("2026-10-09"))
    s.reverse(c["C1"], "C1-PAY", at("2026-10-12"))
    s.reassign(c["C3"], "AG-B", at("2026-10-15"))
    s.pay(c["C7"], "C7-PAY", "2000.00", at("2026-10-20"))
    s.feed()
    return c


def test_a_reversal_that_reopens_a_promise_is_one_fact_every_service_applies(
        services: Services, october: dict[str, Any]) -> None:
    s, case = services, october["C1"]
    events = s.get("case", "auditor", f"/v1/cases/{case}/history")["events"]
    assert [e["type"] for e in events] == [
        "Placed", "Contacted", "PromisedToPay", "PaymentReceived", "PromiseKept",
        "PaymentReversed", "PromiseReopened"]
    assert events[-1]["data"] == {"promise_id": "P1", "reference": "C1-PAY",
                                  "shortfall": "1000.00", "agency_id": "AG-A",
                                  "reopened_at": "2026-10-12T10:00:00+00:00"}
    view = s.get("case", "auditor", f"/v1/cases/{case}")
    [p1] = view["promises"]
    assert (p1["promise_id"], p1["state"], p1["paid"]) == ("P1", "open", "0.00")
    # The contact service's worklist follows the promise up again (its due date passed).
    worklist = s.get("contact", "ag_a", "/v1/worklist", agency_id="AG-A", date="2026-10-13")
    assert ("promise_follow_up", str(case), "P1") in {
        (i["kind"], i["case_id"], i["promise_id"]) for i in worklist["items"]}
    # Contact KPIs and billing performance: P1 counts as neither kept nor broken; P2 is kept.
    kpis = s.get("contact", "ag_a", "/v1/agencies/AG-A/contact-kpis", **OCTOBER)["kpis"]
    assert (kpis["promise_kept_rate"]["numerator"],
            kpis["promise_kept_rate"]["denominator"]) == (1, 1)
    report = s.get("billing", "bank", "/v1/agencies/AG-A/performance", period="2026-10",
                   as_of="2026-10-31")
    assert (report["promises"]["kept"], report["promises"]["broken"]) == (1, 0)


def test_a_case_reassigned_away_during_the_period_counts_for_the_agency_everywhere(
        services: Services, october: dict[str, Any]) -> None:
    s = services
    kpis = s.get("contact", "ag_a", "/v1/agencies/AG-A/contact-kpis", **OCTOBER)["kpis"]
    # C1..C7 were all AG-A's at some instant of October (C3 until 10-15); X1 was not.
    assert (kpis["contact_rate"]["numerator"], kpis["contact_rate"]["denominator"]) == (6, 7)
    report = s.get("billing", "bank", "/v1/agencies/AG-A/performance", period="2026-10",
                   as_of="2026-10-31")
    assert report["cases_assigned"] == kpis["contact_rate"]["denominator"] == 7
    # The case service shows who held C3 from when to when.
    view = s.get("case", "auditor", f"/v1/cases/{october['C3']}")
    assert [(a["seq"], a["agency_id"], a["ended_at"], a["end_reason"])
            for a in view["assignments"]] == [
        (1, "AG-A", "2026-10-15T10:00:00+00:00", "reassigned"), (2, "AG-B", None, None)]
    # AG-B held C3 from 10-15 (and X1 all month): 2 cases in both services.
    kpis_b = s.get("contact", "ag_b", "/v1/agencies/AG-B/contact-kpis", **OCTOBER)["kpis"]
    report_b = s.get("billing", "bank", "/v1/agencies/AG-B/performance", period="2026-10",
                     as_of="2026-10-31")
    assert report_b["cases_assigned"] == kpis_b["contact_rate"]["denominator"] == 2


def test_money_paid_before_placement_is_nobody_s_recovery(
        services: Services, october: dict[str, Any]) -> None:
    s, case = services, october["C6"]
    events = s.get("case", "auditor", f"/v1/cases/{case}/history")["events"]
    paid = next(e for e in events if e["type"] == "PaymentReceived")
    assert "before_placement" in paid["data"]["flags"]
    report = s.get("billing", "bank", "/v1/agencies/AG-A/performance", period="2026-10",
                   as_of="2026-10-31")
    [c6_bucket] = [b for b in report["by_bucket"] if b["bucket"] == "M2"]
    # Placed with AG-A in October: C2..C7 (C1 was placed in September). Handed over:
    # 5 x 10000 + C6's 10000 - 5000 paid before = 55000. Received: C2 500 + C7 2000 = 2500;
    # C6's 5000 is not AG-A's (it was counted as handed over less, never as received).
    assert (report["placements"], report["placed_amount"], report["received_amount"]) == (
        6, "55000.00", "2500.00")
    assert c6_bucket["recovery_rate"] == report["recovery_rate"] == "0.0455"
    # The invoice bills what the agency collected: the same payments, no more.
    invoice = s.post("billing", "bank", "/v1/billing-runs", {
        "creditor_id": "BANK", "agency_id": "AG-A", "period_start": "2026-10-01",
        "period_end": "2026-10-31"})
    assert invoice.status_code == 201, invoice.text
    lines = invoice.json()["lines"]
    collected = sum((Decimal(line["amount"]) for line in lines
                     if line["kind"] in ("payment", "reversal") and line["commissionable"]),
                    Decimal(0))
    # C1's 1000 was received and reversed in October (net 0), C2 500, C7 2000; not C6's.
    assert collected == Decimal("2500.00")
    assert "C6-DIRECT" not in {line["reference"] for line in lines if line["commissionable"]}
