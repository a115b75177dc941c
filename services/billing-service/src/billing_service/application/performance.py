"""Performance reports: agency figures and a creditor's side-by-side agency comparison, over
days in a stated time zone (the report says which: the one asked for, else the service's
default zone), with money counted up to the end of `as_of` (default: today there, by the
service's clock)."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from casetrail.clock import DEFAULT_TIMEZONE, SYSTEM_CLOCK, Clock

from billing_service.adapters.contracts import ContractBook
from billing_service.adapters.database import Connection, Database
from billing_service.adapters.facts import LedgerFacts
from billing_service.domain.contracts import ContractVersion
from billing_service.domain.errors import MixedCurrencies
from billing_service.domain.invoice import Period
from billing_service.domain.ledger import CaseFacts
from billing_service.domain.performance import (
    PromiseFact,
    agency_performance,
    champion,
    report_window,
)

DEFAULT_CURRENCY = "CNY"


class PerformanceReports:
    """Builds performance figures from the read model and the contracts ("today" from
    `clock`; days in `default_timezone` unless a report asks for another zone)."""

    def __init__(self, database: Database, contracts: ContractBook, facts: LedgerFacts,
                 clock: Clock = SYSTEM_CLOCK, default_timezone: str = DEFAULT_TIMEZONE):
        self.database, self.contracts, self.facts = database, contracts, facts
        self.clock, self.default_timezone = clock, default_timezone

    def agency(self, agency_id: str, *, creditor_id: str | None, period: Period,
               as_of: date | None = None, timezone: str | None = None,
               currency: str | None = None) -> dict[str, Any]:
        """An agency's figures over the placements it received in the period (one creditor's,
        or all); the period and `as_of` are days in `timezone`."""
        period.check()
        timezone = timezone or self.default_timezone
        zone = ZoneInfo(timezone)
        as_of = as_of or self.today(zone)
        with self.database.reading() as conn:
            cases = self.facts.cases(conn, creditor_id=creditor_id, agency_id=agency_id,
                                     assigned_in=period.window(zone), currency=currency)
            currency = _one_currency(cases, currency)
            contracts = self._contracts(conn, cases, [agency_id])
            promises = self._promises(conn, agency_id, creditor_id, period, as_of, zone)
        report = agency_performance(agency_id=agency_id, cases=cases, promises=promises,
                                    period=period, as_of=as_of, zone=zone, currency=currency,
                                    contracts=contracts[agency_id])
        return {"creditor_id": creditor_id, "period": _period(period),
                "as_of": as_of.isoformat(), "timezone": timezone, **report}

    def comparison(self, creditor_id: str, *, period: Period, as_of: date | None = None,
                   timezone: str | None = None, currency: str | None = None
                   ) -> dict[str, Any]:
        """Every agency that received the creditor's placements in the period, side by side;
        the best recovery rate is the champion, the others challengers. The period and
        `as_of` are days in `timezone`."""
        period.check()
        timezone = timezone or self.default_timezone
        zone = ZoneInfo(timezone)
        as_of = as_of or self.today(zone)
        window = period.window(zone)
        with self.database.reading() as conn:
            cases = self.facts.cases(conn, creditor_id=creditor_id, assigned_in=window,
                                     currency=currency)
            currency = _one_currency(cases, currency)
            agencies = sorted({a.agency_id for c in cases for a in c.assignments
                               if window.contains(a.assigned_at)})
            # (the agencies that received placements in the period: the cohort's)
            contracts = self._contracts(conn, cases, agencies)
            promises = {agency_id: self._promises(conn, agency_id, creditor_id, period, as_of,
                                                  zone)
                        for agency_id in agencies}
        reports = []
        for agency_id in agencies:
            report = agency_performance(agency_id=agency_id, cases=cases,
                                        promises=promises[agency_id],
                                        period=period, as_of=as_of, zone=zone,
                                        currency=currency, contracts=contracts[agency_id])
            report.pop("by_vintage")
            reports.append(report)
        best = champion(reports)
        for report in reports:
            report["role"] = "champion" if report["agency_id"] == best else "challenger"
        return {"creditor_id": creditor_id, "period": _period(period),
                "as_of": as_of.isoformat(), "timezone": timezone, "currency": currency,
                "champion": best, "agencies": reports}

    def today(self, zone: ZoneInfo) -> date:
        """Today in a zone, by the service's clock."""
        return self.clock.now().astimezone(zone).date()

    def _promises(self, conn: Connection, agency_id: str, creditor_id: str | None,
                  period: Period, as_of: date, zone: ZoneInfo) -> list[PromiseFact]:
        window = report_window(period, as_of, zone)
        if window is None:
            return []
        return self.facts.promises_of(conn, agency_id, creditor_id, window.start, window.end)

    def _contracts(self, conn: Connection, cases: list[CaseFacts], agencies: list[str]
                   ) -> dict[str, dict[str, list[ContractVersion]]]:
        creditors = sorted({c.creditor_id for c in cases})
        return {agency: {creditor: self.contracts.versions(conn, creditor, agency)
                         for creditor in creditors} for agency in agencies}


def _one_currency(cases: list[CaseFacts], currency: str | None) -> str:
    found = sorted({c.currency for c in cases})
    if currency is None and len(found) > 1:
        raise MixedCurrencies(f"these cases are in {', '.join(found)}: choose one with "
                              "?currency=", path="currency")
    return currency or (found[0] if found else DEFAULT_CURRENCY)


def _period(period: Period) -> dict[str, str]:
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}
