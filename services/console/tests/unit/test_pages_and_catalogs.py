"""What the console decides by itself: navigation per role, times in a zone and UTC, the
portfolio's chart series, and message catalogs complete in both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib import resources

import pytest
from casetrail.security import Role
from console_service.adapters.catalogs import Catalogs
from console_service.domain import portfolio
from console_service.domain.navigation import home, may_open, navigation
from console_service.domain.times import local_input_to_instant, show_instant
from contact_service.domain.service_levels import SERVICE_LEVELS


def test_each_role_has_its_own_navigation() -> None:
    pages = {role: [item.page for item in navigation(role)] for role in Role}
    assert "placements" in pages[Role.CREDITOR]
    assert "worklist" not in pages[Role.CREDITOR]
    assert "worklist" in pages[Role.AGENCY]
    assert "placements" not in pages[Role.AGENCY]
    assert "verification" in pages[Role.AUDITOR]
    assert "placements" not in pages[Role.AUDITOR]
    assert not may_open(Role.AGENCY, "allocation")
    assert home(Role.AGENCY) == "/worklist"


def test_an_instant_is_shown_in_the_zone_and_in_utc() -> None:
    shown = show_instant("2026-11-20T01:30:00+00:00", "Asia/Shanghai")
    assert shown is not None
    assert (shown.local, shown.offset, shown.utc) == (
        "2026-11-20 09:30:00", "UTC+08:00", "2026-11-20 01:30:00")
    assert show_instant("not a time", "Asia/Shanghai") is None
    assert show_instant("2026-11-20T01:30:00Z", "No/Such_Zone").zone == "UTC"  # type: ignore[union-attr]


def test_a_wall_clock_input_is_read_in_the_zone() -> None:
    assert local_input_to_instant("2026-11-20T09:30", "Asia/Shanghai") == datetime(
        2026, 11, 20, 1, 30, tzinfo=UTC)
    assert local_input_to_instant("2026-11-20T09:30:00+00:00", "Asia/Shanghai") == datetime(
        2026, 11, 20, 9, 30, tzinfo=UTC)
    assert local_input_to_instant("", "UTC") is None


def test_buckets_are_summed_over_agencies_with_the_rate_of_the_sums() -> None:
    agencies = [
        {"agency_id": "A", "by_bucket": [
            {"bucket": "M2", "placed_amount": "1000.00", "recovered_amount": "100.00"},
            {"bucket": "M10", "placed_amount": "50.00", "recovered_amount": "0.00"}]},
        {"agency_id": "B", "by_bucket": [
            {"bucket": "M2", "placed_amount": "3000.00", "recovered_amount": "900.00"},
            {"bucket": "M1", "placed_amount": "10.00", "recovered_amount": "10.00"}]}]
    chart = portfolio.by_bucket(agencies)
    assert chart["buckets"] == ["M1", "M2", "M10"]
    assert chart["placed"] == [10.0, 4000.0, 50.0]
    assert chart["recovery_rate"] == [100.0, 25.0, 0.0]


def test_liquidation_curves_are_one_line_per_agency_and_vintage() -> None:
    curves = portfolio.liquidation_curves([{"agency_id": "A", "by_vintage": [
        {"vintage": "2026-10", "liquidation_curve": [
            {"liquidation_rate": "0.0100"}, {"liquidation_rate": "0.0525"}]}]}])
    assert curves == {"months": [0, 1], "series": [{"name": "A 2026-10", "data": [1.0, 5.25]}]}


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load()


def test_roll_rates_are_bars_per_starting_bucket_and_agency_in_the_reports_order() -> None:
    report = {  # the shape of the case service's GET /v1/creditors/{id}/roll-rates
        "creditor_id": "BANK", "from": "2026-11-01", "to": "2026-11-30",
        "timezone": "Asia/Shanghai", "bucket_order": ["paid", "current", "M1", "M2", "M3"],
        "agencies": [
            {"agency_id": "A", "buckets": [
                {"bucket": "M1", "cases": 4, "balance": "4000.00",
                 "to": {"paid": 1, "M1": 1, "M2": 2}, "roll_forward_rate": "0.5000",
                 "cure_rate": "0.2500"},
                {"bucket": "M3", "cases": 1, "balance": "900.00", "to": {"M3": 1},
                 "roll_forward_rate": "0.0000", "cure_rate": "0.0000"}]},
            {"agency_id": "B", "buckets": [
                {"bucket": "M2", "cases": 2, "balance": "1500.50", "to": {"current": 2},
                 "roll_forward_rate": "0.0000", "cure_rate": "1.0000"}]}]}
    chart = portfolio.roll_rates(report)
    assert chart["buckets"] == ["M1", "M2", "M3"]
    assert chart["series"] == [
        {"name": "A", "roll_forward": [50.0, None, 0.0], "cure": [25.0, None, 0.0]},
        {"name": "B", "roll_forward": [None, 0.0, None], "cure": [None, 100.0, None]}]
    assert [(r["agency_id"], r["bucket"], r["cases"]) for r in chart["rows"]] == [
        ("A", "M1", 4), ("A", "M3", 1), ("B", "M2", 2)]
    assert chart["timezone"] == "Asia/Shanghai"
    assert portfolio.roll_rates({"bucket_order": ["M1"], "agencies": []})["rows"] == []


def test_both_languages_have_every_message_with_the_same_placeholders(
        catalogs: Catalogs) -> None:
    assert catalogs.missing() == {}
    assert catalogs.placeholders_differ() == []
    assert catalogs.translate("zh", "nav.cases") == "案件"
    assert catalogs.translate("en", "nav.cases") == "Cases"


def test_every_message_a_template_names_is_in_the_catalogs(catalogs: Catalogs) -> None:
    folder = resources.files("console_service") / "templates"
    named = set()
    for template in folder.iterdir():
        named |= set(re.findall(r"\bt\('([a-z_.0-9]+)'", template.read_text("utf-8")))
    prefixes = {k for k in named if k.endswith(".")}  # t('status.' ~ value): checked below
    missing = sorted(k for k in named - prefixes if k not in catalogs.messages["zh"])
    assert missing == []


@pytest.mark.parametrize(("prefix", "values"), [
    ("status.", ["placed", "active", "promised", "arrangement", "disputed", "recalled",
                 "closed"]),
    ("event.", ["Placed", "Contacted", "PaymentReceived", "PaymentReversed", "PromisedToPay",
                "PromiseKept", "PromiseBroken", "PromiseReopened", "RepaymentPlanAgreed",
                "Disputed", "DisputeResolved", "HardshipFlagged", "CeaseContactRequested",
                "Escalated", "Recalled", "Reassigned", "Closed", "ComplaintReceived",
                "ComplaintAcknowledged", "ComplaintInvestigated", "ComplaintResolved",
                "ComplaintDeadlineMissed", "VisitRequested", "VisitApproved", "VisitRejected",
                "VisitPerformed", "VisitReported", "SettlementProposed", "SettlementApproved",
                "SettlementRejected", "SettlementFulfilled", "SettlementDefaulted",
                "PiiRevealed", "HandedToLawFirm", "LitigationStageRecorded",
                "LegalDocumentReferenced", "ReallocatedByScorecard"]),
    ("sla.status.", ["met", "breached", "pending", "not_applicable"]),
    # every service level the contact service reports, named from its own list
    ("sla.", list(SERVICE_LEVELS)),
    ("work.", ["service_level_overdue", "service_level_due", "promise_due",
               "promise_follow_up", "visit_due"]),
    ("qa.population.", ["recorded_calls", "visit_records", "repaid_cases"]),
])
def test_values_the_services_send_have_labels(catalogs: Catalogs, prefix: str,
                                              values: list[str]) -> None:
    for lang in ("zh", "en"):
        assert [v for v in values if prefix + v not in catalogs.messages[lang]] == []
