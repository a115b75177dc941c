"""The contact API's one error map: every error the use cases declare has one answer, and the
answer carries the status, code, field and details the API documents."""

from __future__ import annotations

import inspect
import json
from typing import Any

from contact_service.application import errors as application_errors
from contact_service.application.errors import AgencyRequired, ProjectionBehind
from contact_service.domain import records
from contact_service.domain.qa import InvalidMonth
from contact_service.entrypoints.errors import ERRORS, answer


def declared(module: Any) -> list[type[Exception]]:
    return [c for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, Exception) and c.__module__ == module.__name__]


def body(exc: Exception) -> tuple[int, dict[str, str], dict[str, Any]]:
    response = answer(exc)
    return response.status_code, dict(response.headers), json.loads(response.body)


def test_every_error_the_use_cases_declare_has_an_answer() -> None:
    errors = declared(application_errors)
    assert len(errors) == 8
    assert [e.__name__ for e in errors if e not in ERRORS] == []


def test_every_record_error_has_an_answer() -> None:
    raised = [e for e in declared(records) if e is not records.Retroactive]  # only subclasses
    assert [e.__name__ for e in raised if e not in ERRORS] == []


def test_projection_behind_says_the_version_reached_and_when_to_retry() -> None:
    status, headers, content = body(ProjectionBehind(current_version=3, min_version=7))
    assert (status, headers["retry-after"]) == (503, "1")
    assert content == {"error": {
        "code": "projection_behind", "current_version": 3,
        "message": "the contact log has case version 3, not yet 7; retry shortly"}}


def test_a_field_error_names_the_field_with_the_errors_message() -> None:
    status, _, content = body(InvalidMonth("month must be YYYY-MM (01-12), not '2026-13'"))
    assert status == 422
    assert content["error"]["code"] == "invalid_month"
    assert content["error"]["fields"] == [{
        "path": "body.month", "message": "month must be YYYY-MM (01-12), not '2026-13'",
        "type": "value_error"}]


def test_a_missing_agency_is_a_missing_field() -> None:
    status, _, content = body(AgencyRequired("a worklist is one agency's: give agency_id"))
    assert status == 422
    assert content["error"]["fields"] == [{"path": "query.agency_id",
                                           "message": "required for this key",
                                           "type": "missing"}]


def test_a_bad_month_query_names_the_query_field() -> None:
    from contact_service.application.errors import InvalidMonthQuery

    status, _, content = body(InvalidMonthQuery("month must be YYYY-MM (01-12), not '2026-13'"))
    assert status == 422
    assert content["error"]["code"] == "invalid_month"
    assert [f["path"] for f in content["error"]["fields"]] == ["query.month"]
