"""Agency performance and a creditor's side-by-side agency comparison."""

from __future__ import annotations

from typing import Annotated, Any

from casetrail.web import IDENTIFIER_PATTERN, Day, IdentifierPath, error_responses
from fastapi import APIRouter, Query
from pydantic import AfterValidator

from billing_service.entrypoints.access import comparison_access, performance_scope
from billing_service.entrypoints.deps import PrincipalDep, ServiceDep
from billing_service.entrypoints.errors import billing_errors
from billing_service.entrypoints.schemas import (
    ComparisonOut,
    PerformanceOut,
    TimeZone,
    check_currency_code,
    month_period,
)

router = APIRouter(prefix="/v1", tags=["performance"])

TenantPath = IdentifierPath
Month = Annotated[str | None, Query(description="a month, YYYY-MM", max_length=7,
                                    pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
From = Annotated[Day | None, Query(alias="from", description="first day (with `to`)")]
To = Annotated[Day | None, Query(alias="to", description="last day, included")]
AsOf = Annotated[Day | None, Query(description="count money up to the end of this day "
                                   "(default: today in the report's zone)")]
Zone = Annotated[TimeZone, Query(description="the IANA zone of the period's days and of "
                                 "as_of (default: the service's, CASETRAIL_DEFAULT_TIMEZONE; "
                                 "\"UTC\" for UTC days)")]
Currency = Annotated[str | None, AfterValidator(lambda c: c and check_currency_code(c)),
                     Query(pattern=r"^[A-Z]{3}$", description="a supported ISO 4217 code; "
                           "needed when cases are in several")]


@router.get("/agencies/{agency_id}/performance", summary="An agency's performance",
            response_model=PerformanceOut, response_model_exclude_unset=True,
            responses=error_responses(403))
def agency_performance(
    agency_id: TenantPath, service: ServiceDep, caller: PrincipalDep,
    period: Month = None, start: From = None, end: To = None, as_of: AsOf = None,
    currency: Currency = None,
    creditor_id: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    timezone: Zone = None,
) -> dict[str, Any]:
    """Over the placements the agency received in the period: placed and recovered amounts,
    recovery rate overall, by bucket and by vintage with liquidation curves, average fee
    rate, promise-kept rate and reversal rate. Creditors see their own cases only. Days are
    days in `timezone`, which the answer states."""
    scope = performance_scope(caller, agency_id, creditor_id)
    with billing_errors("query"):
        return service.performance.agency(
            agency_id, creditor_id=scope, period=month_period(period, start, end),
            as_of=as_of, timezone=timezone, currency=currency)


@router.get("/creditors/{creditor_id}/agency-comparison",
            summary="A creditor's agencies side by side (champion/challenger)",
            response_model=ComparisonOut, response_model_exclude_unset=True,
            responses=error_responses(403))
def agency_comparison(
    creditor_id: TenantPath, service: ServiceDep, caller: PrincipalDep,
    period: Month = None, start: From = None, end: To = None, as_of: AsOf = None,
    currency: Currency = None, timezone: Zone = None,
) -> dict[str, Any]:
    """Every agency that received the creditor's placements in the period, with the same
    figures; the best recovery rate is the champion. Days are days in `timezone`, which the
    answer states."""
    comparison_access(caller, creditor_id)
    with billing_errors("query"):
        return service.performance.comparison(
            creditor_id, period=month_period(period, start, end), as_of=as_of,
            timezone=timezone, currency=currency)
