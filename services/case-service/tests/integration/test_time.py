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
