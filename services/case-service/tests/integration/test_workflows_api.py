"""The workflow endpoints over HTTP, on SQLite and PostgreSQL: complaints, field visits,
settlements with the creditor's approval limits, the action-code catalogue and the
settlement certificate. Each step answers 201, a repeat 200 with `recorded: false`, a step
the case's state forbids 409, bad input 422 with field paths, another tenant 404/403."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

NOW = datetime.now(UTC)


def now() -> str:
    """The present instant: the fixture's case was placed moments ago, so the facts here
    happen after it (lateness is the unit tests' business)."""
    return datetime.now(UTC).isoformat()


RULES = {"buckets": {}, "timezone": "Asia/Shanghai",
         "settlement_limits": {"max_discount_pct": "25", "max_deferral_days": 60},
         "action_codes": [{"code": "PTP", "label": "承诺还款"},
                          {"code": "NOANS", "label": "无人接听"}],
         "complaints": {"acknowledge_hours": 24, "investigate_days": 5, "resolve_days": 10,
                        "hold_categories": ["conduct", "frequency"]}}


def events(as_: Any, case_id: str) -> list[str]:
    return [e["type"] for e in as_("auditor").get(f"/v1/cases/{case_id}/history").json()[
        "events"]]


def test_a_complaint_is_received_handled_step_by_step_and_holds_contact(
        as_: Any, placed: str) -> None:
    agency, bank = as_("agency_a"), as_("bank1")
    base = f"/v1/cases/{placed}/complaints"
    body = {"complaint_id": "CMP-1", "channel": "regulator", "category": "frequency"}
    first = agency.post(base, body)
    assert first.status_code == 201, first.text
    assert first.json()["events"] == ["ComplaintReceived"]
    assert agency.post(base, body).status_code == 200  # a repeat records nothing
    assert agency.post(base, {**body, "category": "amount"}).status_code == 409
    bad = agency.post(base, {**body, "complaint_id": "CMP-2", "category": "rude"})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["path"] == "body.category"
    assert as_("agency_b").post(base, body).status_code == 404  # not its case

    early = agency.post(f"{base}/CMP-1/investigation", {"finding": "x"})
    assert early.status_code == 409
    assert "acknowledged first" in early.text
    assert agency.post(f"{base}/CMP-1/acknowledgement", {}).status_code == 201
    assert agency.post(f"{base}/CMP-1/investigation", {"finding": "called 5 times a day"}
                       ).status_code == 201
    view = bank.get(f"/v1/cases/{placed}").json()
    [held] = view["complaints"]
    assert held["contact_hold"] is True
    assert held["open"] is True
    assert held["next_step"] == "resolve"
    contact = agency.post(f"/v1/cases/{placed}/contacts", {
        "contact_id": "c-held", "channel": "phone", "party": "none", "outcome": "no_answer",
        "action_code": "NOANS", "occurred_at": now()})
    assert contact.status_code == 201
    history = as_("auditor").get(f"/v1/cases/{placed}/history").json()["events"]
    acknowledged = next(e for e in history if e["type"] == "ComplaintAcknowledged")
    assert acknowledged["data"]["late"] is False
    contacted = next(e for e in history if e["type"] == "Contacted")
    assert "complaint_hold" in contacted["data"]["flags"]
    assert bank.post(f"{base}/CMP-1/resolution", {"outcome": "upheld"}).status_code == 201
    assert bank.post(f"{base}/CMP-1/resolution", {"outcome": "upheld"}).status_code == 200
    recall = bank.post(f"/v1/cases/{placed}/recall", {"reason": "complaint",
                                                      "complaint_id": "CMP-1"})
    assert recall.status_code == 201, recall.text
    assert events(as_, placed)[-1] == "Recalled"


def test_a_visit_needs_the_supervisors_approval_not_a_collectors(
        as_: Any, placed: str) -> None:
    collector, supervisor = as_("collector_a"), as_("agency_a")
    base = f"/v1/cases/{placed}/visits"
    assert collector.post(base, {"visit_id": "V1", "reason": "no number reaches the debtor"}
                          ).status_code == 201
    refused = collector.post(f"{base}/V1/approval", {})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "supervisor_required"
    outcome = {"performed_at": now(), "outcome": "found", "visitor_id": "COL-7",
               "evidence": [{"kind": "photo", "sha256": "ab" * 32, "ref": "visit/1.jpg"}]}
    not_yet = collector.post(f"{base}/V1/outcome", outcome)
    assert not_yet.status_code == 409
    assert "approval" in not_yet.text
    assert supervisor.post(f"{base}/V1/approval", {}).status_code == 201
    outcome["performed_at"] = now()
    bad = collector.post(f"{base}/V1/outcome", {**outcome, "evidence": [
        {"kind": "photo", "sha256": "not-a-hash", "ref": "x"}]})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["path"] == "body.evidence.0.sha256"
    assert collector.post(f"{base}/V1/outcome", outcome).status_code == 201
    assert collector.post(f"{base}/V1/outcome", outcome).status_code == 200
    assert collector.post(f"{base}/V1/report", {"summary": "debtor met, will pay Friday"}
                          ).status_code == 201
    assert as_("bank1").post(f"{base}/V1/approval", {}).status_code == 403  # not an agency
    [visit] = as_("bank1").get(f"/v1/cases/{placed}").json()["visits"]
    assert (visit["state"], visit["outcome"]) == ("reported", "found")


def test_settlements_bind_only_within_the_creditors_limits_and_close_as_settled(
        as_: Any, placed: str) -> None:
    agency, bank, other = as_("agency_a"), as_("bank1"), as_("bank2")
    assert bank.put("/v1/creditors/BANK1/allocation-rules", RULES).status_code == 200
    base = f"/v1/cases/{placed}/settlements"  # 1020.50 outstanding
    due = (NOW + timedelta(days=20)).date().isoformat()
    proposal = {"settlement_id": "S1", "kind": "settlement", "amount": "700.00",
                "due_date": due}
    assert agency.post(base, proposal).status_code == 201
    assert agency.post(base, proposal).status_code == 200
    assert bank.post(base, {**proposal, "settlement_id": "S9"}).status_code == 403
    beyond = bank.post(f"{base}/S1/approval", {})
    assert beyond.status_code == 409  # 31.41% off, the limit is 25%
    assert beyond.json()["error"]["code"] == "beyond_approval_limit"
    assert other.post(f"{base}/S1/approval", {}).status_code == 404
    assert bank.post(f"{base}/S1/rejection", {"reason": "below 75%"}).status_code == 201
    assert agency.post(base, {**proposal, "settlement_id": "S2", "amount": "800.00"}
                       ).status_code == 201
    assert bank.post(f"{base}/S2/approval", {}).status_code == 201
    no_reduction = agency.post(base, {"settlement_id": "S3", "kind": "reduction",
                                      "amount": "10", "due_date": due})
    assert no_reduction.status_code == 409  # S2 binds: one at a time
    not_yet = bank.get(f"/v1/cases/{placed}/certificate")
    assert not_yet.status_code == 409
    assert not_yet.json()["error"]["code"] == "not_settled"
    paid = agency.post(f"/v1/cases/{placed}/payments", {
        "reference": "PAY-1", "amount": "800.00", "currency": "CNY", "source": "agency",
        "received_at": now()})
    assert paid.status_code == 201
    assert paid.json()["events"] == ["PaymentReceived", "SettlementFulfilled", "Closed"]
    view = bank.get(f"/v1/cases/{placed}").json()
    assert (view["status"], view["close_reason"]) == ("closed", "settled")
    assert (view["outstanding"], view["waived_total"]) == ("0.00", "220.50")
    certificate = bank.get(f"/v1/cases/{placed}/certificate")
    assert certificate.status_code == 200
    assert certificate.headers["content-type"] == "application/pdf"
    digest = hashlib.sha256(certificate.content).hexdigest()
    assert certificate.headers["x-content-sha256"] == digest
    again = as_("agency_a").get(f"/v1/cases/{placed}/certificate")
    assert hashlib.sha256(again.content).hexdigest() == digest  # reproducible
    assert other.get(f"/v1/cases/{placed}/certificate").status_code == 404


def test_contacts_use_the_creditors_action_codes(as_: Any, placed: str) -> None:
    agency, bank = as_("agency_a"), as_("bank1")
    contact = {"contact_id": "c1", "channel": "phone", "party": "debtor",
               "outcome": "conversation", "action_code": "REFUSE", "occurred_at": now()}
    assert agency.post(f"/v1/cases/{placed}/contacts", contact).status_code == 201  # no list
    assert bank.put("/v1/creditors/BANK1/allocation-rules", RULES).status_code == 200
    refused = agency.post(f"/v1/cases/{placed}/contacts", {**contact, "contact_id": "c2"})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "unknown_action_code"
    assert error["valid_codes"] == ["NOANS", "PTP"]
    assert error["fields"][0]["path"] == "body.action_code"
    ok = agency.post(f"/v1/cases/{placed}/contacts",
                     {**contact, "contact_id": "c2", "action_code": "PTP"})
    assert ok.status_code == 201
    history = as_("auditor").get(f"/v1/cases/{placed}/history").json()["events"]
    assert history[-1]["data"]["catalogue_version"] == 1
    rules = bank.get("/v1/creditors/BANK1/allocation-rules").json()
    assert [c["code"] for c in rules["action_codes"]] == ["PTP", "NOANS"]
    duplicate = bank.put("/v1/creditors/BANK1/allocation-rules", {
        **RULES, "action_codes": [{"code": "PTP", "label": "a"}, {"code": "PTP", "label": "b"}]})
    assert duplicate.status_code == 422


@pytest.mark.parametrize(("body", "path"), [
    ({"settlement_id": "S1", "kind": "settlement", "amount": "-1"}, "body.amount"),
    ({"settlement_id": "S1", "kind": "swap", "amount": "1"}, "body.kind"),
    ({"settlement_id": "S1", "kind": "deferral", "amount": "1", "due_date": "2026-02-30"},
     "body.due_date"),
])
def test_bad_proposals_are_422_with_their_field(as_: Any, placed: str, body: dict[str, Any],
                                                path: str) -> None:
    refused = as_("agency_a").post(f"/v1/cases/{placed}/settlements", body)
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["path"] == path


def test_a_collector_sees_the_debtor_masked_until_an_audited_reveal(
        as_: Any, placed: str) -> None:
    collector, agency = as_("collector_a"), as_("agency_a")
    masked = collector.get(f"/v1/cases/{placed}").json()["debtor"]
    assert masked["masked"] is True
    assert masked["name"] == "张*"
    assert "138 0000 0000" not in str(masked)  # numbers only as hints and references
    assert masked["phone_refs"]
    assert len(masked["phone_refs"]) == len(masked["phones"])
    assert "北京" not in str(masked)  # address and email hidden
    assert "北京" not in collector.get(f"/v1/cases/{placed}/history").text
    # the agency's own (supervisor) key sees the debtor as before
    full = agency.get(f"/v1/cases/{placed}").json()["debtor"]
    assert full["name"] == "张三"
    assert full.get("masked") is not True

    body = {"reveal_id": "R-1", "reason": "debtor asked for a call back"}
    first = collector.post(f"/v1/cases/{placed}/pii-reveal", body)
    assert first.status_code == 201, first.text
    shown = first.json()["debtor"]
    assert shown["name"] == "张三"
    assert shown["address"] == "北京市朝阳区某路 1 号"
    assert "0000" in str(shown["phones"])
    assert "19900101" not in str(shown)  # the national id stays masked
    again = collector.post(f"/v1/cases/{placed}/pii-reveal", body)
    assert again.status_code == 200
    assert again.json()["recorded"] is False
    assert collector.post(f"/v1/cases/{placed}/pii-reveal",
                          {**body, "reason": "another"}).status_code == 409
    bad = collector.post(f"/v1/cases/{placed}/pii-reveal", {"reveal_id": "R-2"})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["path"] == "body.reason"
    assert as_("agency_b").post(f"/v1/cases/{placed}/pii-reveal",
                                {"reveal_id": "R-3", "reason": "x"}).status_code == 404
    history = as_("auditor").get(f"/v1/cases/{placed}/history").json()["events"]
    [revealed] = [e for e in history if e["type"] == "PiiRevealed"]
    assert revealed["data"]["reason"] == "debtor asked for a call back"
    assert revealed["actor"] == "agency:AG-A:collector_a"
    # still masked on the next read: a reveal answers once, it does not unmask the key
    assert collector.get(f"/v1/cases/{placed}").json()["debtor"]["name"] == "张*"


def test_a_key_bound_to_a_collector_records_only_that_collector_s_work(
        as_: Any, placed: str) -> None:
    bound, supervisor = as_("col_1"), as_("agency_a")
    contact = {"contact_id": "c-own", "channel": "phone", "party": "none",
               "outcome": "no_answer", "action_code": "NOANS", "occurred_at": now()}
    assert bound.post(f"/v1/cases/{placed}/contacts", contact).status_code == 201  # no agent
    assert bound.post(f"/v1/cases/{placed}/contacts", {
        **contact, "contact_id": "c-named", "agent_id": "COL-1"}).status_code == 201
    other = bound.post(f"/v1/cases/{placed}/contacts", {
        **contact, "contact_id": "c-other", "agent_id": "COL-2"})
    assert other.status_code == 403, other.text
    error = other.json()["error"]
    assert (error["code"], error["path"]) == ("not_your_collector", "body.agent_id")
    assert supervisor.post(f"/v1/cases/{placed}/contacts", {  # the supervisor names anyone
        **contact, "contact_id": "c-sup", "agent_id": "COL-2"}).status_code == 201
    history = as_("auditor").get(f"/v1/cases/{placed}/history").json()["events"]
    assert [(e["data"]["contact_id"], e["data"]["agent_id"]) for e in history
            if e["type"] == "Contacted"] == [
        ("c-own", "COL-1"), ("c-named", "COL-1"), ("c-sup", "COL-2")]

    base = f"/v1/cases/{placed}/visits"
    assert bound.post(base, {"visit_id": "V1", "reason": "no number answers"}
                      ).status_code == 201
    assert supervisor.post(f"{base}/V1/approval", {}).status_code == 201
    outcome = {"performed_at": now(), "outcome": "found", "visitor_id": "COL-2",
               "evidence": [{"kind": "photo", "sha256": "ab" * 32, "ref": "visit/1.jpg"}]}
    refused = bound.post(f"{base}/V1/outcome", outcome)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["path"] == "body.visitor_id"
    assert bound.post(f"{base}/V1/outcome", {**outcome, "visitor_id": "COL-1"}
                      ).status_code == 201
