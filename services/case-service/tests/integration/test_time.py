"""Days in the users' own zones, over HTTP, on both backends (docs/time.md).

BANK1's rules state no zone, so its days are the service's default zone's (Asia/Shanghai);
a creditor can state its own; UTC days are a choice like any other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def place(as_: Any, row: Any, ref: str, **extra: Any) -> dict[str, Any]:
    response = as_("bank1").post("/v1/placements", json={
        "placement_ref": f"P-{ref}", "accounts": [row(ref, **extra)]})
    assert response.status_code == 201, response.text
    receipt: dict[str, Any] = response.json()
    return receipt


def test_facts_dated_before_the_placement_are_recorded_and_flagged(
        as_: Any, row: Any, placed: str) -> None:
    placed_at = datetime.fromisoformat(as_("bank1").get(f"/v1/cases/{placed}").json()[
        "placed_at"])
    before = (placed_at - timedelta(hours=3)).isoformat()
    contact = as_("agency_a").post(f"/v1/cases/{placed}/contacts", json={
        "contact_id": "early-1", "channel": "phone", "party": "debtor",
        "outcome": "conversation", "action_code": "PTP", "occurred_at": before})
    assert contact.status_code == 201, contact.text
    paid = as_("bank1").post(f"/v1/cases/{placed}/payments", json={
        "reference": "DIRECT-EARLY", "amount": "20.50", "currency": "CNY",
        "source": "creditor_direct", "received_at": before})
    assert paid.status_code == 201, paid.text
    history = as_("auditor").get(f"/v1/cases/{placed}/history").json()["events"]
    flags = {e["type"]: e["data"]["flags"] for e in history
             if e["type"] in ("Contacted", "PaymentReceived")}
    assert flags == {"Contacted": ["before_placement"],
                     "PaymentReceived": ["before_placement"]}


def test_a_placement_term_and_aging_start_on_the_creditor_s_day(
        as_: Any, row: Any, application: Any) -> None:
    # 20:00 UTC is already the next day in Shanghai, the default zone.
    application.clock = _Fixed(datetime(2026, 6, 30, 20, 0, tzinfo=UTC))
    receipt = place(as_, row, "LATE-UTC", dpd=10)
    case_id = receipt["accepted"][0]["case_id"]
    case = application.get_case(_uuid(case_id))
    assert (case.creditor_timezone, case.delinquent_since.isoformat()) == (
        "Asia/Shanghai", "2026-06-21")  # 1 July in Shanghai less 10 days
    assert case.term_end.isoformat() == "2027-07-01"  # 365 days from 1 July


def test_a_creditor_can_keep_utc_days(as_: Any, row: Any, application: Any) -> None:
    rules = as_("bank1").put("/v1/creditors/BANK1/allocation-rules", json={
        "buckets": {}, "timezone": "UTC"})
    assert rules.status_code == 200, rules.text
    assert rules.json()["timezone"] == "UTC"
    application.clock = _Fixed(datetime(2026, 6, 30, 20, 0, tzinfo=UTC))
    case_id = place(as_, row, "UTC-DAYS", dpd=10)["accepted"][0]["case_id"]
    case = application.get_case(_uuid(case_id))
    assert (case.creditor_timezone, case.delinquent_since.isoformat()) == ("UTC", "2026-06-20")


def test_an_unknown_time_zone_is_refused_with_its_field_path(as_: Any) -> None:
    response = as_("bank1").put("/v1/creditors/BANK1/allocation-rules", json={
        "buckets": {}, "timezone": "Mars/Olympus"})
    assert response.status_code == 422
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["body.timezone"]


class _Fixed:
    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at


def _uuid(text: str) -> Any:
    from uuid import UUID

    return UUID(text)


def _clock(application: Any, at: datetime) -> None:
    application.clock = _Fixed(at)


def test_dpd_ages_and_the_case_list_filters_by_the_bucket_today(
        as_: Any, row: Any, application: Any) -> None:
    _clock(application, datetime(2026, 3, 1, 2, 0, tzinfo=UTC))  # 10:00 on 1 March, Shanghai
    ids = {ref: place(as_, row, ref, dpd=dpd)["accepted"][0]["case_id"]
           for ref, dpd in (("YOUNG", 20), ("OLDER", 50), ("OLDEST", 85))}
    paid = as_("bank1").post(f"/v1/cases/{ids['OLDER']}/payments", json={
        "reference": "ALL", "amount": "1020.50", "currency": "CNY",
        "source": "creditor_direct", "received_at": "2026-03-01T03:00:00+00:00"})
    assert paid.status_code == 201, paid.text
    # A month later (31 March in Shanghai): 20 -> 50 DPD (M2), 85 -> 115 (M4+), OLDER paid.
    _clock(application, datetime(2026, 3, 31, 2, 0, tzinfo=UTC))

    def listed(**params: Any) -> Any:
        response = as_("bank1").get("/v1/cases", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    everything = {i["case_id"]: (i["bucket"], i["dpd_today"], i["bucket_today"])
                  for i in listed()["items"]}
    assert everything == {ids["YOUNG"]: ("M1", 50, "M2"), ids["OLDER"]: ("M2", 0, "paid"),
                          ids["OLDEST"]: ("M3", 115, "M4+")}
    page = listed(current_bucket="M2")
    assert [i["case_id"] for i in page["items"]] == [ids["YOUNG"]]
    assert page["current_bucket"] == {"on": "2026-03-31", "timezone": "Asia/Shanghai"}
    assert [i["case_id"] for i in listed(current_bucket="paid")["items"]] == [ids["OLDER"]]
    assert [i["case_id"] for i in listed(current_bucket="M4+")["items"]] == [ids["OLDEST"]]
    view = as_("bank1").get(f"/v1/cases/{ids['OLDEST']}").json()
    assert view["aging"] == {"on": "2026-03-31", "timezone": "Asia/Shanghai", "dpd": 115,
                             "bucket": "M4+"}
    wrong = as_("bank1").get("/v1/cases", params={"current_bucket": "M9"})
    assert wrong.status_code == 422
    assert [f["path"] for f in wrong.json()["error"]["fields"]] == ["query.current_bucket"]


def test_roll_rates_show_where_each_bucket_went_by_agency(
        as_: Any, row: Any, application: Any) -> None:
    _clock(application, datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    young = place(as_, row, "R-YOUNG", dpd=20)["accepted"][0]["case_id"]
    place(as_, row, "R-YOUNG2", dpd=25)
    place(as_, row, "R-OLD", dpd=70, agency="AG-B")
    paid = as_("bank1").post(f"/v1/cases/{young}/payments", json={
        "reference": "ALL", "amount": "1020.50", "currency": "CNY",
        "source": "creditor_direct", "received_at": "2026-03-20T03:00:00+00:00"})
    assert paid.status_code == 201, paid.text
    _clock(application, datetime(2026, 5, 1, tzinfo=UTC))
    response = as_("bank1").get("/v1/creditors/BANK1/roll-rates",
                                params={"from": "2026-03-02", "to": "2026-03-31"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["timezone"], report["from"], report["to"]) == (
        "Asia/Shanghai", "2026-03-02", "2026-03-31")
    by_agency = {a["agency_id"]: {b["bucket"]: (b["cases"], b["to"], b["roll_forward_rate"],
                                                b["cure_rate"]) for b in a["buckets"]}
                 for a in report["agencies"]}
    # At the start (1 March ended): 21 and 26 DPD (M1) with AG-A, 71 (M3) with AG-B. At the
    # end of 31 March: one M1 case paid, the other rolled to M2 (56); the M3 one to M4+ (101).
    assert by_agency == {
        "AG-A": {"M1": (2, {"paid": 1, "M2": 1}, "0.5000", "0.5000")},
        "AG-B": {"M3": (1, {"M4+": 1}, "1.0000", "0.0000")},
    }
    assert as_("bank2").get("/v1/creditors/BANK1/roll-rates", params={
        "from": "2026-03-02", "to": "2026-03-31"}).status_code == 403
