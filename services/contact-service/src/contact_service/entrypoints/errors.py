"""The one error map of the contact API: the errors the use cases raise → HTTP answers.

Each error type has one answer: a status, a stable code, and (for an error about one field
of the request) the field's path; the message is the error's own. Nothing here reads an
error's text to decide what it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from casetrail.web import error_body
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from contact_service.application.errors import (
    AgencyRequired,
    CaseNotFound,
    Forbidden,
    InvalidMonthQuery,
    PeriodOutOfOrder,
    ProjectionBehind,
    SampleNotFound,
    VersionTooFarAhead,
)
from contact_service.domain.kpis import InvalidPeriod
from contact_service.domain.policy import PackNotInForce, UnknownPolicyPack
from contact_service.domain.qa import InvalidMonth, ItemNotInSample, ReviewIdConflict
from contact_service.domain.records import (
    AssignmentConflict,
    RetroactiveAssignment,
    RetroactiveSetting,
    SettingConflict,
)


@dataclass(frozen=True)
class Answer:
    """How the API answers one kind of error."""

    status: int
    code: str
    path: str | None = None  # the request field at fault (`body.month`, `query.to`)
    path_message: str | None = None  # what is said of it; default: the error's message
    path_type: str = "value_error"
    details: tuple[str, ...] = ()  # attributes of the error added to the body
    headers: Mapping[str, str] = field(default_factory=dict)


ERRORS: dict[type[Exception], Answer] = {
    Forbidden: Answer(403, "forbidden"),
    CaseNotFound: Answer(404, "case_not_found"),
    SampleNotFound: Answer(404, "sample_not_found"),
    # contact permission, policy assignments
    VersionTooFarAhead: Answer(422, "validation_error", "query.min_version",
                               "too far ahead of the case's version",
                               details=("current_version",)),
    ProjectionBehind: Answer(503, "projection_behind", details=("current_version",),
                             headers={"Retry-After": "1"}),
    PackNotInForce: Answer(422, "pack_not_in_force", "query.at"),
    RetroactiveAssignment: Answer(422, "retroactive_assignment", "body.effective_from"),
    UnknownPolicyPack: Answer(422, "unknown_policy_pack", "body.pack_id"),
    AssignmentConflict: Answer(409, "assignment_conflict"),
    # agency settings
    RetroactiveSetting: Answer(422, "retroactive_setting", "body.effective_from"),
    SettingConflict: Answer(409, "setting_conflict", "body.effective_from"),
    # QA, KPIs
    InvalidMonth: Answer(422, "invalid_month", "body.month"),
    InvalidMonthQuery: Answer(422, "invalid_month", "query.month"),
    ItemNotInSample: Answer(422, "item_not_in_sample", "body.item_id"),
    ReviewIdConflict: Answer(409, "review_id_conflict", "body.review_id"),
    InvalidPeriod: Answer(422, "invalid_period", "query.to"),
    # service levels, worklist
    PeriodOutOfOrder: Answer(422, "invalid_period", "query.to", "must be after `from`"),
    AgencyRequired: Answer(422, "agency_id_required", "query.agency_id",
                           "required for this key", "missing"),
}


def answer(exc: Exception) -> JSONResponse:
    """The HTTP answer to an error of the map (the nearest of its classes that is in it)."""
    how = next(ERRORS[kind] for kind in type(exc).__mro__ if kind in ERRORS)
    message = str(exc)
    extra: dict[str, Any] = {name: getattr(exc, name) for name in how.details}
    if how.path is not None:
        extra["fields"] = [{"path": how.path, "message": how.path_message or message,
                            "type": how.path_type}]
    return JSONResponse(status_code=how.status, headers=dict(how.headers) or None,
                        content=error_body(how.code, message, **extra))


def install(app: FastAPI) -> None:
    """Answer every error of the map as it says."""

    async def handler(_: Request, exc: Exception) -> JSONResponse:
        return answer(exc)

    for kind in ERRORS:
        app.add_exception_handler(kind, handler)
