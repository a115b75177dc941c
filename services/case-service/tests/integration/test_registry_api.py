"""The agency registry and what it decides, over HTTP on SQLite and PostgreSQL: profiles,
collectors and qualifications as versions (201, a repeat 200 with `recorded: false`,
expected_version 409, 422 with field paths, who may write and read); contacts by registered
and qualified collectors only; placements and reassignments only to qualified agencies when
the creditor requires it; the legal hand-off to a law firm with its litigation stages and
document references."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

TODAY = datetime.now(UTC).date()
QUALIFIED = {"checklist": [{"item": "营业执照", "passed": True},
                           {"item": "信息安全", "passed": True, "note": "ISO 27001"}],
             "score": "86.5", "status": "approved",
             "approved_on": (TODAY - timedelta(days=30)).isoformat(),
             "expires_on": (TODAY + timedelta(days=335)).isoformat()}


def now() -> str:
    return datetime.now(UTC).isoformat()


def contact(contact_id: str, agent_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"contact_id": contact_id, "channel": "phone", "party": "none",
                            "outcome": "no_answer", "action_code": "NOANS",
                            "occurred_at": now()}
    if agent_id is not None:
        body["agent_id"] = agent_id
    return body


def test_profiles_are_versions_their_agency_writes(as_: Any) -> None:
    agency = as_("agency_a")
    first = agency.put("/v1/agencies/AG-A/profile", {"kind": "collection",
                                                     "display_name": "甲催收"})
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1
    again = agency.put("/v1/agencies/AG-A/profile", {"kind": "collection",
                                                     "display_name": "甲催收"})
    assert again.status_code == 200
    assert again.json()["recorded"] is False
    stale = agency.put("/v1/agencies/AG-A/profile", {"kind": "collection",
                                                     "display_name": "甲", "expected_version": 0})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "version_conflict"
    assert agency.put("/v1/agencies/AG-A/profile", {
        "kind": "collection", "display_name": "甲", "expected_version": 1}).status_code == 201
    bad = agency.put("/v1/agencies/AG-A/profile", {"kind": "bank", "display_name": "x"})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["path"] == "body.kind"
    assert as_("agency_b").put("/v1/agencies/AG-A/profile", {
        "kind": "collection", "display_name": "x"}).status_code == 403
    assert as_("collector_a").put("/v1/agencies/AG-A/profile", {
        "kind": "collection", "display_name": "x"}).status_code == 403
    assert as_("bank1").get("/v1/agencies/AG-A/profile").json()["display_name"] == "甲"
    versions = as_("auditor").get("/v1/agencies/AG-A/profile/versions").json()["versions"]
    assert [v["display_name"] for v in versions] == ["甲催收", "甲"]
    assert versions[0]["actor"] == "agency:AG-A:agency_a"
    assert as_("bank1").get("/v1/agencies/AG-Z/profile").status_code == 404


def test_contacts_name_a_registered_collector_active_and_qualified_that_day(
        as_: Any, placed: str) -> None:
    agency = as_("agency_a")
    # no collector registered: contacts are not checked
    assert agency.post(f"/v1/cases/{placed}/contacts", contact("c0", None)).status_code == 201
    put = agency.put("/v1/agencies/AG-A/collectors/COL-1", {
        "name": "李四", "training": [{"course": "合规培训", "completed_on": "2026-01-05"}],
        "qualified_until": (TODAY + timedelta(days=100)).isoformat()})
    assert put.status_code == 201, put.text
    assert put.json()["status"] == "active"
    assert agency.put("/v1/agencies/AG-A/collectors/COL-2", {
        "name": "王五", "qualified_until": (TODAY - timedelta(days=1)).isoformat()}
    ).status_code == 201
    assert as_("collector_a").put("/v1/agencies/AG-A/collectors/COL-3", {
        "name": "x", "qualified_until": TODAY.isoformat()}).status_code == 403
    bad = agency.put("/v1/agencies/AG-A/collectors/COL-3", {"name": "x",
                                                           "qualified_until": "soon"})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["path"] == "body.qualified_until"

    ok = agency.post(f"/v1/cases/{placed}/contacts", contact("c1", "COL-1"))
    assert ok.status_code == 201, ok.text
    unknown = agency.post(f"/v1/cases/{placed}/contacts", contact("c2", "NOBODY"))
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_collector"
    assert unknown.json()["error"]["fields"][0]["path"] == "body.agent_id"
    missing = agency.post(f"/v1/cases/{placed}/contacts", contact("c3", None))
    assert missing.status_code == 422
    expired = agency.post(f"/v1/cases/{placed}/contacts", contact("c4", "COL-2"))
    assert expired.status_code == 409
    assert expired.json()["error"]["code"] == "collector_not_qualified"
    # a collector who left: refused from then on; the earlier contact's retry still answers
    assert agency.put("/v1/agencies/AG-A/collectors/COL-1", {
        "name": "李四", "status": "left", "training": [
            {"course": "合规培训", "completed_on": "2026-01-05"}],
        "qualified_until": (TODAY + timedelta(days=100)).isoformat()}).status_code == 201
    assert agency.post(f"/v1/cases/{placed}/contacts", contact("c5", "COL-1")
                       ).status_code == 409
    retry = agency.post(f"/v1/cases/{placed}/contacts", contact("c1", "COL-1"))
    assert retry.status_code == 200
    listed = as_("bank1").get("/v1/agencies/AG-A/collectors").json()["collectors"]
    assert [(c["collector_id"], c["status"], c["version"]) for c in listed] == [
        ("COL-1", "left", 2), ("COL-2", "active", 1)]
    assert as_("agency_b").get("/v1/agencies/AG-A/collectors").status_code == 403
    history = as_("auditor").get("/v1/agencies/AG-A/collectors/COL-1/versions").json()[
        "versions"]
    assert [v["status"] for v in history] == ["active", "left"]


def rules(**extra: Any) -> dict[str, Any]:
    return {"buckets": {"M2": [{"agency_id": "AG-A", "weight": 1},
                               {"agency_id": "AG-B", "weight": 1}]},
            "timezone": "Asia/Shanghai", **extra}


def test_a_creditor_requiring_qualified_agencies_places_and_reassigns_with_them_only(
        as_: Any, row: Any) -> None:
    bank = as_("bank1")
    assert bank.put("/v1/creditors/BANK1/allocation-rules",
                    rules(require_qualified_agencies=True)).status_code == 200
    q = bank.put("/v1/creditors/BANK1/qualifications/AG-A", QUALIFIED)
    assert q.status_code == 201, q.text
    assert q.json()["valid_today"] is True
    expired = {**QUALIFIED, "approved_on": "2025-01-01", "expires_on": "2025-12-31"}
    assert bank.put("/v1/creditors/BANK1/qualifications/AG-B", expired).json()[
        "valid_today"] is False
    invalid = bank.put("/v1/creditors/BANK1/qualifications/AG-C", {
        **QUALIFIED, "approved_on": None})
    assert invalid.status_code == 422
    assert invalid.json()["error"]["fields"][0]["path"] == "body.approved_on"
    assert bank.put("/v1/creditors/BANK1/qualifications/AG-C", {
        **QUALIFIED, "score": "101"}).status_code == 422
    assert as_("bank2").put("/v1/creditors/BANK1/qualifications/AG-A",
                            QUALIFIED).status_code == 403
    assert as_("agency_a").put("/v1/creditors/BANK1/qualifications/AG-A",
                               QUALIFIED).status_code == 403
    assert as_("agency_a").get("/v1/creditors/BANK1/qualifications/AG-A").status_code == 200
    assert as_("agency_a").get("/v1/creditors/BANK1/qualifications/AG-B").status_code == 403

    placed = bank.post("/v1/placements", json={"placement_ref": "P-Q", "accounts": [
        row(f"Q-{i}", agency=None) for i in range(8)] + [
        row("Q-NAMED-B", agency="AG-B"), row("Q-NAMED-A", agency="AG-A")]})
    assert placed.status_code == 201, placed.text
    receipt = placed.json()
    assert {r["agency_id"] for r in receipt["accepted"]} == {"AG-A"}
    assert len(receipt["accepted"]) == 9
    [refused] = receipt["rejected"]
    assert refused["account_ref"] == "Q-NAMED-B"
    assert "not qualified" in str(refused)

    case_id = receipt["accepted"][0]["case_id"]
    moved = bank.post(f"/v1/cases/{case_id}/reassignment", {"to_agency_id": "AG-B",
                                                             "reason": "rotation"})
    assert moved.status_code == 409
    assert moved.json()["error"]["code"] == "agency_not_qualified"
    assert bank.put("/v1/creditors/BANK1/qualifications/AG-B", QUALIFIED).status_code == 201
    assert bank.post(f"/v1/cases/{case_id}/reassignment", {
        "to_agency_id": "AG-B", "reason": "rotation"}).status_code == 201
    listed = as_("auditor").get("/v1/creditors/BANK1/qualifications").json()[
        "qualifications"]
    assert [(q["agency_id"], q["version"], q["valid_today"]) for q in listed] == [
        ("AG-A", 1, True), ("AG-B", 2, True)]


def test_without_the_requirement_any_agency_takes_cases(as_: Any, row: Any) -> None:
    bank = as_("bank1")
    assert bank.put("/v1/creditors/BANK1/allocation-rules", rules()).status_code == 200
    placed = bank.post("/v1/placements", json={"placement_ref": "P-ANY", "accounts": [
        row(f"A-{i}", agency=None) for i in range(12)]}).json()
    assert {r["agency_id"] for r in placed["accepted"]} == {"AG-A", "AG-B"}


def test_a_legal_hand_off_goes_to_a_law_firm_which_records_the_lawsuit(
        as_: Any, placed: str) -> None:
    bank, firm = as_("bank1"), as_("lawfirm")
    base = f"/v1/cases/{placed}"
    early = firm.post(f"{base}/litigation", {"stage_ref": "S1", "stage": "filed",
                                             "occurred_at": now()})
    assert early.status_code == 404  # not its case yet
    # a reassignment to an agency that is not a law firm is no legal hand-off
    assert firm.put("/v1/agencies/LF-1/profile", {"kind": "law_firm",
                                                  "display_name": "某律师事务所"}
                    ).status_code == 201
    handed = bank.post(f"{base}/reassignment", {"to_agency_id": "LF-1", "reason": "诉讼"})
    assert handed.status_code == 201, handed.text
    history = [e["type"] for e in as_("auditor").get(f"{base}/history").json()["events"]]
    assert history[-2:] == ["Reassigned", "HandedToLawFirm"]

    stage = {"stage_ref": "S2", "stage": "judgment", "occurred_at": now()}
    out_of_order = firm.post(f"{base}/litigation", stage)
    assert out_of_order.status_code == 409
    assert "filed stage first" in out_of_order.text
    filed = {"stage_ref": "S1", "stage": "filed", "occurred_at": now(),
             "court": "北京市朝阳区人民法院", "docket_no": "(2026)京0105民初1号"}
    assert firm.post(f"{base}/litigation", filed).status_code == 201
    assert firm.post(f"{base}/litigation", filed).status_code == 200  # a repeat
    assert firm.post(f"{base}/litigation", {**stage, "occurred_at": now()}).status_code == 201
    bad = firm.post(f"{base}/litigation", {"stage_ref": "S3", "stage": "appeal",
                                           "occurred_at": now()})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["path"] == "body.stage"
    assert as_("agency_a").post(f"{base}/litigation", {
        "stage_ref": "S4", "stage": "hearing", "occurred_at": now()}).status_code == 404

    digest = hashlib.sha256(b"judgment scan").hexdigest()
    doc = {"document_id": "DOC-1", "kind": "judgment", "sha256": digest}
    assert firm.post(f"{base}/legal-documents", doc).status_code == 201
    assert bank.post(f"{base}/legal-documents", doc).status_code == 200  # same reference
    assert firm.post(f"{base}/legal-documents", {**doc, "sha256": "0" * 64}
                     ).status_code == 409
    short = firm.post(f"{base}/legal-documents", {**doc, "sha256": "abc"})
    assert short.status_code == 422
    assert short.json()["error"]["fields"][0]["path"] == "body.sha256"

    legal = bank.get(base).json()["legal"]
    assert legal["law_firm_id"] == "LF-1"
    assert legal["with_law_firm"] is True
    assert [(s["stage"], s["docket_no"]) for s in legal["stages"]] == [
        ("filed", "(2026)京0105民初1号"), ("judgment", None)]
    assert legal["documents"][0]["sha256"] == digest
    assert legal["documents"][0]["actor"] == "agency:LF-1:lawfirm"
    # moved on from the law firm: no more stages
    assert bank.post(f"{base}/recall", {"reason": "rotation"}).status_code == 201
    assert bank.get(base).json()["legal"]["with_law_firm"] is False


def test_a_plain_agency_is_no_law_firm(as_: Any, placed: str) -> None:
    bank = as_("bank1")
    assert bank.post(f"/v1/cases/{placed}/reassignment", {
        "to_agency_id": "AG-B", "reason": "rotation"}).status_code == 201
    assert bank.get(f"/v1/cases/{placed}").json()["legal"] is None
    refused = as_("agency_b").post(f"/v1/cases/{placed}/litigation", {
        "stage_ref": "S1", "stage": "filed", "occurred_at": now()})
    assert refused.status_code == 409
    assert "law firm" in refused.text
