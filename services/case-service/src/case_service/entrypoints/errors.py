"""The one error map of the case API: what the use cases and the domain refuse → HTTP answers.
Routes raise nothing of their own for these: the exception reaches the handler installed
here, which answers with the status and code of its class in ERRORS (the nearest class in
its MRO) and the error's message, in the one error shape of every casetrail API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from casetrail.money import MoneyError
from casetrail.web import error_body
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from case_service.application.audit import SizeNotInLog
from case_service.application.errors import (
    CaseNotFound,
    CheckpointNotFound,
    DebtorErased,
    InvalidCurrentBucket,
    NoCheckpoint,
    NotSettled,
    PartiesUnavailable,
    PlacementConflict,
    PlacementNotFound,
    VersionConflict,
)
from case_service.application.registry import InvalidRecord, RegistryRecordNotFound
from case_service.domain.agencies import (
    AgencyNotQualified,
    CollectorNotQualified,
    UnknownCollector,
)
from case_service.domain.errors import (
    BeyondApprovalLimit,
    CaseClosed,
    CaseRecalled,
    DomainError,
    InvalidTransition,
    PaymentReferenceConflict,
    UnknownActionCode,
)


@dataclass(frozen=True)
class Answer:
    """How one kind of error is answered: status, code (None: the error's own `code`), and
    what else the body says beside the message (`details`)."""

    status: int
    code: str | None = None
    details: Callable[[Any], dict[str, Any]] = field(default=lambda _: {})


def _message(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or exc)


# Not found (or not visible) is 404; what clashes with what is recorded, 409; values that can
# never be right, 422.
ERRORS: dict[type[Exception], Answer] = {
    CaseNotFound: Answer(404, "case_not_found"),
    PlacementNotFound: Answer(404, "not_found"),
    CheckpointNotFound: Answer(404, "checkpoint_not_found"),
    SizeNotInLog: Answer(404, "size_not_in_log", lambda e: {"tree_size": e.tree_size}),
    VersionConflict: Answer(409, "version_conflict",
                            lambda e: {"current_version": e.current_version}),
    PlacementConflict: Answer(409, "placement_conflict"),
    DebtorErased: Answer(409, "debtor_erased"),
    NoCheckpoint: Answer(409, "no_checkpoint"),
    CaseClosed: Answer(409),
    CaseRecalled: Answer(409),
    InvalidTransition: Answer(409),
    PaymentReferenceConflict: Answer(409),
    BeyondApprovalLimit: Answer(409),
    NotSettled: Answer(409, "not_settled"),
    PartiesUnavailable: Answer(503, "parties_unavailable"),
    UnknownActionCode: Answer(422, None, lambda e: {"valid_codes": e.valid_codes, "fields": [{
        "path": "body.action_code", "message": str(e), "type": "value_error"}]}),
    RegistryRecordNotFound: Answer(404, "not_found"),
    InvalidRecord: Answer(422, "validation_error", lambda e: {"fields": [
        {"path": f"body.{f}", "message": m, "type": "value_error"} for f, m in e.problems]}),
    AgencyNotQualified: Answer(409),
    CollectorNotQualified: Answer(409, None, lambda e: {"fields": [{
        "path": "body.agent_id", "message": str(e), "type": "value_error"}]}),
    UnknownCollector: Answer(422, None, lambda e: {"fields": [{
        "path": "body.agent_id", "message": str(e), "type": "value_error"}]}),
    DomainError: Answer(422),
    MoneyError: Answer(422, "invalid_amount"),
    InvalidCurrentBucket: Answer(422, "invalid_current_bucket", lambda e: {"fields": [{
        "path": "query.current_bucket", "message": str(e), "type": "value_error"}]}),
}


def answer(exc: Exception) -> JSONResponse:
    """The HTTP answer to an error of ERRORS."""
    found = next(ERRORS[kind] for kind in type(exc).__mro__ if kind in ERRORS)
    code = found.code or str(getattr(exc, "code", "error"))
    details = found.details(exc)
    return JSONResponse(status_code=found.status,
                        content=error_body(code, _message(exc), **details))


def install(app: FastAPI) -> None:
    """Answer every error of ERRORS through `answer`."""

    async def handle(_: Request, exc: Exception) -> JSONResponse:
        return answer(exc)

    for kind in ERRORS:
        app.add_exception_handler(kind, handle)
