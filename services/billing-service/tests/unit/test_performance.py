"""Performance figures on hand-made facts (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from billing_service.domain.invoice import Period
from billing_service.domain.ledger import Assignment, CaseFacts, PaymentFact, ReversalFact
from billing_service.domain.performance import (
    PromiseFact,
    agency_performance,
    champion,
    handed_over,
    ratio,
)

D = Decimal


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)


ROTATED = CaseFacts(
    case_id="c1", creditor_id="BANK", account_ref="A1", bucket="M2", currency="CNY",
    placed_amount=D("10000"), placed_at=at("2025-12-01"),
    assignments=(Assignment(1, "AG-B", at("2025-12-01"), date(2026, 1, 14),
                            ended_at=at("2026-01-15"), end_reason="reassigned"),
                 Assignment(2, "AG-A", at("2026-01-15"), date(2026, 6, 30))),
    payments=(PaymentFact("P0", D("2000"), "agency", at("2025-12-20"), "AG-B", 2),
              PaymentFact("P1", D("1000"), "agency", at("2026-01-20"), "AG-A", 4),
              PaymentFact("P2", D("600"), "agency", at("2026-03-03"), "AG-A", 5)),
    reversals=(ReversalFact("e6", "P2", D("100"), "bounced", at("2026-03-04"), 6),))


def test_ratios_round_half_up_to_four_places_and_need_a_denominator() -> None:
    assert ratio(D("1"), D("3")) == "0.3333"
    assert ratio(D("2"), D("3")) == "0.6667"
    assert ratio(D("1"), D("0")) is None


def test_a_reassigned_case_is_handed_over_with_its_remaining_balance() -> None:
    # 10000 placed, 2000 paid to the first agency before the reassignment
    assert handed_over(ROTATED, ROTATED.assignments[1]) == D("8000")


def test_an_agency_report_covers_its_placements_of_the_period() -> None:
    report = agency_performance(
        agency_id="AG-A", cases=[ROTATED], period=Period(date(2026, 1, 1), date(2026, 1, 31)),
        as_of=date(2026, 3, 31), zone=UTC, contracts={}, currency="CNY",
        promises=[PromiseFact("c1", "p1", "AG-A", at("2026-01-16"), "kept", at("2026-01-20")),
                  PromiseFact("c1", "p0", "AG-B", at("2025-12-10"), "broken", at("2026-01-01"))])
    # placed 8000 (handed over); received 1000 + 600 = 1600; reversed 100; recovered 1500
    assert (report["placements"], report["placed_amount"], report["received_amount"],
            report["reversed_amount"], report["recovered_amount"]) == (
        1, "8000.00", "1600.00", "100.00", "1500.00")
    assert report["recovery_rate"] == "0.1875"      # 1500 / 8000
    assert report["reversal_rate"] == "0.0625"      # 100 / 1600
    assert report["average_fee_rate"] is None        # no contract: nothing commissionable
    assert report["promise_kept_rate"] == "1.0000"  # AG-B's broken promise is not AG-A's
    curve = report["by_vintage"][0]["liquidation_curve"]
    # Jan: 1000 / 8000 = 0.125; Feb: nothing new; Mar: +600 - 100 -> 1500 / 8000 = 0.1875
    assert [(p["months_since_placement"], p["recovered_amount"], p["liquidation_rate"])
            for p in curve] == [(0, "1000.00", "0.1250"), (1, "1000.00", "0.1250"),
                                (2, "1500.00", "0.1875")]


def test_the_champion_has_the_best_recovery_rate() -> None:
    reports = [{"agency_id": "AG-A", "recovery_rate": "0.2", "average_fee_rate": "0.18"},
               {"agency_id": "AG-B", "recovery_rate": "0.3", "average_fee_rate": "0.25"},
               {"agency_id": "AG-C", "recovery_rate": None, "average_fee_rate": None}]
    assert champion(reports) == "AG-B"
    assert champion(reports[2:]) is None


def test_a_report_s_days_are_days_in_its_zone() -> None:
    # Placed 2026-01-31 20:00 UTC (02-01 04:00 in Beijing); 500 paid 2026-02-28 17:00 UTC
    # (03-01 01:00 in Beijing).
    late = CaseFacts(
        case_id="c2", creditor_id="BANK", account_ref="A2", bucket="M2", currency="CNY",
        placed_amount=D("5000"), placed_at=at("2026-01-31").replace(hour=20),
        assignments=(Assignment(1, "AG-A", at("2026-01-31").replace(hour=20),
                                date(2026, 6, 30)),),
        payments=(PaymentFact("P", D("500"), "agency", at("2026-02-28").replace(hour=17),
                              "AG-A", 2, assignment=1),))

    def report(period: Period, as_of: date, zone: str) -> dict[str, object]:
        return agency_performance(agency_id="AG-A", cases=[late], promises=[], period=period,
                                  as_of=as_of, zone=ZoneInfo(zone), contracts={},
                                  currency="CNY")

    february, january = (Period(date(2026, 2, 1), date(2026, 2, 28)),
                         Period(date(2026, 1, 1), date(2026, 1, 31)))
    beijing = report(february, date(2026, 3, 1), "Asia/Shanghai")
    assert (beijing["placements"], beijing["received_amount"]) == (1, "500.00")
    assert [v["vintage"] for v in beijing["by_vintage"]] == ["2026-02"]  # type: ignore[attr-defined]
    # As of 02-28 in Beijing the money (03-01 there) has not arrived.
    assert report(february, date(2026, 2, 28), "Asia/Shanghai")["received_amount"] == "0.00"
    # In UTC the placement is January's, and the money arrived on 02-28.
    assert report(february, date(2026, 3, 1), "UTC")["placements"] == 0
    utc = report(january, date(2026, 2, 28), "UTC")
    assert (utc["placements"], utc["received_amount"]) == (1, "500.00")
