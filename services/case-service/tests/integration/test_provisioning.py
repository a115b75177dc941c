"""The provisioning report over HTTP, on both backends (docs/provisioning.md works this
example through).

BANK1's days are Asia/Shanghai's (its rules state no zone). Its book, placed on 1 March 2026
with the default scheme (M1 1-30, M2 31-60, M3 61-90, M4+ 91+), every account CNY 20.50 of
interest on top of its principal:

- A: DPD 20 with AG-A, 1020.50; pays 100.00 at 01:00 on 11 March in Shanghai (still 10 March
  in UTC) and 400.00 on 20 March;
- B: DPD 50 with AG-A, 2020.50; pays 333.33 on 5 March;
- C: DPD 80 with AG-B, 3020.50; pays 20.50 on 7 April (after both days);
- D: DPD 100 with AG-B, 520.50; recalled on 8 March, closed as recalled on 2 April (it still
  owes the creditor);
- E: DPD 10 with AG-A, 1020.50; paid in full on 3 March and closed on 4 March (left out);
- F: DPD 40 with AG-A, USD 820.50; paid in full on 25 March, closed on 8 April;
- G: DPD 5 with AG-A, 1020.50, placed on 5 April.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

RATES = {"M1": "0.05", "M2": "0.25", "M3": "0.5", "M4+": "1", "M9": "0.9"}


class _Fixed:
    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at


def _place(as_: Any, row: Any, ref: str, **extra: Any) -> str:
    response = as_("bank1").post("/v1/placements", json={
        "placement_ref": f"P-{ref}", "accounts": [row(ref, **extra)]})
    assert response.status_code == 201, response.text
    assert response.json()["accepted"], response.text
    case_id: str = response.json()["accepted"][0]["case_id"]
    return case_id


def _post(as_: Any, path: str, body: dict[str, Any]) -> None:
    response = as_("bank1").post(path, json=body)
    assert response.status_code == 201, response.text


def _pay(as_: Any, case_id: str, reference: str, amount: str, at: str,
         currency: str = "CNY") -> None:
    _post(as_, f"/v1/cases/{case_id}/payments", {
        "reference": reference, "amount": amount, "currency": currency,
        "source": "creditor_direct", "received_at": at})


@pytest.fixture
def book(as_: Any, row: Any, application: Any) -> dict[str, str]:
    """BANK1's book as the module docstring tells it; the clock ends on 10 April 2026."""
    application.clock = _Fixed(datetime(2026, 2, 20, 2, 0, tzinfo=UTC))
    rules = as_("bank1").put("/v1/creditors/BANK1/allocation-rules", json={
        "buckets": {}, "provision_rates": RATES})
    assert rules.status_code == 200, rules.text
    application.clock = _Fixed(datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    ids = {
        "A": _place(as_, row, "PV-A", dpd=20),
        "B": _place(as_, row, "PV-B", dpd=50, principal="2000.00"),
        "C": _place(as_, row, "PV-C", dpd=80, principal="3000.00", agency="AG-B"),
        "D": _place(as_, row, "PV-D", dpd=100, principal="500.00", agency="AG-B"),
        "E": _place(as_, row, "PV-E", dpd=10),
        "F": _place(as_, row, "PV-F", dpd=40, principal="800.00", currency="USD"),
    }
    _pay(as_, ids["A"], "A-1", "100.00", "2026-03-10T17:00:00+00:00")
    _pay(as_, ids["A"], "A-2", "400.00", "2026-03-20T03:00:00+00:00")
    _pay(as_, ids["B"], "B-1", "333.33", "2026-03-05T03:00:00+00:00")
    _pay(as_, ids["C"], "C-1", "20.50", "2026-04-07T03:00:00+00:00")
    _post(as_, f"/v1/cases/{ids['D']}/recall", {
        "reason": "rotation", "recalled_at": "2026-03-08T02:00:00+00:00"})
    _pay(as_, ids["E"], "E-1", "1020.50", "2026-03-03T03:00:00+00:00")
    _pay(as_, ids["F"], "F-1", "820.50", "2026-03-25T03:00:00+00:00", currency="USD")
    application.clock = _Fixed(datetime(2026, 4, 5, 2, 0, tzinfo=UTC))
    ids["G"] = _place(as_, row, "PV-G", dpd=5)
    application.clock = _Fixed(datetime(2026, 4, 10, 2, 0, tzinfo=UTC))
    _post(as_, f"/v1/cases/{ids['E']}/closure", {
        "reason": "paid_in_full", "closed_at": "2026-03-04T03:00:00+00:00"})
    _post(as_, f"/v1/cases/{ids['D']}/closure", {
        "reason": "recalled", "closed_at": "2026-04-02T03:00:00+00:00"})
    _post(as_, f"/v1/cases/{ids['F']}/closure", {
        "reason": "paid_in_full", "closed_at": "2026-04-08T03:00:00+00:00"})
    return ids


def _report(as_: Any, as_of: str, who: str = "bank1", **params: str) -> Any:
    return as_(who).get("/v1/creditors/BANK1/provisioning", params={"as_of": as_of, **params})


def _lines(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {r["bucket"]: (r["cases"], r["outstanding"], r["rate"], r["provision"])
            for r in rows}


def _agencies(block: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {a["agency_id"]: (a["cases"], a["outstanding"], a["provision"], a["coverage_ratio"],
                             [r["bucket"] for r in a["rows"]]) for a in block["by_agency"]}


def test_the_provision_on_10_march_is_each_bucket_s_balance_times_its_rate(
        as_: Any, book: dict[str, str]) -> None:
    response = _report(as_, "2026-03-10")
    assert response.status_code == 200, response.text
    report = response.json()
    assert {k: report[k] for k in ("creditor_id", "as_of", "timezone", "rules_version",
                                   "rules_in_force_at", "bucket_order", "unrated_buckets",
                                   "rates_without_bucket", "closed_left_out")} == {
        "creditor_id": "BANK1", "as_of": "2026-03-10", "timezone": "Asia/Shanghai",
        "rules_version": 1, "rules_in_force_at": "2026-03-10T16:00:00+00:00",
        "bucket_order": ["paid", "current", "M1", "M2", "M3", "M4+"],
        "unrated_buckets": ["current"], "rates_without_bucket": ["M9"],
        "closed_left_out": {"paid_in_full": 1}}
    cny, usd = report["currencies"]
    assert (cny["currency"], usd["currency"]) == ("CNY", "USD")
    # A at DPD 29 (its 100.00 came on 11 March in Shanghai), B at 59 less 333.33, C at 89, D
    # at 109 (recalled, so the creditor's); E closed as paid in full: left out.
    assert _lines(cny["rows"]) == {
        "paid": (0, "0.00", None, "0.00"),
        "current": (0, "0.00", None, "0.00"),
        "M1": (1, "1020.50", "0.05", "51.03"),     # 51.025, half-up
        "M2": (1, "1687.17", "0.25", "421.79"),    # 421.7925
        "M3": (1, "3020.50", "0.5", "1510.25"),
        "M4+": (1, "520.50", "1", "520.50"),
    }
    assert [r["bucket"] for r in cny["rows"]] == report["bucket_order"]
    assert cny["totals"] == {"cases": 4, "outstanding": "6248.67", "provision": "2503.57",
                             "coverage_ratio": "0.4007"}
    assert _agencies(cny) == {
        "AG-A": (2, "2707.67", "472.82", "0.1746", ["M1", "M2"]),
        "AG-B": (1, "3020.50", "1510.25", "0.5000", ["M3"]),
        "creditor": (1, "520.50", "520.50", "1.0000", ["M4+"]),
    }
    assert _lines(usd["rows"])["M2"] == (1, "820.50", "0.25", "205.13")  # 205.125, half-up
    assert usd["totals"] == {"cases": 1, "outstanding": "820.50", "provision": "205.13",
                             "coverage_ratio": "0.2500"}


def test_the_provision_on_5_april_follows_payments_aging_and_placements(
        as_: Any, book: dict[str, str]) -> None:
    report = _report(as_, "2026-04-05").json()
    cny, usd = report["currencies"]
    # A at DPD 55 owing 520.50, B at 85, C at 115 (its 7 April payment not yet), D still
    # the creditor's though closed as recalled on 2 April, G placed that day at DPD 5.
    assert _lines(cny["rows"]) == {
        "paid": (0, "0.00", None, "0.00"),
        "current": (0, "0.00", None, "0.00"),
        "M1": (1, "1020.50", "0.05", "51.03"),
        "M2": (1, "520.50", "0.25", "130.13"),     # 130.125, half-up
        "M3": (1, "1687.17", "0.5", "843.59"),     # 843.585
        "M4+": (2, "3541.00", "1", "3541.00"),
    }
    assert cny["totals"] == {"cases": 5, "outstanding": "6769.17", "provision": "4565.75",
                             "coverage_ratio": "0.6745"}
    assert _agencies(cny) == {
        "AG-A": (3, "3228.17", "1024.75", "0.3174", ["M1", "M2", "M3"]),
        "AG-B": (1, "3020.50", "3020.50", "1.0000", ["M4+"]),
        "creditor": (1, "520.50", "520.50", "1.0000", ["M4+"]),
    }
    # F was paid on 25 March and closed only on 8 April: in the book, owing nothing.
    assert _lines(usd["rows"])["paid"] == (1, "0.00", None, "0.00")
    assert usd["totals"] == {"cases": 1, "outstanding": "0.00", "provision": "0.00",
                             "coverage_ratio": None}
    assert report["closed_left_out"] == {"paid_in_full": 1}


def test_the_csv_has_a_header_a_bom_and_the_same_lines(
        as_: Any, book: dict[str, str]) -> None:
    response = _report(as_, "2026-03-10", format="csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="provisioning-BANK1-2026-03-10.csv"')
    assert response.content.startswith(b"\xef\xbb\xbf")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == ("creditor_id,as_of,timezone,rules_version,currency,agency_id,bucket,"
                        "cases,outstanding,rate,provision")
    head = "BANK1,2026-03-10,Asia/Shanghai,1"
    assert lines[1:8] == [
        f"{head},CNY,,paid,0,0.00,,0.00",
        f"{head},CNY,,current,0,0.00,,0.00",
        f"{head},CNY,,M1,1,1020.50,0.05,51.03",
        f"{head},CNY,,M2,1,1687.17,0.25,421.79",
        f"{head},CNY,,M3,1,3020.50,0.5,1510.25",
        f"{head},CNY,,M4+,1,520.50,1,520.50",
        f"{head},CNY,,total,4,6248.67,0.4007,2503.57",
    ]
    assert f"{head},CNY,AG-A,total,2,2707.67,0.1746,472.82" in lines
    assert f"{head},CNY,creditor,M4+,1,520.50,1,520.50" in lines
    assert lines[-1] == f"{head},USD,AG-A,total,1,820.50,0.2500,205.13"


def test_only_the_creditor_itself_an_admin_or_an_auditor_sees_the_report(
        as_: Any, book: dict[str, str]) -> None:
    assert _report(as_, "2026-03-10", "bank2").status_code == 403
    assert _report(as_, "2026-03-10", "agency_a").status_code == 403
    for who in ("admin", "auditor"):
        seen = _report(as_, "2026-03-10", who)
        assert seen.status_code == 200, seen.text
        assert seen.json()["currencies"][0]["totals"]["provision"] == "2503.57"
    own = as_("bank2").get("/v1/creditors/BANK2/provisioning", params={"as_of": "2026-03-10"})
    assert own.status_code == 200, own.text
    assert own.json()["currencies"] == []  # BANK1's cases are not in BANK2's book


@pytest.mark.parametrize(("params", "path", "code"), [
    ({"as_of": "2026-13-01"}, "query.as_of", "validation_error"),
    ({"as_of": "10/03/2026"}, "query.as_of", "validation_error"),
    ({}, "query.as_of", "validation_error"),
    ({"as_of": "2026-04-11"}, "query.as_of", "invalid_as_of"),  # the creditor's tomorrow
    ({"as_of": "2026-03-10", "format": "xlsx"}, "query.format", "validation_error"),
])
def test_a_bad_or_future_day_is_refused_with_its_field_path(
        as_: Any, book: dict[str, str], params: dict[str, str], path: str, code: str) -> None:
    response = as_("bank1").get("/v1/creditors/BANK1/provisioning", params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert [f["path"] for f in error["fields"]] == [path]


def test_the_creditor_s_today_may_be_reported(as_: Any, book: dict[str, str]) -> None:
    assert _report(as_, "2026-04-10").status_code == 200


def test_a_past_day_keeps_the_rates_in_force_then_and_today_takes_the_new_ones(
        as_: Any, book: dict[str, str], application: Any) -> None:
    before = _report(as_, "2026-04-05").json()
    application.clock = _Fixed(datetime(2026, 4, 10, 3, 0, tzinfo=UTC))
    changed = as_("bank1").put("/v1/creditors/BANK1/allocation-rules", json={
        "buckets": {}, "provision_rates": {**RATES, "M2": "0.4"}})
    assert changed.status_code == 200, changed.text
    again = _report(as_, "2026-04-05").json()
    assert again == before  # the rates of 5 April: version 1
    assert (again["rules_version"], again["rules_in_force_at"]) == (
        1, "2026-04-05T16:00:00+00:00")
    today = _report(as_, "2026-04-10").json()
    assert (today["rules_version"], today["rules_in_force_at"]) == (
        2, "2026-04-10T03:00:00+00:00")  # the day is not over: the rules in force now
    [m2] = [r for r in today["currencies"][0]["rows"] if r["bucket"] == "M2"]
    assert m2["rate"] == "0.4"
    application.clock = _Fixed(datetime(2026, 2, 1, 2, 0, tzinfo=UTC))
    early = _report(as_, "2026-01-31").json()  # before any rules: no rates
    assert early["rules_version"] == 0
    assert early["currencies"] == []  # nothing placed yet either
