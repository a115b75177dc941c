"""The agency: today's worklist in the zone the contact service states, a case workspace with
masked PII where the contact permission is shown before dialling, forms to record a contact,
a promise and a payment, service levels, and QA samples with their findings."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import zh
from tests.browser.system import AGENCY_A, ConsoleSystem


def permission(system: ConsoleSystem, case_id: str, channel: str) -> dict[str, Any]:
    answer = system.api("contact", "agency").get(
        f"/v1/cases/{case_id}/contact-permission", params={"channel": channel,
                                                           "party": "debtor"})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_the_worklist_is_for_today_in_the_zone_the_service_states(
        tabs: Any, system: ConsoleSystem) -> None:
    worklist = system.api("contact", "agency").get("/v1/worklist").json()
    zone = worklist.get("timezone") or "UTC"
    tab = tabs("agency", "en")
    tab.open("/worklist")
    assert tab.text("#worklist-day") == \
        f"Work for {worklist['date']} ({zone}) · {worklist['total']} items"
    rows = tab.page.locator("#worklist tbody tr")
    assert rows.count() == max(1, min(worklist["total"], 50))
    if worklist["items"]:
        first = worklist["items"][0]
        assert rows.nth(0).locator("a").get_attribute("href") == f"/cases/{first['case_id']}"
        assert first["reason"] in rows.nth(0).inner_text()
    tab.shot("agency-worklist-en")


def test_the_workspace_shows_the_permission_before_dialling_and_records_the_work(
        tabs: Any, system: ConsoleSystem) -> None:
    case_id = system.case_ids[1]
    tab = tabs("agency")
    tab.open(f"/cases/{case_id}")
    assert tab.text("#debtor-national-id").startswith("*")  # masked for agencies
    phone = permission(system, case_id, "phone")
    verdict = tab.page.locator("#permission-verdict")
    assert verdict.get_attribute("data-allowed") == str(phone["allowed"]).lower()
    assert ("允许" if phone["allowed"] else "不允许") in verdict.inner_text()
    tab.shot("agency-workspace-zh")
    # Choosing another channel asks again before anything is recorded.
    tab.page.select_option("#channel", "letter")
    letter = permission(system, case_id, "letter")
    tab.page.wait_for_selector("#permission-verdict:has-text('信函')")
    assert tab.page.get_attribute("#permission-verdict", "data-allowed") == \
        str(letter["allowed"]).lower()
    version = int(tab.text("#case-version"))

    tab.page.select_option("#channel", "phone")
    tab.page.fill("#action_code", "PTP")
    tab.page.fill("#agent_id", "agent-7")
    tab.page.click("#contact-form button[type=submit]")
    tab.page.wait_for_load_state()
    assert tab.text("#done") == "联系已记录。"
    assert int(tab.text("#case-version")) == version + 1
    assert tab.page.locator("#timeline tbody tr").last.get_attribute("data-type") == "Contacted"

    tab.page.fill("#amount", "500.00")
    tab.page.click("#promise-form button[type=submit]")
    tab.page.wait_for_load_state()
    assert tab.text("#done") == "还款承诺已记录。"

    outstanding = float(tab.text("#case-outstanding").split()[0].replace(",", ""))
    tab.page.fill("#reference", "WEB-PAY-9")
    tab.page.fill("#payment_amount", "abc")  # refused by the case service, shown on the field
    tab.page.click("#payment-form button[type=submit]")
    tab.page.wait_for_load_state()
    assert tab.page.locator("#payment_amount-error").count() == 1
    assert tab.axe() == []  # a form with a refused field too
    assert tab.page.input_value("#reference") == "WEB-PAY-9"  # what was typed is kept
    tab.page.fill("#payment_amount", "300.00")
    tab.page.click("#payment-form button[type=submit]")
    tab.page.wait_for_load_state()
    assert tab.text("#done") == "还款已记录。"
    after = float(tab.text("#case-outstanding").split()[0].replace(",", ""))
    assert round(outstanding - after, 2) == 300.00
    assert tab.problems == []


def test_a_disputed_case_is_denied_with_the_rule_and_no_next_time(
        tabs: Any, system: ConsoleSystem) -> None:
    case_id = system.case_ids[3]
    system.wait_for_contact_log(case_id, 2)
    expected = permission(system, case_id, "phone")
    assert expected["allowed"] is False
    tab = tabs("agency", "en")
    tab.open(f"/cases/{case_id}")
    assert tab.page.get_attribute("#permission-verdict", "data-allowed") == "false"
    denials = tab.page.locator("#permission .denials li").all_inner_texts()
    assert len(denials) == len(expected["denials"])
    for shown, denial in zip(denials, expected["denials"], strict=True):
        assert denial["rule_id"] in shown
        assert denial["reason"] in shown
    assert expected["earliest_allowed_at"] is None  # a dispute holds contact until resolved
    assert tab.text("#permission-next") == "never, under the current rules"


def test_another_agency_cannot_open_the_case(tabs: Any, system: ConsoleSystem) -> None:
    tab = tabs("agency_b")
    response = tab.open(f"/cases/{system.case_ids[0]}")
    assert response.status == 404
    assert tab.text("h1") == zh("error.not_found")
    assert tab.axe() == []  # error pages too


def test_service_levels_and_a_qa_sample_with_its_findings(tabs: Any,
                                                          system: ConsoleSystem) -> None:
    report = system.api("contact", "agency").get("/v1/sla", params={"limit": 50}).json()
    tab = tabs("agency")
    tab.open("/service-levels")
    assert tab.page.locator("#sla-totals tbody tr").count() == len(report["totals"])
    assert tab.page.locator("#sla-cases tbody tr").count() == max(1, len(report["cases"]))
    tab.open("/qa")
    tab.page.click("#draw-form button[type=submit]")
    tab.page.wait_for_load_state()
    assert "/qa/" in tab.page.url
    assert AGENCY_A in tab.text("h1")
    assert tab.text("#sample-verification") == "一致"
    assert tab.page.locator("#item_id option").count() > 0  # the seeded recorded calls
    tab.page.fill("#score", "55")
    tab.page.fill("#findings", "未核实身份即透露欠款信息")
    tab.page.check("input[name=serious][value=yes]")
    tab.page.click("#review-form button[type=submit]")
    tab.page.wait_for_load_state()
    assert tab.text("#reviewed") == "评审已记录。"
    row = tab.page.locator("#reviews tbody tr").last
    assert "未核实身份即透露欠款信息" in row.inner_text()
    assert "严重" in row.inner_text()
    assert "UTC" in row.locator("td").nth(4).inner_text()  # escalate by, 24 h later
    assert tab.axe() == []
