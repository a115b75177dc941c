"""The auditor: search cases, read a case's timeline (actor, local and UTC times, payload,
national id in clear), see it as of any instant, download the regulator export, and have
the browser itself verify every event's inclusion proof and the checkpoint's signature
against the key the auditor pinned."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from casetrail.merkle import generate_signing_key, verifier_key

from tests.browser.conftest import jsonl_lines, only_console_requests, pin_key, zh
from tests.browser.system import CREDITOR, ConsoleSystem

SHANGHAI = ZoneInfo("Asia/Shanghai")


def latest_tree_size(system: ConsoleSystem) -> int:
    found = system.api("case", "auditor").get("/v1/audit/checkpoints").json()
    return int(found["checkpoints"][-1]["tree_size"])


def history(system: ConsoleSystem, case_id: str) -> list[dict[str, Any]]:
    answer = system.api("case", "auditor").get(f"/v1/cases/{case_id}/history")
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def test_the_auditor_finds_a_case_and_reads_its_timeline(tabs: Any,
                                                         system: ConsoleSystem) -> None:
    tab = tabs("auditor")
    tab.open(f"/cases?creditor_id={CREDITOR}")
    listed = tab.page.locator("#case-table tbody tr a[data-case-id]")
    assert listed.count() == 6
    case_id = system.case_ids[0]
    tab.page.fill("#q", case_id)
    tab.page.click(".filters button[type=submit]")
    tab.page.wait_for_load_state()
    assert tab.page.url.endswith(f"/cases/{case_id}")
    assert tab.text("h1") == "案件 WEB-001"
    assert tab.text("#debtor-name") == "张三"
    assert tab.text("#debtor-national-id") == "110101199001000001"  # auditors: in clear
    expected = history(system, case_id)
    rows = tab.page.locator("#timeline tbody tr")
    assert rows.count() == len(expected)
    for i, event in enumerate(expected):
        row = rows.nth(i)
        assert row.get_attribute("data-type") == event["type"]
        assert row.locator("td.actor").inner_text() == event["actor"]
        recorded = datetime.fromisoformat(event["recorded_at"])
        cell = row.locator("td").nth(3).inner_text()
        assert recorded.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") in cell
        assert "Asia/Shanghai UTC+08:00" in cell
        assert recorded.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") in cell
    placed = rows.nth(0)
    placed.locator("summary").click()
    assert "110101199001000001" in placed.locator("details").inner_text()


def test_as_of_shows_the_case_as_it_stood_then(tabs: Any, system: ConsoleSystem) -> None:
    case_id = system.case_ids[0]
    expected = history(system, case_id)
    tab = tabs("auditor", "en")
    tab.open(f"/cases/{case_id}")
    tab.page.locator("#timeline tbody tr").nth(0).locator("a").click()  # as of the placement
    tab.page.wait_for_load_state()
    assert tab.page.locator("#timeline tbody tr").count() == 1
    assert tab.text("#case-version") == "1"
    assert tab.text("#case-status") == "placed"
    assert "Showing the case as it stood at" in tab.text("#as-of-notice")
    # The form takes a wall-clock time in the debtor's zone.
    second = datetime.fromisoformat(expected[1]["recorded_at"]).astimezone(SHANGHAI)
    tab.page.fill("#as_of", second.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S"))
    tab.page.click("form.inline button[type=submit]")
    tab.page.wait_for_load_state()
    shown = tab.page.locator("#timeline tbody tr").count()
    recorded_by_then = [e for e in expected if datetime.fromisoformat(e["recorded_at"])
                        <= second.replace(microsecond=0)]
    assert shown == len(recorded_by_then)


def test_the_browser_verifies_each_event_against_the_pinned_key(tabs: Any,
                                                                system: ConsoleSystem) -> None:
    tab = tabs("auditor")
    pin_key(tab, system.verifier_key)
    tab.open(f"/cases/{system.case_ids[0]}")
    verdict = tab.page.wait_for_selector("#verify-result[data-status=verified]")
    size = latest_tree_size(system)
    assert tab.text("#verify-verdict") == f"✓ 已对照检查点 {size} 验证"
    cells = tab.page.locator("[data-verify-version]")
    assert cells.count() == len(history(system, system.case_ids[0]))
    assert all(cells.nth(i).get_attribute("data-state") == "included"
               for i in range(cells.count()))
    assert verdict is not None
    # The key is the auditor's own copy, kept in this browser, never sent anywhere.
    pinned = tab.page.evaluate("() => localStorage.getItem('casetrail.console.pinnedKey')")
    assert pinned == system.verifier_key
    assert only_console_requests(tab) == []
    assert tab.problems == []
    tab.shot("auditor-case-verified-zh")


def tamper(route: Any, change: Any) -> None:
    """Serve the proofs with a change: the console (or anyone between) lying."""
    original = route.fetch()
    body = original.json()
    change(body)
    route.fulfill(response=original, body=json.dumps(body),
                  headers={**original.headers, "content-type": "application/json"})


def flip_payload(body: dict[str, Any]) -> None:
    event = body["audit"]["events"][1]
    payload = bytearray(base64.b64decode(event["payload"]))
    payload[-3] ^= 0x01
    event["payload"] = base64.b64encode(bytes(payload)).decode()


def test_an_altered_event_fails_and_the_page_says_which(tabs: Any,
                                                        system: ConsoleSystem) -> None:
    case_id = system.case_ids[0]
    tab = tabs("auditor", "en")
    pin_key(tab, system.verifier_key)
    tab.page.route(f"**/cases/{case_id}/proofs.json", lambda route: tamper(route, flip_payload))
    tab.open(f"/cases/{case_id}")
    tab.page.wait_for_selector("#verify-result[data-status=failed]")
    assert tab.text("#verify-verdict") == "✗ Verification failed"
    problems = tab.page.locator("#verify-problems li")
    assert [problems.nth(i).get_attribute("data-problem") for i in range(problems.count())] \
        == ["proof_fails"]
    assert "version 2 (" in problems.nth(0).inner_text()
    assert "does not lead to the signed root" in problems.nth(0).inner_text()
    assert tab.page.get_attribute("[data-verify-version='2']", "data-state") == "not_included"
    assert tab.page.get_attribute("[data-verify-version='1']", "data-state") == "included"
    assert tab.axe() == []  # the verdict as rendered
    tab.shot("auditor-case-tampered-en")


def test_an_export_cut_short_fails_on_the_signed_count(tabs: Any,
                                                       system: ConsoleSystem) -> None:
    case_id = system.case_ids[0]
    tab = tabs("auditor", "en")
    pin_key(tab, system.verifier_key)
    tab.page.route(f"**/cases/{case_id}/proofs.json",
                   lambda route: tamper(route, lambda body: body["audit"]["events"].pop()))
    tab.open(f"/cases/{case_id}")
    tab.page.wait_for_selector("#verify-result[data-status=failed]")
    assert tab.page.get_attribute("#verify-problems li", "data-problem") == "count"


def test_a_checkpoint_not_signed_by_the_pinned_key_fails(tabs: Any,
                                                         system: ConsoleSystem) -> None:
    origin = system.verifier_key.split("+")[0]
    stranger = verifier_key(origin, generate_signing_key()[1])
    tab = tabs("auditor", "en")
    pin_key(tab, stranger)
    tab.open(f"/cases/{system.case_ids[1]}")
    tab.page.wait_for_selector("#verify-result[data-status=failed]")
    assert tab.page.get_attribute("#verify-problems li", "data-problem") == "note_other_key"
    assert tab.text("#verify-problems li") == \
        "the checkpoint note is signed by another key than the pinned one"
    assert tab.page.locator("[data-verify-version][data-state=included]").count() == 0


def test_events_after_the_checkpoint_are_partial_until_the_next_one(
        tabs: Any, system: ConsoleSystem) -> None:
    case_id = system.case_ids[2]
    answer = system.api("case", "agency").post(f"/v1/cases/{case_id}/contacts", json={
        "contact_id": "after-checkpoint-1", "channel": "sms", "direction": "outbound",
        "party": "debtor", "outcome": "delivered", "action_code": "SMS",
        "occurred_at": datetime.now(UTC).isoformat()})
    assert answer.status_code == 201, answer.text
    tab = tabs("auditor")
    pin_key(tab, system.verifier_key)
    tab.open(f"/cases/{case_id}")
    tab.page.wait_for_selector("#verify-result[data-status=partial]")
    size = latest_tree_size(system)
    assert tab.text("#verify-verdict") == "✓ " + zh("js.partial", size=size, after=1)
    last = history(system, case_id)[-1]["version"]
    assert tab.page.get_attribute(f"[data-verify-version='{last}']", "data-state") \
        == "after_checkpoint"
    system.cli("audit", "checkpoint")
    tab.page.click("#verify-button")
    tab.page.wait_for_selector("#verify-result[data-status=verified]")
    assert tab.text("#verify-verdict") == f"✓ 已对照检查点 {latest_tree_size(system)} 验证"


def test_the_regulator_export_downloads_as_jsonl_and_pdf(tabs: Any, system: ConsoleSystem,
                                                         tmp_path: Path) -> None:
    case_id = system.case_ids[0]
    tab = tabs("auditor")
    tab.open(f"/cases/{case_id}")
    with tab.page.expect_download() as jsonl_download:
        tab.page.click("#export-jsonl")
    jsonl = tmp_path / jsonl_download.value.suggested_filename
    jsonl_download.value.save_as(jsonl)
    assert jsonl.name == f"{case_id}.jsonl"
    lines = jsonl_lines(jsonl.read_bytes())
    assert lines[0]["case_statement"]["case_id"] == case_id
    assert [line["version"] for line in lines[1:]] == list(range(1, len(lines)))
    checked = subprocess.run(
        [sys.executable, "-m", "casetrail.merkle", "verify-export", str(jsonl),
         "--public-key", system.verifier_key], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "VERIFIED" in checked.stdout
    with tab.page.expect_download() as pdf_download:
        tab.page.click("#export-pdf")
    pdf = tmp_path / pdf_download.value.suggested_filename
    pdf_download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    text = document[0].get_textpage().get_text_range()
    assert "WEB-001" in text
    assert "110101199001000001" in text  # an auditor's export shows the national id
