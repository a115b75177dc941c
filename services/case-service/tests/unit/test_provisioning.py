"""The provisioning report's pure parts: a bucket line's provision, and the CSV form."""

from __future__ import annotations

from decimal import Decimal

import pytest
from case_service.application.aging import (
    PROVISIONING_CSV_HEADER,
    provision,
    provisioning_csv,
)


@pytest.mark.parametrize(("outstanding", "rate", "currency", "expected"), [
    ("1020.50", "0.05", "CNY", "51.03"),     # 51.025: half-up, not half-even (51.02)
    ("1687.17", "0.25", "CNY", "421.79"),    # 421.7925
    ("820.50", "0.25", "USD", "205.13"),     # 205.125
    ("1000.00", "1", "CNY", "1000.00"),
    ("12345", "0.125", "JPY", "1543"),       # 1543.125: JPY has no minor unit
    ("10.005", "0.5", "KWD", "5.003"),       # 5.0025: KWD has three places
    ("1020.50", None, "CNY", "0.00"),        # no rate: nothing provisioned
    ("0", "0.5", "CNY", "0.00"),
])
def test_a_line_s_provision_is_outstanding_times_rate_rounded_half_up_to_the_minor_unit(
        outstanding: str, rate: str | None, currency: str, expected: str) -> None:
    found = provision(Decimal(outstanding), None if rate is None else Decimal(rate), currency)
    assert str(found) == expected


def test_rounding_happens_once_per_line_not_per_case() -> None:
    # Two cases of 0.10 at 5%: 0.005 each would round to 0.01 + 0.01; the line is 0.01.
    assert provision(Decimal("0.10") + Decimal("0.10"), Decimal("0.05"), "CNY") == Decimal(
        "0.01")


def _row(bucket: str, cases: int, outstanding: str, rate: str | None, provided: str
         ) -> dict[str, object]:
    return {"bucket": bucket, "cases": cases, "outstanding": outstanding, "rate": rate,
            "provision": provided}


def test_the_csv_has_a_header_then_the_lines_and_totals_of_each_currency_then_each_agency(
        ) -> None:
    totals = {"cases": 2, "outstanding": "1520.50", "provision": "551.03",
              "coverage_ratio": "0.3624"}
    report = {
        "creditor_id": "BANK1", "as_of": "2026-03-10", "timezone": "Asia/Shanghai",
        "rules_version": 4, "currencies": [{
            "currency": "CNY",
            "rows": [_row("current", 0, "0.00", None, "0.00"),
                     _row("M1", 1, "1020.50", "0.05", "51.03"),
                     _row("M4+", 1, "500.00", "1", "500.00")],
            "totals": totals,
            "by_agency": [{"agency_id": "催收,一部", **totals, "rows": [
                _row("M1", 1, "1020.50", "0.05", "51.03"),
                _row("M4+", 1, "500.00", "1", "500.00")]}],
        }]}
    lines = provisioning_csv(report).split("\r\n")
    head = "BANK1,2026-03-10,Asia/Shanghai,4,CNY"
    assert lines == [
        ",".join(PROVISIONING_CSV_HEADER),
        f"{head},,current,0,0.00,,0.00",
        f"{head},,M1,1,1020.50,0.05,51.03",
        f"{head},,M4+,1,500.00,1,500.00",
        f"{head},,total,2,1520.50,0.3624,551.03",
        f'{head},"催收,一部",M1,1,1020.50,0.05,51.03',
        f'{head},"催收,一部",M4+,1,500.00,1,500.00',
        f'{head},"催收,一部",total,2,1520.50,0.3624,551.03',
        "",
    ]


def test_an_empty_book_is_just_the_header() -> None:
    report = {"creditor_id": "BANK2", "as_of": "2026-03-10", "timezone": "UTC",
              "rules_version": 0, "currencies": []}
    assert provisioning_csv(report) == ",".join(PROVISIONING_CSV_HEADER) + "\r\n"
