"""Every input of issue 18 ("Reproduced on today's main") as an explicit test: each answered
500, was accepted though no consumer could use it, or broke a later request. Each now gets a
4xx in the error envelope naming the field, or a correct answer, on all three services."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from casetrail.web import DEFAULT_MAX_BODY_BYTES, MAX_JSON_DEPTH, RequestGuardMiddleware

from tests.hostile.world import World, account, ago, serve

TOO_BIG = "9223372036854775808"  # 2^63: one past the largest signed 64-bit integer
YEAR_ONE = "0001-01-01T00:00:00+01:00"  # before datetime.min once in UTC
YEAR_9999 = "9999-12-31T23:59:59-05:00"  # after datetime.max once in UTC


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.close()


@pytest.fixture
def seeded(world: World) -> dict[str, str]:
    return world.seed()


def refused(response: Any, status: int, path: str | None = None) -> dict[str, Any]:
    """Assert an error in the shared envelope, naming `path` among its fields if given."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"]
    assert error["message"]
    if path is not None:
        assert path in [f["path"] for f in error.get("fields") or []], error
    return error


# ---------------------------------------------------------------------- server errors


@pytest.mark.parametrize(("service", "path", "field"), [
    ("case", f"/v1/cases?cursor={TOO_BIG}", "query.cursor"),
    ("case", f"/v1/events?after={TOO_BIG}", "query.after"),
    ("contact", f"/v1/contacts?after={TOO_BIG}", "query.after"),
    ("contact", f"/v1/compliance/violations?after={TOO_BIG}", "query.after"),
])
def test_paging_positions_above_2_63_are_422(world: World, service: str, path: str,
                                             field: str) -> None:
    refused(world.call(service, "GET", path), 422, field)
    largest = path.replace(TOO_BIG, str(2**63 - 1))
    assert world.call(service, "GET", largest).status_code == 200


def test_contact_permission_before_the_first_pack_version_is_422(
        world: World, seeded: dict[str, str]) -> None:
    r = world.call("contact", "GET", f"/v1/cases/{seeded['case_id']}/contact-permission",
                   params={"channel": "phone", "at": "2025-06-01T00:00:00Z"})
    assert refused(r, 422, "query.at")["code"] == "pack_not_in_force"


def test_an_impossible_min_version_is_422_not_a_503_forever(
        world: World, seeded: dict[str, str]) -> None:
    path = f"/v1/cases/{seeded['case_id']}/contact-permission"
    r = world.call("contact", "GET", path, params={"channel": "phone", "min_version": 10**9})
    refused(r, 422, "query.min_version")
    soon = world.call("contact", "GET", path, params={"channel": "phone", "min_version": 5})
    assert soon.status_code == 503  # one version ahead: the projection may yet get there
    assert soon.headers["Retry-After"]


def test_the_same_policy_assignment_twice_replays_and_a_different_one_conflicts(
        world: World) -> None:
    start = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    body = {"pack_id": "us-reg-f", "effective_from": start}
    first = world.call("contact", "POST", "/v1/creditors/BANK/policy", "bank", json=body)
    assert first.status_code == 201, first.text
    again = world.call("contact", "POST", "/v1/creditors/BANK/policy", "bank", json=body)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    other = world.call("contact", "POST", "/v1/creditors/BANK/policy", "bank",
                       json={**body, "pack_id": "cn-gbt-45251-2025"})
    assert refused(other, 409)["code"] == "assignment_conflict"


def test_an_unknown_currency_on_performance_is_422(world: World) -> None:
    r = world.call("billing", "GET", "/v1/agencies/AG-A/performance",
                   params={"period": "2026-01", "currency": "AAA"})
    refused(r, 422, "query.currency")


@pytest.mark.parametrize(("service", "path", "params", "field"), [
    ("contact", "/v1/contacts", {"from": YEAR_ONE}, "query.from"),
    ("contact", "/v1/contacts", {"to": YEAR_9999}, "query.to"),
    ("contact", "/v1/compliance/violations", {"from": YEAR_ONE}, "query.from"),
    ("contact", "/v1/compliance/violations", {"to": YEAR_9999}, "query.to"),
    ("contact", "/v1/sla", {"from": YEAR_ONE}, "query.from"),
    ("contact", "/v1/sla", {"to": YEAR_9999}, "query.to"),
    ("contact", "/v1/sla", {"as_of": YEAR_9999}, "query.as_of"),
    ("contact", "/v1/worklist", {"agency_id": "AG-A", "date": "9999-12-31"}, "query.date"),
    ("contact", "/v1/agencies/AG-A/contact-kpis", {"from": YEAR_ONE, "to": YEAR_9999},
     "query.from"),
    ("billing", "/v1/agencies/AG-A/performance", {"from": "0001-01-01", "to": "9999-12-31"},
     "query.from"),
    ("billing", "/v1/agencies/AG-A/performance", {"period": "9999-12"}, "query.period"),
    ("billing", "/v1/creditors/BANK/agency-comparison", {"period": "9999-12"},
     "query.period"),
    ("case", "/v1/cases/{case_id}", {"as_of": YEAR_ONE}, "query.as_of"),
    ("case", "/v1/cases/{case_id}/history", {"as_of": YEAR_9999}, "query.as_of"),
])
def test_dates_at_the_calendar_edges_are_422_with_the_field(
        world: World, seeded: dict[str, str], service: str, path: str,
        params: dict[str, str], field: str) -> None:
    refused(world.call(service, "GET", path.format(**seeded), params=params), 422, field)


@pytest.mark.parametrize("field", ["at"])
def test_contact_permission_at_the_calendar_edges_is_422(
        world: World, seeded: dict[str, str], field: str) -> None:
    for edge in (YEAR_ONE, YEAR_9999):
        r = world.call("contact", "GET", f"/v1/cases/{seeded['case_id']}/contact-permission",
                       params={"channel": "phone", field: edge})
        refused(r, 422, f"query.{field}")


def test_a_contact_in_year_one_is_422(world: World, seeded: dict[str, str]) -> None:
    r = world.call("case", "POST", f"/v1/cases/{seeded['case_id']}/contacts", "agency", json={
        "contact_id": "C-YEAR-1", "channel": "phone", "party": "debtor",
        "outcome": "conversation", "action_code": "PTP", "occurred_at": YEAR_ONE})
    refused(r, 422, "body.occurred_at")


@pytest.mark.parametrize("service", ["case", "contact", "billing"])
def test_a_body_nested_300_arrays_deep_is_422(world: World, service: str) -> None:
    path = {"case": "/v1/placements", "contact": "/v1/qa/samples",
            "billing": "/v1/billing-runs"}[service]
    deep = b'{"placement_ref": "P", "accounts": ' + b"[" * 300 + b"]" * 300 + b"}"
    r = world.call(service, "POST", path, content=deep,
                   headers={"Content-Type": "application/json"})
    assert "deeper than" in refused(r, 422, "body")["message"]


def test_a_body_exactly_at_the_depth_limit_is_parsed(world: World) -> None:
    body = b'{"placement_ref": "P", "accounts": ' + b"[" * (MAX_JSON_DEPTH - 1) + \
        b"]" * (MAX_JSON_DEPTH - 1) + b"}"
    r = world.call("case", "POST", "/v1/placements", "bank", content=body,
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text  # depth 32: one rejected row, not a refused body
    assert r.json()["counts"]["rejected"] == 1


def test_after_an_unhandled_error_the_connection_stays_usable(world: World) -> None:
    app = world.apps["contact"]

    @app.get("/test-only/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a bug")

    with serve(app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            first = _exchange(sock, f"GET /test-only/boom HTTP/1.1\r\nHost: {host}\r\n\r\n")
            second = _exchange(sock, f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n")
    status, headers, body = first
    assert status == 500
    assert json.loads(body)["error"]["code"] == "internal_error"
    assert headers.get("x-request-id")
    assert second[0] == 200  # same socket: the server kept the connection


def _exchange(sock: socket.socket, request: str) -> tuple[int, dict[str, str], bytes]:
    sock.sendall(request.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in
               (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        rest += chunk
    return int(lines[0].split()[1]), headers, rest[:length]


# ------------------------------------------------------- accepted, but should not be


@pytest.mark.parametrize("amount", ["1_000", "\u0661\u0660\u0660", "1E-2", "1e3", " 1 000",
                                    "+5", ".5", "5.", "0x10", "Infinity", "1,000.00"])
def test_amounts_that_are_not_plain_decimals_are_422(
        world: World, seeded: dict[str, str], amount: str) -> None:
    r = world.call("case", "POST", f"/v1/cases/{seeded['case_id']}/payments", "agency",
                   json={"reference": "PAY-ODD", "amount": amount, "received_at": ago(hours=1)})
    refused(r, 422, "body.amount")
    row = account("ACC-ODD")
    row["balances"]["principal"] = amount
    placed = world.call("case", "POST", "/v1/placements", "bank",
                        json={"placement_ref": "P-ODD", "accounts": [row]})
    assert placed.status_code == 201, placed.text
    assert placed.json()["counts"]["rejected"] == 1
    contract = world.call("billing", "PUT", "/v1/contracts/BANK/AG-B", "bank", json={
        "effective_from": "2026-01-01", "rates": {"M1": amount}})
    refused(contract, 422)


def test_contacts_in_the_distant_past_are_refused_at_the_edge(
        world: World, seeded: dict[str, str]) -> None:
    for n, when in enumerate(["1900-01-01T00:00:00Z", "1999-12-31T23:59:59Z"]):
        r = world.call("case", "POST", f"/v1/cases/{seeded['case_id']}/contacts", "agency",
                       json={"contact_id": f"C-OLD-{n}", "channel": "phone", "party": "debtor",
                             "outcome": "conversation", "action_code": "PTP",
                             "occurred_at": when})
        refused(r, 422, "body.occurred_at")


def test_a_contact_before_any_policy_pack_is_logged_not_dead_lettered(
        world: World, seeded: dict[str, str]) -> None:
    """2000-01-01 is accepted by the case service, so the contact log must apply it: no
    rule was in force then, so it broke none."""
    case_id = seeded["case_id"]
    r = world.call("case", "POST", f"/v1/cases/{case_id}/contacts", "agency", json={
        "contact_id": "C-2000", "channel": "phone", "party": "debtor",
        "outcome": "conversation", "action_code": "PTP", "occurred_at": "2000-01-01T00:00:00Z"})
    assert r.status_code == 201, r.text
    world.sync()  # raises if a consumer cannot apply an event
    history = world.call("case", "GET", f"/v1/cases/{case_id}/history").json()["events"]
    logged = world.call("contact", "GET", "/v1/contacts", params={"case_id": case_id}).json()
    assert len(logged["contacts"]) == sum(e["type"] == "Contacted" for e in history) == 2
    violations = world.call("contact", "GET", "/v1/compliance/violations",
                            params={"case_id": case_id}).json()["violations"]
    assert not [v for v in violations if v["contact_id"] == "C-2000"]


def test_a_promise_due_in_9999_is_refused_and_the_furthest_due_date_keeps_the_worklist(
        world: World, seeded: dict[str, str]) -> None:
    case_id = seeded["case_id"]
    r = world.call("case", "POST", f"/v1/cases/{case_id}/promises", "agency", json={
        "promise_id": "PR-9999", "amount": "10.00", "due_date": "9999-12-31"})
    refused(r, 422, "body.due_date")
    furthest = (datetime.now(UTC) + timedelta(days=3652)).date().isoformat()
    r = world.call("case", "POST", f"/v1/cases/{case_id}/promises", "agency", json={
        "promise_id": "PR-FAR", "amount": "10.00", "due_date": furthest})
    assert r.status_code == 201, r.text
    world.sync()
    for day in (None, furthest, "2199-12-31"):
        params = {"agency_id": "AG-A"} | ({"date": day} if day else {})
        assert world.call("contact", "GET", "/v1/worklist", params=params).status_code == 200


def test_a_billing_run_for_9999_is_refused_and_blocks_nothing(
        world: World, seeded: dict[str, str]) -> None:
    r = world.call("billing", "POST", "/v1/billing-runs", "bank", json={
        "creditor_id": "BANK", "agency_id": "AG-A", "period_start": "9999-12-01",
        "period_end": "9999-12-31"})
    refused(r, 422, "body.period_start")
    next_month = (datetime.now(UTC).date().replace(day=28) + timedelta(days=7)).replace(day=1)
    r = world.call("billing", "POST", "/v1/billing-runs", "bank", json={
        "creditor_id": "BANK", "agency_id": "AG-A", "period_start": next_month.isoformat(),
        "period_end": (next_month + timedelta(days=20)).isoformat()})
    refused(r, 422)  # a period that has not begun bills nothing, and is not stored
    last_month_end = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)
    r = world.call("billing", "POST", "/v1/billing-runs", "bank", json={
        "creditor_id": "BANK", "agency_id": "AG-A",
        "period_start": last_month_end.replace(day=1).isoformat(),
        "period_end": last_month_end.isoformat()})
    assert r.status_code == 201, r.text  # after the seeded month before last: not blocked


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/placements", {"placement_ref": "a/../../etc/x", "accounts": [account("A-1")]},
     "body.placement_ref"),
    ("/v1/placements", {"placement_ref": "..", "accounts": [account("A-1")]},
     "body.placement_ref"),
    ("/v1/placements", {"placement_ref": "P%2F1", "accounts": [account("A-1")]},
     "body.placement_ref"),
])
def test_identifiers_that_are_not_url_safe_are_422(world: World, path: str,
                                                   body: dict[str, Any], field: str) -> None:
    refused(world.call("case", "POST", path, "bank", json=body), 422, field)


@pytest.mark.parametrize(("kind", "body", "field"), [
    ("payments", {"reference": "R/x", "amount": "1.00"}, "body.reference"),
    ("contacts", {"contact_id": "C 1", "channel": "phone", "party": "debtor",
                  "outcome": "conversation", "action_code": "PTP"}, "body.contact_id"),
    ("promises", {"promise_id": "p?1", "amount": "1.00", "due_date": "2030-01-01"},
     "body.promise_id"),
    ("repayment-plans", {"plan_id": "plan#1", "installments": [
        {"due_date": "2030-01-01", "amount": "1.00"}]}, "body.plan_id"),
])
def test_command_identifiers_that_are_not_url_safe_are_422(
        world: World, seeded: dict[str, str], kind: str, body: dict[str, Any],
        field: str) -> None:
    body = {**body, "received_at": ago(hours=1)} if kind == "payments" else body
    body = {**body, "occurred_at": ago(hours=1)} if kind == "contacts" else body
    r = world.call("case", "POST", f"/v1/cases/{seeded['case_id']}/{kind}", "agency",
                   json=body)
    refused(r, 422, field)


def test_a_row_whose_account_ref_is_not_url_safe_is_rejected_alone(world: World) -> None:
    r = world.call("case", "POST", "/v1/placements", "bank", json={
        "placement_ref": "P-ROWS", "accounts": [account("A/1"), account("A-2")]})
    assert r.status_code == 201, r.text
    assert r.json()["counts"] == {"received": 2, "placed": 1, "already_placed": 0,
                                  "rejected": 1}
    assert r.json()["rejected"][0]["errors"][0]["path"] == "account_ref"


@pytest.mark.parametrize("service", ["case", "contact", "billing"])
@pytest.mark.parametrize("media_type", [
    "application/json; charset=latin-1", "text/plain", "application/x-www-form-urlencoded",
    "application/json-patch+json", "application/jsonx"])
def test_bodies_that_are_not_json_utf8_are_415_everywhere(world: World, service: str,
                                                          media_type: str) -> None:
    path = {"case": "/v1/placements", "contact": "/v1/qa/samples",
            "billing": "/v1/billing-runs"}[service]
    r = world.call(service, "POST", path, content=b"{}", headers={"Content-Type": media_type})
    assert refused(r, 415)["code"] == "unsupported_media_type"


@pytest.mark.parametrize("media_type", ["application/json", "application/json; charset=utf-8",
                                        "Application/JSON; Charset=\"UTF-8\""])
def test_json_with_or_without_utf8_charset_is_taken(world: World, media_type: str) -> None:
    r = world.call("case", "POST", "/v1/placements", "bank", headers={"Content-Type": media_type},
                   content=json.dumps({"placement_ref": "P-MT",
                                       "accounts": [account("A-MT")]}).encode())
    assert r.status_code in (200, 201), r.text


def test_a_body_that_is_not_utf8_is_422(world: World) -> None:
    r = world.call("billing", "POST", "/v1/billing-runs", content=b'{"creditor_id": "\xff"}',
                   headers={"Content-Type": "application/json"})
    refused(r, 422, "body")


def test_every_service_has_the_same_body_size_limit(world: World) -> None:
    limits = set()
    for app in world.apps.values():
        guards = [m for m in app.user_middleware if m.cls is RequestGuardMiddleware]
        assert len(guards) == 1
        limits.add(guards[0].kwargs["max_bytes"])
    assert limits == {DEFAULT_MAX_BODY_BYTES}


@pytest.mark.parametrize("service", ["case", "contact", "billing"])
def test_bodies_over_the_limit_are_413_on_every_service(tmp_path: Path, service: str) -> None:
    world = World(tmp_path, max_body_bytes=1000)
    try:
        path = {"case": "/v1/placements", "contact": "/v1/qa/samples",
                "billing": "/v1/billing-runs"}[service]
        declared = world.call(service, "POST", path, content=b"x" * 5000,
                              headers={"Content-Type": "application/json"})
        assert refused(declared, 413)["code"] == "payload_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds as it streams
            for _ in range(10):
                yield b" " * 400

        streamed = world.call(service, "POST", path, content=chunks(),
                              headers={"Content-Type": "application/json"})
        refused(streamed, 413)
    finally:
        world.close()


@pytest.mark.parametrize(("service", "path", "field"), [
    ("case", "/v1/cases?creditor_id=%00", "query.creditor_id"),
    ("case", "/v1/placements/P-1?creditor_id=BANK%00", "query.creditor_id"),
    ("contact", "/v1/contacts?agent_id=a%00b", "query.agent_id"),
    ("contact", "/v1/qa/samples/%00", "path"),
    ("billing", "/v1/invoices/INV%00", "path"),
])
def test_nul_characters_in_the_url_are_422(world: World, service: str, path: str,
                                           field: str) -> None:
    """PostgreSQL refuses text holding NUL: these were 500s there (200 on SQLite)."""
    refused(world.call(service, "GET", path), 422, field)


@pytest.mark.parametrize("service", ["case", "contact", "billing"])
def test_nul_characters_in_a_body_are_422(world: World, seeded: dict[str, str],
                                          service: str) -> None:
    path, body = {
        "case": (f"/v1/cases/{seeded['case_id']}/hardship", b'{"reason": "a\\u0000b"}'),
        "contact": (f"/v1/qa/samples/{seeded['sample_id']}/reviews",
                    b'{"item_id": "x", "score": 1, "serious": false, "findings": "\\u0000"}'),
        "billing": ("/v1/billing-runs", b'{"creditor_id": "BANK\\u0000"}')}[service]
    r = world.call(service, "POST", path, content=body,
                   headers={"Content-Type": "application/json"})
    refused(r, 422, "body")
    escaped = world.call("case", "POST", f"/v1/cases/{seeded['case_id']}/hardship", "agency",
                         json={"reason": "a backslash then u0000: \\u0000"})
    assert escaped.status_code == 201, escaped.text  # text that only looks like the escape


def test_a_contract_with_an_explicit_null_timezone_takes_the_default(world: World) -> None:
    """Found by the schemathesis run: `"timezone": null` was a 500 (TypeError)."""
    r = world.call("billing", "PUT", "/v1/contracts/BANK/AG-Z", "bank", json={
        "effective_from": "2020-01-01", "rates": {"M1": "0.12"}, "timezone": None})
    assert r.status_code == 201, r.text
    assert r.json()["timezone"]
