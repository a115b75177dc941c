"""The case API end to end in-process, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

NOW = datetime.now(UTC)


def iso(delta_minutes: int = 0) -> str:
    """An instant relative to now (facts dated before a case's placement are flagged)."""
    return (datetime.now(UTC) + timedelta(minutes=delta_minutes)).isoformat()


def contact(contact_id: str, **extra: Any) -> dict[str, Any]:
    return {"contact_id": contact_id, "channel": "phone", "party": "debtor",
            "outcome": "conversation", "action_code": "PTP", "occurred_at": iso(), **extra}


# ------------------------------------------------------------------------------ placements


def test_placement_opens_cases_and_acknowledges_within_the_hour(as_: Any, row: Any) -> None:
    response = as_("bank1").post("/v1/placements", json={
        "placement_ref": "P1", "accounts": [row("A1"), row("A2")]})
    assert response.status_code == 201
    receipt = response.json()
    assert receipt["counts"] == {"received": 2, "placed": 2, "already_placed": 0, "rejected": 0}
    assert receipt["acknowledged_within_deadline"] is True
    received = datetime.fromisoformat(receipt["received_at"])
    assert datetime.fromisoformat(receipt["acknowledge_by"]) == received + timedelta(hours=1)
    assert datetime.fromisoformat(receipt["acknowledged_at"]) >= received
    case_id = receipt["accepted"][0]["case_id"]
    case = as_("bank1").get(f"/v1/cases/{case_id}").json()
    assert case["status"] == "placed"
    assert case["outstanding"] == "1020.50"
    assert case["bucket"] == "M2"
    assert as_("bank1").get("/v1/placements/P1").json()["request_sha256"] == \
        receipt["request_sha256"]


def test_reposting_a_placement_returns_the_same_receipt_and_no_new_cases(
        as_: Any, row: Any, application: Any) -> None:
    body = {"placement_ref": "P1", "accounts": [row("A1"), row("A2")]}
    first = as_("bank1").post("/v1/placements", json=body)
    events_before = application.last_position()
    second = as_("bank1").post("/v1/placements", json=body)
    assert second.status_code == 200
    assert second.headers["idempotent-replay"] == "true"
    assert second.json() == first.json()
    assert application.last_position() == events_before


def test_placement_reference_reused_for_other_accounts_is_a_conflict(as_: Any, row: Any) -> None:
    as_("bank1").post("/v1/placements", json={"placement_ref": "P1", "accounts": [row("A1")]})
    response = as_("bank1").post("/v1/placements", json={"placement_ref": "P1",
                                                         "accounts": [row("A9")]})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "placement_conflict"


def test_an_account_placed_again_in_another_placement_is_not_duplicated(
        as_: Any, row: Any) -> None:
    first = as_("bank1").post("/v1/placements", json={"placement_ref": "P1",
                                                      "accounts": [row("A1")]}).json()
    second = as_("bank1").post("/v1/placements", json={"placement_ref": "P2",
                                                       "accounts": [row("A1"), row("A2")]}).json()
    assert second["counts"]["already_placed"] == 1
    assert second["accepted"][0]["case_id"] == first["accepted"][0]["case_id"]
    assert second["accepted"][0]["outcome"] == "already_placed"
    listed = as_("bank1").get("/v1/cases").json()["items"]
    assert sorted(c["account_ref"] for c in listed) == ["A1", "A2"]


def test_same_account_reference_for_two_creditors_makes_two_cases(as_: Any, row: Any) -> None:
    a = as_("bank1").post("/v1/placements", json={"placement_ref": "P", "accounts": [row("A1")]})
    b = as_("bank2").post("/v1/placements", json={"placement_ref": "P", "accounts": [row("A1")]})
    assert a.json()["accepted"][0]["case_id"] != b.json()["accepted"][0]["case_id"]


def test_bad_rows_are_rejected_with_index_and_field_paths_while_good_rows_are_placed(
        as_: Any, row: Any) -> None:
    bad_amount = row("B1", principal="-5")
    bad_currency = row("B2", currency="XYZ")
    missing_debtor = {k: v for k, v in row("B3").items() if k != "debtor"}
    bad_zone = row("B4")
    bad_zone["debtor"]["timezone"] = "Mars/Olympus"
    response = as_("bank1").post("/v1/placements", json={"placement_ref": "P1", "accounts": [
        row("G1"), bad_amount, bad_currency, missing_debtor, bad_zone, row("G1"), "not a row"]})
    assert response.status_code == 201
    receipt = response.json()
    assert receipt["counts"]["placed"] == 1
    rejected = {r["index"]: r for r in receipt["rejected"]}
    assert set(rejected) == {1, 2, 3, 4, 5, 6}
    assert rejected[1]["errors"][0]["path"] == "balances.principal"
    assert "currency" in rejected[2]["errors"][0]["message"]
    assert rejected[3]["errors"][0]["path"] == "debtor"
    assert rejected[4]["errors"][0]["path"] == "debtor.timezone"
    assert "twice" in rejected[5]["errors"][0]["message"]
    assert rejected[6]["account_ref"] is None


def test_accounts_without_agency_follow_the_weighted_allocation_rules(as_: Any, row: Any) -> None:
    rules = {"buckets": {"M2": [{"agency_id": "AG-A", "weight": 80},
                                {"agency_id": "AG-B", "weight": 20}]}}
    put = as_("bank1").put("/v1/creditors/BANK1/allocation-rules", json=rules)
    assert put.status_code == 200
    assert put.json()["version"] == 1
    accounts = [row(f"A{i}", agency=None) for i in range(1000)] + [row("M4", agency=None, dpd=200)]
    receipt = as_("bank1").post("/v1/placements", json={"placement_ref": "P1",
                                                        "accounts": accounts}).json()
    agencies = [r["agency_id"] for r in receipt["accepted"]]
    share_a = agencies.count("AG-A") / len(agencies)
    assert 0.75 < share_a < 0.85
    assert receipt["rejected"][0]["errors"][0]["path"] == "agency_id"
    assert "M4+" in receipt["rejected"][0]["errors"][0]["message"]


# ------------------------------------------------------------------------------ commands


def test_case_lifecycle_through_the_api(as_: Any, placed: str) -> None:
    agency, bank = as_("agency_a"), as_("bank1")
    assert agency.post(f"/v1/cases/{placed}/contacts", json=contact("c1")).status_code == 201
    due = (NOW + timedelta(days=7)).date().isoformat()
    r = agency.post(f"/v1/cases/{placed}/promises",
                    json={"promise_id": "ptp1", "amount": "300", "due_date": due})
    assert r.json()["status"] == "promised"
    r = agency.post(f"/v1/cases/{placed}/payments", json={
        "reference": "PAY-1", "amount": "300.00", "received_at": iso()})
    assert r.json()["events"] == ["PaymentReceived", "PromiseKept"]
    assert r.json()["outstanding"] == "720.50"
    r = bank.post(f"/v1/cases/{placed}/payments", json={
        "reference": "BANK-7", "amount": "720.50", "received_at": iso(),
        "source": "creditor_direct"})
    assert r.json()["outstanding"] == "0.00"
    r = bank.post(f"/v1/cases/{placed}/closure", json={"reason": "paid_in_full"})
    assert r.status_code == 201
    assert r.json()["status"] == "closed"
    refused = agency.post(f"/v1/cases/{placed}/promises",
                          json={"promise_id": "ptp2", "amount": "1", "due_date": due})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "case_closed"


def test_stale_expected_version_gets_409_with_the_current_version(as_: Any, placed: str) -> None:
    agency = as_("agency_a")
    ok = agency.post(f"/v1/cases/{placed}/contacts", json=contact("c1", expected_version=1))
    assert ok.json()["version"] == 2
    stale = agency.post(f"/v1/cases/{placed}/contacts", json=contact("c2", expected_version=1))
    assert stale.status_code == 409
    assert stale.json()["error"]["current_version"] == 2


def test_payments_are_idempotent_by_reference(as_: Any, placed: str) -> None:
    agency = as_("agency_a")
    body = {"reference": "PAY-1", "amount": "100", "received_at": iso()}
    assert agency.post(f"/v1/cases/{placed}/payments", json=body).status_code == 201
    again = agency.post(f"/v1/cases/{placed}/payments", json=body)
    assert again.status_code == 200
    assert again.json()["recorded"] is False
    conflict = agency.post(f"/v1/cases/{placed}/payments", json={**body, "amount": "101"})
    assert conflict.status_code == 409
    assert as_("bank1").get(f"/v1/cases/{placed}").json()["outstanding"] == "920.50"


def test_a_retried_payment_with_the_version_it_was_made_at_is_not_a_conflict(
        as_: Any, placed: str) -> None:
    agency = as_("agency_a")
    body = {"reference": "PAY-1", "amount": "100", "received_at": iso(), "expected_version": 1}
    assert agency.post(f"/v1/cases/{placed}/payments", json=body).status_code == 201
    retry = agency.post(f"/v1/cases/{placed}/payments", json=body)  # the answer was lost
    assert retry.status_code == 200
    assert retry.json()["recorded"] is False
    other = agency.post(f"/v1/cases/{placed}/payments", json={**body, "reference": "PAY-2"})
    assert other.status_code == 409
    assert other.json()["error"]["current_version"] == 2


def test_reversal_of_unknown_payment_is_refused_and_known_one_restores_balance(
        as_: Any, placed: str) -> None:
    agency = as_("agency_a")
    unknown = agency.post(f"/v1/cases/{placed}/payments/NOPE/reversal", json={"reason": "x"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_payment"
    agency.post(f"/v1/cases/{placed}/payments", json={"reference": "P1", "amount": "100",
                                                      "received_at": iso()})
    r = as_("bank1").post(f"/v1/cases/{placed}/payments/P1/reversal", json={"reason": "bounced"})
    assert r.json()["outstanding"] == "1020.50"


def test_escalation_after_recall_is_refused_and_agency_loses_sight_of_the_case(
        as_: Any, placed: str) -> None:
    assert as_("bank1").post(f"/v1/cases/{placed}/recall",
                             json={"reason": "rotation"}).status_code == 201
    refused = as_("admin").post(f"/v1/cases/{placed}/escalations",
                                json={"kind": "legal", "reason": "no contact"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "case_recalled"
    assert as_("agency_a").get(f"/v1/cases/{placed}").status_code == 404
    moved = as_("bank1").post(f"/v1/cases/{placed}/reassignment",
                              json={"to_agency_id": "AG-B", "reason": "second placement"})
    assert moved.status_code == 201
    assert as_("agency_b").get(f"/v1/cases/{placed}").status_code == 200


def test_contact_after_cease_contact_is_recorded_and_flagged(as_: Any, placed: str) -> None:
    agency = as_("agency_a")
    agency.post(f"/v1/cases/{placed}/cease-contact", json={"channel": "written"})
    r = agency.post(f"/v1/cases/{placed}/contacts", json=contact("c9"))
    assert r.status_code == 201
    history = as_("auditor").get(f"/v1/cases/{placed}/history").json()["events"]
    assert history[-1]["type"] == "Contacted"
    assert history[-1]["data"]["flags"] == ["after_cease_contact"]


# ------------------------------------------------------------------------------ security


def test_tenants_see_only_their_own_cases(as_: Any, placed: str) -> None:
    assert as_("bank2").get(f"/v1/cases/{placed}").status_code == 404
    assert as_("agency_b").get(f"/v1/cases/{placed}").status_code == 404
    assert as_("agency_b").post(f"/v1/cases/{placed}/contacts",
                                json=contact("x")).status_code == 404
    assert as_("bank2").get("/v1/cases").json()["items"] == []
    assert as_("bank2").get("/v1/cases?creditor_id=BANK1").status_code == 403
    assert len(as_("agency_a").get("/v1/cases").json()["items"]) == 1


def test_auditors_read_everything_and_write_nothing(as_: Any, placed: str) -> None:
    assert as_("auditor").get(f"/v1/cases/{placed}").status_code == 200
    r = as_("auditor").post(f"/v1/cases/{placed}/contacts", json=contact("c1"))
    assert r.status_code == 403
    assert as_("auditor").post("/v1/placements", json={
        "creditor_id": "BANK1", "placement_ref": "X", "accounts": [{}]}).status_code == 403


def test_national_id_is_masked_for_everyone_but_auditors(as_: Any, placed: str) -> None:
    for name in ("bank1", "agency_a", "admin"):
        debtor = as_(name).get(f"/v1/cases/{placed}").json()["debtor"]
        assert debtor["national_id"].startswith("**************")
        assert debtor["name"] == "张三"
    debtor = as_("auditor").get(f"/v1/cases/{placed}").json()["debtor"]
    assert debtor["national_id"].startswith("110101")


def test_pii_is_encrypted_at_rest(as_: Any, placed: str, insider: Any) -> None:
    with insider.transaction() as cur:
        states = [bytes(r["state"]) for r in cur.execute(
            f"SELECT state FROM {insider.events_table}").fetchall()]
    blob = b"".join(states)
    assert "张三".encode() not in blob
    assert b"1101011990" not in blob
    assert b"138 0000" not in blob
    assert b"pii1:" in blob


def test_erasing_a_debtor_key_makes_pii_unreadable_but_keeps_the_case(
        as_: Any, placed: str, application: Any) -> None:
    debtor_id = as_("auditor").get(f"/v1/cases/{placed}").json()["debtor"]["debtor_id"]
    assert application.vault.erase(debtor_id) is True
    case = as_("auditor").get(f"/v1/cases/{placed}").json()
    assert case["debtor"] == {"debtor_id": debtor_id, "timezone": "Asia/Shanghai",
                              "erased": True}
    assert case["outstanding"] == "1020.50"


def test_missing_and_unknown_keys_get_401(client: Any, placed: str) -> None:
    assert client.get(f"/v1/cases/{placed}").status_code == 401
    r = client.get(f"/v1/cases/{placed}", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"
    assert client.get("/v1/events", headers={"X-API-Key": "nope"}).status_code == 401


# ------------------------------------------------------------------------------ queries


def test_case_list_filters_and_pages(as_: Any, row: Any) -> None:
    accounts = [row(f"A{i}", agency="AG-A" if i % 2 else "AG-B", dpd=10 if i < 4 else 45)
                for i in range(10)]
    as_("bank1").post("/v1/placements", json={"placement_ref": "P", "accounts": accounts})
    admin = as_("admin")
    page = admin.get("/v1/cases?creditor_id=BANK1&limit=4").json()
    seen = [c["account_ref"] for c in page["items"]]
    while page["next_cursor"] is not None:
        page = admin.get(f"/v1/cases?creditor_id=BANK1&limit=4&cursor={page['next_cursor']}").json()
        seen += [c["account_ref"] for c in page["items"]]
    assert seen == [f"A{i}" for i in range(10)]
    m1_b = admin.get("/v1/cases?bucket=M1&agency_id=AG-B").json()["items"]
    assert sorted(c["account_ref"] for c in m1_b) == ["A0", "A2"]
    assert admin.get("/v1/cases?status=placed").json()["items"][0]["status"] == "placed"
    assert admin.get("/v1/cases?status=bogus").status_code == 422


def test_history_lists_every_event_and_as_of_shows_the_past_state(
        as_: Any, placed: str) -> None:
    agency = as_("agency_a")
    agency.post(f"/v1/cases/{placed}/contacts", json=contact("c1"))
    middle = datetime.now(UTC)
    agency.post(f"/v1/cases/{placed}/payments", json={"reference": "P1", "amount": "20.50",
                                                      "received_at": iso()})
    history = as_("auditor").get(f"/v1/cases/{placed}/history").json()["events"]
    assert [e["type"] for e in history] == ["Placed", "Contacted", "PaymentReceived"]
    assert [e["version"] for e in history] == [1, 2, 3]
    positions = [e["position"] for e in history]
    assert positions == sorted(positions)
    assert history[2]["actor"] == "agency:AG-A:agency_a"
    assert history[2]["data"]["amount"] == "20.50"
    past = as_("bank1").get(f"/v1/cases/{placed}/history",
                            params={"as_of": middle.isoformat()}).json()
    assert [e["type"] for e in past["events"]] == ["Placed", "Contacted"]
    assert past["state"]["outstanding"] == "1020.50"
    now_state = as_("bank1").get(f"/v1/cases/{placed}").json()
    assert now_state["outstanding"] == "1000.00"
    before = as_("bank1").get(f"/v1/cases/{placed}",
                              params={"as_of": (NOW - timedelta(days=1)).isoformat()})
    assert before.status_code == 404


def test_event_feed_is_ordered_and_resumable(as_: Any, row: Any) -> None:
    as_("bank1").post("/v1/placements", json={"placement_ref": "P",
                                              "accounts": [row(f"A{i}") for i in range(5)]})
    auditor = as_("auditor")
    first = auditor.get("/v1/events?after=0&limit=3").json()
    rest = auditor.get(f"/v1/events?after={first['last_position']}&limit=100").json()
    events = first["events"] + rest["events"]
    assert len(events) == 5
    assert [e["position"] for e in events] == sorted({e["position"] for e in events})
    assert all(e["type"] == "Placed" and e["version"] == 1 for e in events)
    assert "debtor_pii" not in events[0]["payload"]
    assert as_("bank1").get("/v1/events").status_code == 403
    empty = auditor.get(f"/v1/events?after={rest['last_position']}&wait=0.2").json()
    assert empty == {"events": [], "last_position": rest["last_position"],
                     "head_position": rest["last_position"]}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_endpoints_answer_without_a_key(client: Any, path: str) -> None:
    assert client.get(path).status_code == 200


def test_the_number_dialled_never_leaves_the_service_in_clear(as_: Any, placed: str) -> None:
    number = "+86 139-1234-5678"
    r = as_("agency_a").post(f"/v1/cases/{placed}/contacts",
                             json=contact("c-num", contact_point=number))
    assert r.status_code == 201, r.text
    feed = as_("auditor").get("/v1/events").json()["events"]
    [contacted] = [e for e in feed if e["type"] == "Contacted"]
    assert "5678" not in str({k: v for k, v in contacted["payload"].items()
                             if k != "contact_point_hint"})
    assert contacted["payload"]["contact_point_ref"].startswith("cp-")
    assert contacted["payload"]["contact_point_hint"].endswith("5678")
    assert "contact_point_sealed" not in contacted["payload"]
    # The same number (spaced differently) is the same reference: caps count it once.
    again = as_("agency_a").post(f"/v1/cases/{placed}/contacts",
                                 json=contact("c-num2", contact_point="+8613912345678"))
    assert again.status_code == 201
    refs = {e["payload"]["contact_point_ref"]
            for e in as_("auditor").get("/v1/events").json()["events"] if e["type"] == "Contacted"}
    assert len(refs) == 1

    def dialled(who: str) -> list[Any]:
        history = as_(who).get(f"/v1/cases/{placed}/history").json()["events"]
        return [e["data"].get("contact_point") for e in history if e["type"] == "Contacted"]

    assert dialled("auditor") == [number, "+8613912345678"]
    assert dialled("agency_a") == [None, None]


def test_metrics_show_latency_by_route_template_and_events_appended(as_: Any, placed: str,
                                                                    client: Any) -> None:
    as_("bank1").get(f"/v1/cases/{placed}")
    text = client.get("/metrics").text
    assert 'route="/v1/cases/{case_id}"' in text  # the template, never the raw id
    assert placed not in text
    assert 'casetrail_events_appended_total{type="Placed"}' in text
