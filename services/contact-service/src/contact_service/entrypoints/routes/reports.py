"""Reports to the creditor: an agency's daily, weekly and monthly report and the per-case
"three calls failed" report, as JSON, CSV or PDF with `X-Content-SHA256` and `ETag`
(who may read what, and every figure: `application/reports.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from casetrail.web import (
    ApiError,
    Day,
    IdentifierPath,
    IdentifierQuery,
    error_responses,
    field_error,
)
from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from contact_service.application.reports import (
    PeriodNotEnded,
    Rendered,
    ReportNotDue,
    Reports,
    UnknownTimezone,
)
from contact_service.bootstrap import ContactService
from contact_service.entrypoints.deps import PrincipalDep, ServiceDep

router = APIRouter(prefix="/v1", tags=["reports"])


# ---------------------------------------------------------------------- schemas (JSON form)

class PositionOut(BaseModel):
    """A contact-log position a report was computed from."""

    source: str
    partition: int
    position: int
    log_position: int


class ActionCodeOut(BaseModel):
    """Contacts with one action code."""

    contacts: int
    right_party_contacts: int
    promises: int


class ContactsOut(BaseModel):
    """The agency's contacts in the period."""

    total: int
    by_outcome: dict[str, int]
    by_channel: dict[str, int]
    by_action_code: dict[str, ActionCodeOut]


class PromisesOut(BaseModel):
    """Promises made in the period, and those whose outcome was recorded in it."""

    made: int
    kept: int
    broken: int


class PaymentsOut(BaseModel):
    """Payments credited to the agency received in the period, and their amounts per
    currency (ISO 4217; `unknown`: applied before the log kept currencies), Decimal strings.
    Money received before the case was placed is counted, not summed; a payment's reversals
    count in the period it was received in, as the log holds them when the report is made."""

    received: int
    amounts_received: dict[str, str]
    amounts_reversed: dict[str, str]
    amounts_collected: dict[str, str] = Field(description="received - reversed, per currency")


class RateOut(BaseModel):
    """A KPI value (Decimal string, 4 places) with its counts."""

    value: str | None
    numerator: int
    denominator: int


class ComplaintsOut(BaseModel):
    """Complaints received while the agency held the case."""

    received: int
    resolved: int
    open: int = Field(description="open at the period's end")
    overdue: int
    per_1000_cases: RateOut


class LevelCountsOut(BaseModel):
    """One service level: met and breached that fell due in the period, pending at its end."""

    met: int
    breached: int
    pending: int


class ServiceLevelsOut(BaseModel):
    """Service levels judged as of the period's end."""

    as_of: str
    cases_judged: int
    levels: dict[str, LevelCountsOut]


class AgencyReportOut(BaseModel):
    """An agency's report for a period (JSON form; CSV and PDF hold the same figures)."""

    model_config = {"populate_by_name": True}

    report: str
    agency_id: str
    creditor_id: str | None
    period: str
    label: str
    first_day: str
    last_day: str
    timezone: str
    period_from: str = Field(alias="from")
    period_to: str = Field(alias="to")
    generated_from: list[PositionOut]
    cases_worked: int
    contacts: ContactsOut
    promises: PromisesOut
    payments: PaymentsOut
    complaints: ComplaintsOut
    service_levels: ServiceLevelsOut


class AttemptOut(BaseModel):
    """One failed call attempt."""

    occurred_at: str
    channel: str
    direction: str
    party: str
    outcome: str
    action_code: str
    contact_id: str
    agent_id: str | None


class CaseVersionOut(BaseModel):
    """The case's version and log position in the contact log."""

    case_version: int
    position: int


class ThreeCallsReportOut(BaseModel):
    """A case's three-calls-failed report."""

    report: str
    case_id: str
    creditor_id: str
    agency_id: str
    assigned_at: str
    due_at: str
    due_at_local: str
    timezone: str
    rule: str
    attempts: list[AttemptOut]
    generated_from: CaseVersionOut


class ThreeCallsListOut(BaseModel):
    """The cases of an agency whose three-calls-failed report is due."""

    report: str
    agency_id: str
    creditor_id: str | None
    rule: str
    generated_from: list[PositionOut]
    cases: list[ThreeCallsReportOut]

BINARY = {"schema": {"type": "string", "format": "binary"}}
FILE: dict[int | str, dict[str, Any]] = {200: {
    "content": {"text/csv": {"schema": {"type": "string"}}, "application/pdf": BINARY},
    "description": "the report as JSON, CSV or PDF; `X-Content-SHA256` (and `ETag`) is the "
                   "SHA-256 of the body"}}


def _reports(service: ContactService) -> Reports:
    return Reports.over(service.engine, service.quality.agencies, service.clock)


def _answer(rendered: Rendered) -> Response:
    return Response(rendered.body, media_type=rendered.media_type, headers={
        "X-Content-SHA256": rendered.sha256, "ETag": f'"{rendered.sha256}"',
        "Content-Disposition": f'inline; filename="{rendered.filename}"'})


async def _run(make: Callable[[], Rendered]) -> Response:
    try:
        return _answer(await run_in_threadpool(make))
    except PeriodNotEnded as exc:
        raise field_error("query.day", str(exc)) from None
    except UnknownTimezone as exc:
        raise field_error("query.timezone", str(exc)) from None
    except ReportNotDue as exc:
        raise ApiError(404, "report_not_due", str(exc)) from None


@router.get("/agencies/{agency_id}/reports/three-calls-failed",
            response_model=ThreeCallsListOut,
            summary="Cases whose three-calls-failed report is due",
            responses={**FILE, **error_responses(403)})
async def agency_three_calls_failed(
    agency_id: IdentifierPath, service: ServiceDep, caller: PrincipalDep,
    format: Annotated[Literal["json", "csv", "pdf"], Query(
        description="json (default), csv (UTF-8 with a BOM, one row per failed attempt) or "
                    "pdf (Simplified Chinese)")] = "json",
    creditor_id: Annotated[IdentifierQuery | None, Query(
        description="only this creditor's cases (a creditor key: always its own)")] = None,
) -> Response:
    """The cases the agency holds whose first three call attempts of the current assignment
    all failed to reach the debtor, each with its report (the attempts, when it became due),
    by due time. An agency key reads its own agency; a creditor key its own cases."""
    reports = _reports(service)
    return await _run(lambda: reports.agency_three_calls_in(caller, agency_id, format,
                                                            creditor_id))


@router.get("/agencies/{agency_id}/reports/{period}", response_model=AgencyReportOut,
            summary="An agency's daily, weekly or monthly report to the creditor",
            responses={**FILE, **error_responses(403)})
async def agency_report(
    agency_id: IdentifierPath, period: Literal["daily", "weekly", "monthly"],
    service: ServiceDep, caller: PrincipalDep,
    day: Annotated[Day, Query(description="the day, any day of the ISO week, or any day of "
                                          "the month; the period must have ended")],
    format: Annotated[Literal["json", "csv", "pdf"], Query(
        description="json (default), csv (UTF-8 with a BOM), pdf (Simplified Chinese)")
    ] = "json",
    timezone: Annotated[str | None, Query(
        min_length=1, max_length=64,
        description="IANA zone of the days; default: the agency's (its setting, else the "
                    "service's default)")] = None,
    creditor_id: Annotated[IdentifierQuery | None, Query(
        description="only this creditor's cases (a creditor key: always its own)")] = None,
) -> Response:
    """Cases worked, contacts (by outcome, channel, action code), promises made, kept and
    broken, payments received and the amounts collected per currency (net of their
    reversals), complaints (received, resolved, open at the end, overdue, per
    1,000 cases) and service-level results as of the period's end, for the local days of the
    period. Same read model, same bytes: `generated_from` names the log positions."""
    reports = _reports(service)
    return await _run(lambda: reports.agency_report_in(
        caller, agency_id, period, day, format, timezone=timezone, creditor_id=creditor_id))


@router.get("/cases/{case_id}/reports/three-calls-failed",
            response_model=ThreeCallsReportOut,
            summary="The case's three-calls-failed report",
            responses={**FILE, **error_responses(404, _404="`case_not_found`, or "
                                                 "`report_not_due`: not triggered yet")})
async def case_three_calls_failed(
    case_id: str, service: ServiceDep, caller: PrincipalDep,
    format: Annotated[Literal["json", "csv", "pdf"], Query(
        description="json (default), csv (UTF-8 with a BOM), pdf (Simplified Chinese)")
    ] = "json",
) -> Response:
    """Available once the first three call attempts (outbound phone) of the case's current
    assignment all failed to reach the debtor: the case, its agency, the three attempts
    (when, channel, outcome, action code) and when it became due."""
    reports = _reports(service)
    return await _run(lambda: reports.case_three_calls_in(caller, case_id, format))
