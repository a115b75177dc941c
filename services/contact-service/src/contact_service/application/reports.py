"""Reports to the creditor (issue 21 item 8; docs/contact-operations.md, "Reports"): an
agency's daily, weekly and monthly report, and the per-case "three calls failed" report,
each as JSON, CSV (UTF-8 with a BOM) or PDF, with the SHA-256 of the bytes.

Every figure comes from the contact log by the functions the other answers use: contacts per
action code, promises, complaints and the complaint rate from the contact KPIs
(`domain/kpis.contact_kpis` over `qa_store.load_kpi_facts`), service levels from
`domain/service_levels.evaluate_service_levels` over `ServiceLevelReader`, and counts the KPIs
do not hold (contacts per outcome and channel, cases worked, complaints open, payments
and the amounts collected per currency) from
`adapters/report_queries.py`. Nothing reads the clock but the check that a period is over,
so the same read model gives the same bytes; a report names the log positions it rests on
(`generated_from`).

Who sees what: an agency key its own agency's reports (another agency: 403, as the KPIs); a
creditor key the reports over its own cases only; auditors and admins any, optionally of one
creditor. The case report: whoever sees the case (else 404, as no such case).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from casetrail.clock import Clock, check_zone
from casetrail.security import Principal, Role
from sqlalchemy.engine import Engine

from contact_service.adapters.agency_settings import AgencySettingsStore
from contact_service.adapters.report_pdf import (
    agency_report_pdf,
    three_calls_list_pdf,
    three_calls_pdf,
)
from contact_service.adapters.report_queries import ReportReader
from contact_service.adapters.service_levels import ServiceLevelReader, parse_instant
from contact_service.application.access import require_roles, sees_case
from contact_service.application.errors import CaseNotFound, Forbidden
from contact_service.domain.kpis import Period, contact_kpis
from contact_service.domain.local_time import LocalWindow, midnight, stamp
from contact_service.domain.reports import (
    ReportFormat,
    ReportPeriod,
    ServiceLevelResults,
    ThreeCallsFailed,
    assemble_agency_report,
    period_days,
    period_label,
    report_csv,
    three_calls_csv,
    three_calls_failed,
)
from contact_service.domain.service_levels import (
    DEFAULT_TERMS,
    evaluate_service_levels,
)

RULE = (f"the first {DEFAULT_TERMS.initial_calls} outbound phone attempts of the case's "
        "current assignment were made and none, nor any phone contact at or before the last "
        "of them, reached the debtor (party debtor, outcome "
        f"{'/'.join(sorted(DEFAULT_TERMS.reached_outcomes))}); due at the last attempt")
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8",
               "pdf": "application/pdf"}
SERVICE_LEVEL_PAGE = 1000


class PeriodNotEnded(ValueError):
    """A report of a period that has not ended yet (its figures would still change)."""


class UnknownTimezone(ValueError):
    """The stated zone is not an IANA zone."""


class ReportNotDue(LookupError):
    """The case's three-calls-failed report is not triggered (yet)."""


@dataclass(frozen=True)
class Rendered:
    """A report's bytes in one format, their media type, SHA-256 and a file name."""

    body: bytes
    media_type: str
    sha256: str
    filename: str


def render(report: dict[str, Any], fmt: ReportFormat, stem: str, *, csv_text: str,
           pdf: bytes | None) -> Rendered:
    """The report's bytes: canonical JSON (UTF-8, keys in the report's order), CSV with a
    BOM, or the PDF given."""
    if fmt == "json":
        body = json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode()
    elif fmt == "csv":
        body = ("\ufeff" + csv_text).encode()
    else:
        assert pdf is not None
        body = pdf
    return Rendered(body, MEDIA_TYPES[fmt], hashlib.sha256(body).hexdigest(),
                    f"{stem}.{fmt}")


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


class Reports:
    """The agency reports and the three-calls-failed reports."""

    def __init__(self, reader: ReportReader, levels: ServiceLevelReader,
                 agencies: AgencySettingsStore, clock: Clock):
        self.reader, self.levels, self.agencies, self.clock = reader, levels, agencies, clock

    @classmethod
    def over(cls, engine: Engine, agencies: AgencySettingsStore, clock: Clock) -> Reports:
        """The reports over the contact service's database."""
        return cls(ReportReader(engine), ServiceLevelReader(engine), agencies, clock)

    # ------------------------------------------------------------------ scope

    @staticmethod
    def _creditor_scope(caller: Principal, agency_id: str, creditor_id: str | None
                        ) -> str | None:
        require_roles(caller, Role.ADMIN, Role.AUDITOR, Role.CREDITOR, Role.AGENCY)
        if caller.role is Role.AGENCY and caller.tenant != agency_id:
            raise Forbidden("an agency key reads only its own agency's reports")
        if caller.role is Role.CREDITOR:
            if creditor_id is not None and creditor_id != caller.tenant:
                raise Forbidden("a creditor key reads reports of its own cases only")
            return caller.tenant
        return creditor_id

    # ------------------------------------------------------------------ agency reports

    def window(self, agency_id: str, period: ReportPeriod, day: date, timezone: str | None
               ) -> LocalWindow:
        """The period's local days and instants, in `timezone` or else the agency's zone."""
        first, end = period_days(period, day)
        if timezone is None:
            return self.agencies.history(agency_id).window(first, end)
        try:
            zone = check_zone(timezone)
        except ValueError as exc:
            raise UnknownTimezone(str(exc)) from None
        return LocalWindow(zone, first, end, midnight(first, zone), midnight(end, zone))

    def agency_report(self, caller: Principal, agency_id: str, period: ReportPeriod, day: date,
                      *, timezone: str | None, creditor_id: str | None) -> dict[str, Any]:
        """The figures of an agency's period (JSON form)."""
        creditor = self._creditor_scope(caller, agency_id, creditor_id)
        window = self.window(agency_id, period, day, timezone)
        if window.stop > self.clock.now():
            raise PeriodNotEnded(f"the period {period_label(period, window.first)} ends at "
                                 f"{stamp(window.stop, window.timezone)}: a report covers "
                                 "a period that has ended")
        start, end = window.start, window.stop
        generated_from = self.reader.generated_from()
        facts = self.reader.kpi_facts(agency_id, start, end, creditor)
        return assemble_agency_report(
            agency_id=agency_id, creditor_id=creditor, period=period,
            window=LocalWindow(window.timezone, window.first, window.end, start.astimezone(UTC),
                               end.astimezone(UTC)),
            generated_from=generated_from,
            kpis=contact_kpis(agency_id, Period(start, end), facts.assignments,
                              facts.contacts, facts.promises, facts.violations,
                              facts.complaints),
            counts=self.reader.contact_counts(agency_id, start, end, creditor),
            payments=self.reader.payments_received(agency_id, start, end, creditor),
            complaints_open=self.reader.complaints_open(agency_id, end, creditor),
            service_levels=self._service_levels(agency_id, creditor, start, end))

    def _service_levels(self, agency_id: str, creditor_id: str | None, start: datetime,
                        end: datetime) -> ServiceLevelResults:
        """Every case the agency holds that was assigned by the period's end (of the
        creditor, if given), judged as of then in the agency's days."""
        results = ServiceLevelResults(start.astimezone(UTC), end.astimezone(UTC))
        zones = self.agencies.history(agency_id)
        tenant = {} if creditor_id is None else {"creditor_id": creditor_id}
        after = None
        while True:
            records, after = self.levels.page(
                tenant=tenant, agency_id=agency_id, assigned_from=None, assigned_to=None,
                assigned_by=end, after=after, limit=SERVICE_LEVEL_PAGE)
            for record in records:
                results.add(evaluate_service_levels(record.facts, end, zones=zones))
            if after is None:
                return results

    def agency_report_in(self, caller: Principal, agency_id: str, period: ReportPeriod,
                         day: date, fmt: ReportFormat, *, timezone: str | None,
                         creditor_id: str | None) -> Rendered:
        """The agency report in one format."""
        report = self.agency_report(caller, agency_id, period, day, timezone=timezone,
                                    creditor_id=creditor_id)
        stem = f"report-{agency_id}-{period}-{report['label']}"
        return render(report, fmt, stem, csv_text=report_csv(report) if fmt == "csv" else "",
                      pdf=agency_report_pdf(report) if fmt == "pdf" else None)

    # ------------------------------------------------------------------ three calls failed

    def case_three_calls(self, caller: Principal, case_id: str) -> dict[str, Any]:
        """The case's three-calls-failed report (JSON form); ReportNotDue before it is
        triggered."""
        case = self.reader.case(case_id)
        if case is None or not sees_case(caller, case):
            raise CaseNotFound(case_id)
        found = three_calls_failed(self.reader.phone_contacts([case_id])[case_id],
                                   parse_instant(case["assigned_at"]))
        if found is None:
            raise ReportNotDue(
                f"case {case_id}: the first {DEFAULT_TERMS.initial_calls} call attempts of "
                "its current assignment have not all failed (yet)")
        return self._case_report(case, found)

    def _case_report(self, case: dict[str, Any], found: ThreeCallsFailed) -> dict[str, Any]:
        zone = self.agencies.history(case["agency_id"]).at(found.due_at)
        return {
            "report": "three_calls_failed", "case_id": case["case_id"],
            "creditor_id": case["creditor_id"], "agency_id": case["agency_id"],
            "assigned_at": _iso(parse_instant(case["assigned_at"])),
            "due_at": _iso(found.due_at), "due_at_local": stamp(found.due_at, zone),
            "timezone": zone, "rule": RULE,
            "attempts": [{"occurred_at": _iso(a.occurred_at), "channel": a.channel,
                          "direction": a.direction, "party": a.party, "outcome": a.outcome,
                          "action_code": a.action_code, "contact_id": a.contact_id,
                          "agent_id": a.agent_id} for a in found.attempts],
            "generated_from": {"case_version": int(case["version"]),
                               "position": int(case["position"])},
        }

    def case_three_calls_in(self, caller: Principal, case_id: str, fmt: ReportFormat
                            ) -> Rendered:
        """The case's three-calls-failed report in one format."""
        report = self.case_three_calls(caller, case_id)
        return render(report, fmt, f"three-calls-failed-{case_id}",
                      csv_text=three_calls_csv([report]) if fmt == "csv" else "",
                      pdf=three_calls_pdf(report) if fmt == "pdf" else None)

    def agency_three_calls(self, caller: Principal, agency_id: str, creditor_id: str | None
                           ) -> dict[str, Any]:
        """The cases the agency holds whose three-calls-failed report is triggered, by due
        time (then case id)."""
        creditor = self._creditor_scope(caller, agency_id, creditor_id)
        cases = self.reader.agency_cases(agency_id, creditor)
        contacts = self.reader.phone_contacts([c["case_id"] for c in cases])
        reports = []
        for case in cases:
            found = three_calls_failed(contacts.get(case["case_id"], []),
                                       parse_instant(case["assigned_at"]))
            if found is not None:
                reports.append(self._case_report(case, found))
        reports.sort(key=lambda r: (r["due_at"], r["case_id"]))
        return {"report": "three_calls_failed_list", "agency_id": agency_id,
                "creditor_id": creditor, "rule": RULE,
                "generated_from": self.reader.generated_from(),
                "cases": reports}

    def agency_three_calls_in(self, caller: Principal, agency_id: str, fmt: ReportFormat,
                              creditor_id: str | None) -> Rendered:
        """The list in JSON, CSV (one row per failed attempt) or PDF."""
        listed = self.agency_three_calls(caller, agency_id, creditor_id)
        return render(listed, fmt, f"three-calls-failed-{agency_id}",
                      csv_text=three_calls_csv(listed["cases"]) if fmt == "csv" else "",
                      pdf=three_calls_list_pdf(listed) if fmt == "pdf" else None)
