"""End to end, issue 21, continued: the workflows that landed after test_operations.py.

The agency registry and its collectors, a creditor's qualification of agencies, the legal
hand-off to a law firm, and the reports to the creditor (the agency's periodic reports and
the three-calls-failed reports). HTTP in, facts in the history, figures out of the read
models; at the end the contact log and the case list are rebuilt, verify against the live
copies, are swapped in, and every figure read before is read again, equal.

One System per transport, the workflows in sequence (docs/operations-guide.md "Agencies,
collectors and qualification", "Legal hand-off"; docs/contact-operations.md "Reports to the
creditor").
"""

from __future__ import annotations

import csv
import hashlib
import io
import signal
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.harness import System
from tests.e2e.test_operations import (
    Run,
    clear_of_midnight,
    consumed,
    created,
    eventually,
    iso,
    now,
    rebuild,
    start,
)

pytestmark = pytest.mark.e2e

CREDITOR, AGENCY, OTHER = "BANK-E2E", "AG-E2E", "AG-OTHER"
ZONE = "Asia/Shanghai"
NAMES = ["contacts", "calls", "legal", "spare"]  # one unnamed placement row each
DOC_SHA = hashlib.sha256(b"(2026) judgment of the e2e case").hexdigest()


def today() -> date:
    """The creditor's day (its rules' zone)."""
    return datetime.now(ZoneInfo(ZONE)).date()


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def listed_as(response: httpx.Response, key: str) -> list[dict[str, Any]]:
    """A registry listing: a JSON list, or (the shape being introduced) an object holding
    it under `key`."""
    body = ok(response)
    rows: list[dict[str, Any]] = body[key] if isinstance(body, dict) else body
    return rows


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == code, body
    return body


def rules(*, require: bool = True) -> dict[str, Any]:
    return {"buckets": {"M3": [{"agency_id": AGENCY, "weight": 1},
                               {"agency_id": OTHER, "weight": 1}]},
            "timezone": ZONE, "require_qualified_agencies": require}


def qualification(status: str) -> dict[str, Any]:
    approved = status == "approved"
    return {"checklist": [{"item": "licence", "passed": approved},
                          {"item": "data security", "passed": True, "note": "ISO 27001"}],
            "score": "86.5" if approved else "40",
            "status": status,
            "approved_on": (today() - timedelta(days=30)).isoformat() if approved else None,
            "expires_on": (today() + timedelta(days=365)).isoformat() if approved else None}


def contact(run: Run, name: str, contact_id: str, agent: str | None, *,
            reached: bool = False) -> httpx.Response:
    body = {"contact_id": contact_id, "channel": "phone", "direction": "outbound",
            "party": "debtor" if reached else "none",
            "outcome": "conversation" if reached else "no_answer",
            "action_code": "PTP" if reached else "NOANS",
            "occurred_at": iso(now())}
    if agent is not None:
        body["agent_id"] = agent
    return run.case("agency").post(f"/v1/cases/{run.ids[name]}/contacts", json=body)


def caught_up(run: Run) -> None:
    """The contact-log consumer has taken in every event of the run's cases."""
    logged = sum(len(run.history(name)) for name in NAMES)
    eventually(run.system, lambda: consumed(run), lambda n: n >= logged)


# ----------------------------------------------------------------- 1. registry, collectors


def registry(run: Run) -> None:
    """The supervisor registers its profile and two collectors, one qualified, one whose
    qualification ended yesterday; a collector's key changes nothing."""
    agency = run.case("agency")
    profile = {"kind": "collection", "display_name": "E2E 催收"}
    stored = agency.put(f"/v1/agencies/{AGENCY}/profile", json=profile)
    assert stored.status_code == 201, stored.text
    assert (stored.json()["version"], stored.json()["kind"], stored.json()["recorded"]) == (
        1, "collection", True)
    again = ok(agency.put(f"/v1/agencies/{AGENCY}/profile", json=profile))
    assert (again["version"], again["recorded"]) == (1, False)
    error(run.case("other_agency").put(f"/v1/agencies/{AGENCY}/profile", json=profile),
          403, "forbidden")
    error(run.case("collector").put(f"/v1/agencies/{AGENCY}/profile", json=profile),
          403, "supervisor_required")

    base = f"/v1/agencies/{AGENCY}/collectors"
    good = {"name": "张伟", "training": [{"course": "合规培训",
                                          "completed_on": (today() - timedelta(days=90))
                                          .isoformat()}],
            "qualified_until": (today() + timedelta(days=365)).isoformat()}
    old = {"name": "李强", "qualified_until": (today() - timedelta(days=1)).isoformat()}
    assert agency.put(f"{base}/COL-1", json={**good, "training": []}).status_code == 201
    assert agency.put(f"{base}/COL-1", json={**good, "expected_version": 0}
                      ).status_code == 409  # it is at version 1 now
    created(agency.put(f"{base}/COL-1", json={**good, "expected_version": 1}))
    created(agency.put(f"{base}/COL-OLD", json=old))
    created(agency.put(f"{base}/COL-SUS", json={**good, "name": "王磊",
                                                "status": "suspended"}))
    error(run.case("collector").put(f"{base}/COL-2", json=good), 403, "supervisor_required")
    error(run.case("other_agency").get(base), 403, "forbidden")
    versions = listed_as(agency.get(f"{base}/COL-1/versions"), "versions")
    assert [(v["version"], len(v["training"])) for v in versions] == [(1, 0), (2, 1)]
    assert {v["actor"] for v in versions} == {versions[0]["actor"]}
    listed = listed_as(run.case("creditor").get(base), "collectors")
    assert [(c["collector_id"], c["status"], c["qualified_until"], c["version"])
            for c in listed] == [("COL-1", "active", good["qualified_until"], 2),
                                 ("COL-OLD", "active", old["qualified_until"], 1),
                                 ("COL-SUS", "suspended", good["qualified_until"], 1)]


# ---------------------------------------------------------------------- 2. qualification


def qualification_and_placement(run: Run) -> None:
    """With qualified agencies required, unnamed rows go to the one qualified agency of the
    bucket, a row naming the other is rejected, and no case may be reassigned to it."""
    creditor = run.case("creditor")
    ok(creditor.put(f"/v1/creditors/{CREDITOR}/allocation-rules", json=rules()))
    stored = creditor.put(f"/v1/creditors/{CREDITOR}/qualifications/{AGENCY}",
                          json=qualification("approved"))
    assert stored.status_code == 201, stored.text
    assert (stored.json()["valid_today"], stored.json()["version"]) == (True, 1)
    created(creditor.put(f"/v1/creditors/{CREDITOR}/qualifications/{OTHER}",
                         json=qualification("rejected")))
    error(run.case("agency").put(f"/v1/creditors/{CREDITOR}/qualifications/{AGENCY}",
                                 json=qualification("approved")), 403, "forbidden")

    def account(i: int, agency_id: str | None) -> dict[str, Any]:
        row: dict[str, Any] = {
            "account_ref": f"AGY-{i}", "currency": "CNY", "dpd": 75,
            "balances": {"principal": "4000.00", "interest": "100.00"},
            "debtor": {"name": f"债务人{i}", "national_id": f"11010119800101{i:04d}",
                       "phones": [f"+86 139 1000 {i:04d}"], "timezone": ZONE}}
        if agency_id:
            row["agency_id"] = agency_id
        return row

    accounts = [account(i, None) for i in range(len(NAMES))] + [account(9, OTHER)]
    placed = creditor.post("/v1/placements", json={"placement_ref": "AGY-1",
                                                   "accounts": accounts})
    assert placed.status_code == 201, placed.text
    receipt = placed.json()
    by_ref = {row["account_ref"]: row["case_id"] for row in receipt["accepted"]}
    assert sorted(by_ref) == [f"AGY-{i}" for i in range(len(NAMES))], receipt
    [rejected] = receipt["rejected"]
    assert rejected["account_ref"] == "AGY-9", rejected
    assert "not qualified" in str(rejected), rejected
    assert "agency_id" in str(rejected), rejected
    run.ids = {name: by_ref[f"AGY-{i}"] for i, name in enumerate(NAMES)}
    for name in NAMES:
        view = creditor.get(f"/v1/cases/{run.ids[name]}").json()
        assert (view["agency_id"], view["status"]) == (AGENCY, "placed"), view

    before = len(run.history("spare"))
    error(creditor.post(f"/v1/cases/{run.ids['spare']}/reassignment",
                        json={"to_agency_id": OTHER, "reason": "performance"}),
          409, "agency_not_qualified")
    assert len(run.history("spare")) == before
    listed = listed_as(creditor.get(f"/v1/creditors/{CREDITOR}/qualifications"),
                       "qualifications")
    assert sorted((q["agency_id"], q["status"], q["valid_today"]) for q in listed) == [
        (AGENCY, "approved", True), (OTHER, "rejected", False)]
    mine = ok(run.case("agency").get(f"/v1/creditors/{CREDITOR}/qualifications/{AGENCY}"))
    assert (mine["score"], mine["valid_today"], len(mine["checklist"])) == ("86.5", True, 2)


# ------------------------------------------------------------------------ 3. contacts


def collector_contacts(run: Run) -> None:
    """Contacts name a registered, qualified collector; an unknown or expired one records
    nothing."""
    created(contact(run, "contacts", "k-1", "COL-1", reached=True), "Contacted")
    before = len(run.history("contacts"))
    unknown = error(contact(run, "contacts", "k-2", "COL-404"), 422, "unknown_collector")
    assert [f["path"] for f in unknown["fields"]] == ["body.agent_id"], unknown
    missing = error(contact(run, "contacts", "k-3", None), 422, "unknown_collector")
    assert [f["path"] for f in missing["fields"]] == ["body.agent_id"], missing
    error(contact(run, "contacts", "k-4", "COL-OLD"), 409, "collector_not_qualified")
    error(contact(run, "contacts", "k-5", "COL-SUS"), 409, "collector_not_qualified")
    assert len(run.history("contacts")) == before
    [contacted] = [e["data"] for e in run.history("contacts") if e["type"] == "Contacted"]
    assert (contacted["contact_id"], contacted["agent_id"]) == ("k-1", "COL-1")
    retry = contact(run, "contacts", "k-1", "COL-1", reached=True)
    assert (retry.status_code, retry.json()["recorded"]) == (200, False), retry.text
    assert len(run.history("contacts")) == before
    # a collector who leaves: the retry of its recorded contact is answered as before, a new
    # contact naming it is refused
    base = f"/v1/agencies/{AGENCY}/collectors/COL-2"
    joined = {"name": "赵敏", "qualified_until": (today() + timedelta(days=30)).isoformat()}
    created(run.case("agency").put(base, json=joined))
    created(contact(run, "contacts", "k-6", "COL-2"), "Contacted")
    left = run.case("agency").put(base, json={**joined, "status": "left",
                                              "expected_version": 1})
    assert (left.status_code, left.json()["version"], left.json()["status"]) == (
        201, 2, "left"), left.text
    retry = contact(run, "contacts", "k-6", "COL-2")
    assert (retry.status_code, retry.json()["recorded"]) == (200, False), retry.text
    error(contact(run, "contacts", "k-7", "COL-2"), 409, "collector_not_qualified")
    assert [e["data"]["contact_id"] for e in run.history("contacts")
            if e["type"] == "Contacted"] == ["k-1", "k-6"]


def three_calls(run: Run) -> None:
    """Three failed calls: the case's report is due at the third, not before."""
    created(contact(run, "calls", "t-1", "COL-1"), "Contacted")
    created(contact(run, "calls", "t-2", "COL-1"), "Contacted")
    caught_up(run)
    path = f"/v1/cases/{run.ids['calls']}/reports/three-calls-failed"
    error(run.contact("agency").get(path), 404, "report_not_due")
    created(contact(run, "calls", "t-3", "COL-1"), "Contacted")
    report = eventually(run.system, lambda: run.contact("agency").get(path),
                        lambda r: r.status_code == 200).json()
    assert [a["contact_id"] for a in report["attempts"]] == ["t-1", "t-2", "t-3"]
    contacts = [e for e in run.history("calls") if e["type"] == "Contacted"]
    assert datetime.fromisoformat(report["due_at"]) == datetime.fromisoformat(
        contacts[-1]["data"]["occurred_at"])  # the third attempt
    assert {(a["channel"], a["direction"], a["party"], a["outcome"], a["action_code"],
             a["agent_id"]) for a in report["attempts"]} == {
        ("phone", "outbound", "none", "no_answer", "NOANS", "COL-1")}
    # a later reach does not withdraw it
    created(contact(run, "calls", "t-4", "COL-1", reached=True), "Contacted")
    assert (report["case_id"], report["creditor_id"], report["agency_id"]) == (
        run.ids["calls"], CREDITOR, AGENCY)
    # the case with a conversation is not due
    error(run.contact("agency").get(
        f"/v1/cases/{run.ids['contacts']}/reports/three-calls-failed"), 404, "report_not_due")


# ------------------------------------------------------------------------ 4. legal hand-off


def legal_hand_off(run: Run) -> None:
    """AG-OTHER, a law firm qualified now, takes a case over and records its lawsuit."""
    law_firm, creditor = run.case("other_agency"), run.case("creditor")
    created(law_firm.put(f"/v1/agencies/{OTHER}/profile",
                         json={"kind": "law_firm", "display_name": "E2E 律师事务所"}))
    requalified = creditor.put(f"/v1/creditors/{CREDITOR}/qualifications/{OTHER}",
                               json=qualification("approved"))
    assert requalified.status_code == 201, requalified.text
    assert (requalified.json()["version"], requalified.json()["valid_today"]) == (2, True)
    assert [(v["version"], v["status"]) for v in listed_as(creditor.get(
        f"/v1/creditors/{CREDITOR}/qualifications/{OTHER}/versions"), "versions")] == [
        (1, "rejected"), (2, "approved")]
    assert [(v["version"], v["kind"]) for v in listed_as(run.case("auditor").get(
        f"/v1/agencies/{OTHER}/profile/versions"), "versions")] == [(1, "law_firm")]
    case_id = run.ids["legal"]
    created(contact(run, "legal", "l-1", "COL-1"), "Contacted")
    created(contact(run, "legal", "l-2", "COL-1"), "Contacted")
    created(creditor.post(f"/v1/cases/{case_id}/reassignment",
                          json={"to_agency_id": OTHER, "reason": "litigation"}),
            "Reassigned", "HandedToLawFirm")
    base = f"/v1/cases/{case_id}/litigation"
    filed = {"stage_ref": "LIT-1", "stage": "filed", "occurred_at": iso(now()),
             "court": "北京市朝阳区人民法院", "docket_no": "(2026)京0105民初1号"}
    early = law_firm.post(base, json={"stage_ref": "LIT-2", "stage": "judgment",
                                      "occurred_at": iso(now())})
    assert early.status_code == 409, early.text  # filed first
    created(law_firm.post(base, json=filed), "LitigationStageRecorded")
    again = law_firm.post(base, json=filed)
    assert (again.status_code, again.json()["recorded"]) == (200, False)
    created(law_firm.post(base, json={"stage_ref": "LIT-2", "stage": "judgment",
                                      "occurred_at": iso(now())}), "LitigationStageRecorded")
    gone = run.case("agency").post(base, json={"stage_ref": "LIT-3", "stage": "hearing",
                                               "occurred_at": iso(now())})
    assert gone.status_code == 404, gone.text  # no longer AG-E2E's case
    # the law firm has no collectors registered: any agent; its one call is the first of
    # its assignment (the two before the hand-off do not count towards three)
    created(law_firm.post(f"/v1/cases/{case_id}/contacts", json={
        "contact_id": "l-3", "channel": "phone", "direction": "outbound", "party": "none",
        "outcome": "busy", "action_code": "NOANS", "agent_id": "LAWYER-1",
        "occurred_at": iso(now())}), "Contacted")
    created(law_firm.post(f"/v1/cases/{case_id}/legal-documents", json={
        "document_id": "DOC-1", "kind": "judgment", "sha256": DOC_SHA}),
        "LegalDocumentReferenced")
    # a case a collection agency holds cannot be litigated; a creditor records no stage
    lit = {"stage_ref": "LIT-X", "stage": "filed", "occurred_at": iso(now())}
    error(run.case("agency").post(f"/v1/cases/{run.ids['spare']}/litigation", json=lit),
          409, "invalid_transition")
    error(creditor.post(f"/v1/cases/{case_id}/litigation", json=lit), 403, "forbidden")

    types = run.types("legal")
    assert types[types.index("Reassigned") + 1] == "HandedToLawFirm", types
    assert types[-4:] == ["LitigationStageRecorded", "LitigationStageRecorded",
                          "Contacted", "LegalDocumentReferenced"], types
    view = creditor.get(f"/v1/cases/{case_id}").json()
    assert view["agency_id"] == OTHER
    legal = view["legal"]
    assert (legal["law_firm_id"], legal["with_law_firm"]) == (OTHER, True)
    assert [(s["stage_ref"], s["stage"], s["docket_no"], s["law_firm_id"])
            for s in legal["stages"]] == [("LIT-1", "filed", filed["docket_no"], OTHER),
                                          ("LIT-2", "judgment", None, OTHER)]
    assert [(d["document_id"], d["kind"], d["sha256"]) for d in legal["documents"]] == [
        ("DOC-1", "judgment", DOC_SHA)]
    assert run.case("other_agency").get(f"/v1/cases/{case_id}").status_code == 200
    assert run.case("agency").get(f"/v1/cases/{case_id}").status_code == 404


# ------------------------------------------------------------------ the read models' figures


def hashed(response: httpx.Response) -> tuple[bytes, str]:
    assert response.status_code == 200, response.text
    digest = hashlib.sha256(response.content).hexdigest()
    assert response.headers["x-content-sha256"] == digest
    assert response.headers["etag"].strip('"') == digest
    return response.content, digest


def read_figures(run: Run) -> dict[str, Any]:
    """Every figure checked, read with fixed parameters."""
    assert run.mark is not None
    agency, creditor = run.contact("agency"), run.contact("creditor")
    period = {"from": iso(run.started - timedelta(minutes=1)), "to": iso(run.mark)}
    yesterday = (run.mark.astimezone(ZoneInfo(ZONE)).date() - timedelta(days=1)).isoformat()
    daily = f"/v1/agencies/{AGENCY}/reports/daily"
    day = {"day": yesterday, "timezone": ZONE}
    calls = f"/v1/cases/{run.ids['calls']}/reports/three-calls-failed"
    listing = f"/v1/agencies/{AGENCY}/reports/three-calls-failed"
    figures: dict[str, Any] = {
        "timeliness": ok(agency.get(f"/v1/agencies/{AGENCY}/timeliness", params=period)),
        "contacts": sorted((c["contact_id"], c["case_id"], c["agent_id"], c["outcome"])
                           for c in ok(run.contact("auditor").get(
            "/v1/contacts", params={"creditor_id": CREDITOR, "limit": 100}))["contacts"]),
        "sla_other": sorted(c["case_id"] for c in ok(run.contact("other_agency").get(
            "/v1/sla", params={"agency_id": OTHER, "as_of": iso(run.mark)}))["cases"]),
        "sla_agency": sorted(c["case_id"] for c in ok(agency.get(
            "/v1/sla", params={"agency_id": AGENCY, "as_of": iso(run.mark)}))["cases"]),
        "legal_for_other": run.contact("other_agency").get(
            f"/v1/cases/{run.ids['legal']}/reports/three-calls-failed").json(),
        "other_timeliness": ok(run.contact("other_agency").get(
            f"/v1/agencies/{OTHER}/timeliness", params=period)),
        "other_list": ok(run.contact("other_agency").get(
            f"/v1/agencies/{OTHER}/reports/three-calls-failed"))["cases"],
        "daily_default_zone": ok(agency.get(daily, params={"day": yesterday}))["timezone"],
        "legal_for_agency": agency.get(
            f"/v1/cases/{run.ids['legal']}/reports/three-calls-failed").json(),
    }
    for fmt in ("json", "csv", "pdf"):
        figures[f"daily_{fmt}"] = hashed(agency.get(daily, params={**day, "format": fmt}))
        figures[f"calls_{fmt}"] = hashed(agency.get(calls, params={"format": fmt}))
    figures["daily_again"] = hashed(agency.get(daily, params=day))
    figures["calls_again"] = hashed(agency.get(calls))
    figures["calls_creditor"] = hashed(creditor.get(calls))
    figures["daily_creditor"] = hashed(creditor.get(daily, params=day))
    week_ago = (date.fromisoformat(yesterday) - timedelta(days=6)).isoformat()  # ended
    figures["weekly"] = hashed(agency.get(f"/v1/agencies/{AGENCY}/reports/weekly",
                                          params={"day": week_ago, "timezone": ZONE}))
    for fmt in ("json", "csv"):
        figures[f"list_{fmt}"] = hashed(agency.get(listing, params={"format": fmt}))
    figures["list_creditor"] = hashed(creditor.get(listing))
    return figures


def check_figures(run: Run, figures: dict[str, Any]) -> None:
    timeliness = figures["timeliness"]
    assert (timeliness["agency"]["count"], timeliness["agency"]["late_entries"]) == (8, 0)
    assert {c["collector_id"]: c["count"] for c in timeliness["collectors"]} == {
        "COL-1": 7, "COL-2": 1}
    other = figures["other_timeliness"]
    assert {c["collector_id"]: c["count"] for c in other["collectors"]} == {"LAWYER-1": 1}
    assert figures["contacts"] == sorted([
        ("k-1", run.ids["contacts"], "COL-1", "conversation"),
        ("k-6", run.ids["contacts"], "COL-2", "no_answer"),
        *[(f"t-{i}", run.ids["calls"], "COL-1", "no_answer") for i in (1, 2, 3)],
        ("t-4", run.ids["calls"], "COL-1", "conversation"),
        *[(f"l-{i}", run.ids["legal"], "COL-1", "no_answer") for i in (1, 2)],
        ("l-3", run.ids["legal"], "LAWYER-1", "busy")])
    assert figures["daily_default_zone"] == ZONE  # no agency setting: the service's default
    assert figures["other_list"] == []  # one call of the law firm's own assignment
    # the law firm holds the legal case now in the contact service too
    assert figures["sla_other"] == [run.ids["legal"]]
    assert run.ids["legal"] not in figures["sla_agency"]
    assert run.ids["calls"] in figures["sla_agency"]
    assert figures["legal_for_other"]["error"]["code"] == "report_not_due"
    assert figures["legal_for_agency"]["error"]["code"] == "case_not_found"

    body, digest = figures["daily_json"]
    assert figures["daily_again"] == (body, digest)  # the same bytes, the same hash
    daily = httpx.Response(200, content=body).json()
    assert run.mark is not None
    yesterday = run.mark.astimezone(ZoneInfo(ZONE)).date() - timedelta(days=1)
    assert (daily["agency_id"], daily["period"], daily["label"], daily["first_day"],
            daily["last_day"], daily["timezone"]) == (
        AGENCY, "daily", str(yesterday), str(yesterday), str(yesterday), ZONE)
    # the period ended before any case was placed: nothing in it
    assert (daily["cases_worked"], daily["contacts"]["total"], daily["promises"]["made"],
            daily["payments"]["received"], daily["complaints"]["received"],
            daily["service_levels"]["cases_judged"]) == (0, 0, 0, 0, 0, 0)
    midnight = datetime.combine(yesterday, datetime.min.time(), ZoneInfo(ZONE))
    assert (datetime.fromisoformat(daily["from"]), datetime.fromisoformat(daily["to"])) == (
        midnight, midnight + timedelta(days=1))
    creditors = httpx.Response(200, content=figures["daily_creditor"][0]).json()
    assert creditors["creditor_id"] == CREDITOR
    assert figures["daily_csv"][0].startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(figures["daily_csv"][0].decode("utf-8-sig"))))
    assert rows[0] == ["section", "item", "detail", "value"]
    assert ["report", "label", "", str(yesterday)] in rows
    assert figures["daily_pdf"][0].startswith(b"%PDF")
    weekly = httpx.Response(200, content=figures["weekly"][0]).json()
    assert weekly["period"] == "weekly"
    week_ago = yesterday - timedelta(days=6)
    assert (date.fromisoformat(weekly["first_day"]), date.fromisoformat(weekly["last_day"])) == (
        week_ago - timedelta(days=week_ago.weekday()),
        week_ago + timedelta(days=6 - week_ago.weekday()))
    assert weekly["label"] == f"{week_ago.isocalendar().year}-W{week_ago.isocalendar().week:02d}"
    assert (weekly["cases_worked"], weekly["contacts"]["total"]) == (0, 0)

    body, digest = figures["calls_json"]
    assert figures["calls_again"] == (body, digest)
    report = httpx.Response(200, content=body).json()
    assert [a["contact_id"] for a in report["attempts"]] == ["t-1", "t-2", "t-3"]
    assert report["timezone"] == ZONE
    due = datetime.fromisoformat(report["due_at"])
    assert report["due_at_local"] == f"{due.astimezone(ZoneInfo(ZONE)):%Y-%m-%d %H:%M} {ZONE}"
    assert report["generated_from"]["case_version"] == len(run.history("calls"))
    assert figures["calls_creditor"] == figures["calls_json"]  # the same report for its creditor
    assert figures["calls_csv"][0].startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(figures["calls_csv"][0].decode("utf-8-sig"))))
    assert [r["contact_id"] for r in rows] == ["t-1", "t-2", "t-3"], rows
    assert figures["calls_pdf"][0].startswith(b"%PDF")

    listed = httpx.Response(200, content=figures["list_json"][0]).json()
    assert listed["agency_id"] == AGENCY
    assert [c["case_id"] for c in listed["cases"]] == [run.ids["calls"]]
    assert listed["cases"][0] == report
    assert figures["list_csv"][0].startswith(b"\xef\xbb\xbf")
    assert figures["list_csv"][0].decode("utf-8-sig").count(run.ids["calls"]) == 3
    mine = httpx.Response(200, content=figures["list_creditor"][0]).json()
    assert [c["case_id"] for c in mine["cases"]] == [run.ids["calls"]]


def check_report_rules(run: Run) -> None:
    """A period not yet ended is a 422 naming query.day; another agency reads none."""
    agency = run.contact("agency")
    unfinished = agency.get(f"/v1/agencies/{AGENCY}/reports/daily",
                            params={"day": today().isoformat(), "timezone": ZONE})
    assert unfinished.status_code == 422, unfinished.text
    assert "query.day" in unfinished.text
    bad_zone = agency.get(f"/v1/agencies/{AGENCY}/reports/daily",
                          params={"day": "2026-01-01", "timezone": "Mars/Olympus"})
    assert bad_zone.status_code == 422, bad_zone.text
    assert "query.timezone" in bad_zone.text
    refused = run.contact("creditor").get(f"/v1/agencies/{AGENCY}/reports/daily", params={
        "day": "2026-01-01", "creditor_id": "BANK-OTHER"})
    assert refused.status_code == 403, refused.text  # a creditor reads its own cases only
    error(run.contact("other_agency").get(
        f"/v1/cases/{run.ids['calls']}/reports/three-calls-failed"), 404, "case_not_found")
    elsewhere = ok(run.contact("auditor").get(
        f"/v1/agencies/{AGENCY}/reports/three-calls-failed",
        params={"creditor_id": "BANK-OTHER"}))
    assert (elsewhere["creditor_id"], elsewhere["cases"]) == ("BANK-OTHER", [])
    other = run.contact("other_agency")
    for path in ("reports/daily", "reports/three-calls-failed"):
        refused = other.get(f"/v1/agencies/{AGENCY}/{path}", params={"day": "2026-01-01"})
        assert refused.status_code == 403, (path, refused.text)


# ------------------------------------------------------------------------------- rebuilds


def rebuilds_reproduce_the_figures(run: Run, before: dict[str, Any]) -> None:
    consumer = run.system.process("consumer")
    consumer.send_signal(signal.SIGTERM)
    assert consumer.wait(timeout=30) == 0, run.system.log("consumer")
    for transport in (run.transport, "log"):
        out = rebuild(run, "contact-log", "--verify", "--transport", transport)
        assert "verified" in out
        assert "DIFFERS" not in out
    out = rebuild(run, "case-summaries", "--verify")
    assert "verified" in out
    assert "DIFFERS" not in out
    assert read_figures(run) == before
    rebuild(run, "contact-log", "--swap", "--transport", run.transport)
    rebuild(run, "case-summaries", "--swap")
    after = read_figures(run)
    assert after == before
    check_figures(run, after)


def run_agencies(system: System, *, relay: bool, transport: str) -> None:
    clear_of_midnight()
    run = start(system, relay=relay, transport=transport)
    registry(run)
    qualification_and_placement(run)
    collector_contacts(run)
    three_calls(run)
    legal_hand_off(run)
    run.mark = now()
    caught_up(run)
    figures = eventually(system, lambda: read_figures(run),
                         lambda f: f["sla_other"] == [run.ids["legal"]]
                         and f["timeliness"]["agency"]["count"] == 8
                         and len(f["contacts"]) == 9)
    check_figures(run, figures)
    check_report_rules(run)
    rebuilds_reproduce_the_figures(run, figures)
    for client in run.clients.values():
        client.close()


def test_agency_workflows_from_http_to_the_read_models_on_the_embedded_transport(
        embedded: System) -> None:
    run_agencies(embedded, relay=False, transport="feed")


@pytest.mark.kafka
def test_agency_workflows_from_http_to_the_read_models_through_kafka(
        on_kafka: System) -> None:
    run_agencies(on_kafka, relay=True, transport="kafka")
