"""Structured JSON logs with request and correlation ids; PII never goes into a log call."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar, Token
from typing import Any

import structlog

# The log fields of the request being served (request and correlation ids, service, and the
# caller once authenticated): one dict per request, set once by the request middleware and
# filled in by the authentication dependency, merged into each line actually written.
_REQUEST_FIELDS: ContextVar[dict[str, Any] | None] = ContextVar("casetrail_request_fields",
                                                                default=None)


def enter_request(fields: dict[str, Any]) -> Token[dict[str, Any] | None]:
    """Bind `fields` to every log line written while this request is served."""
    return _REQUEST_FIELDS.set(fields)


def leave_request(token: Token[dict[str, Any] | None]) -> None:
    """Unbind what `enter_request` bound."""
    _REQUEST_FIELDS.reset(token)


def request_fields() -> dict[str, Any] | None:
    """The log fields of the request being served (None outside one), to add to."""
    return _REQUEST_FIELDS.get()


def merge_request_fields(_: Any, __: str, event_dict: MutableMapping[str, Any]
                         ) -> MutableMapping[str, Any]:
    """structlog processor: the current request's fields, under the line's own."""
    fields = _REQUEST_FIELDS.get()
    if fields:
        for key, value in fields.items():
            event_dict.setdefault(key, value)
    return event_dict


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written (a test runner may swap and close the
    one that was there when logging was configured)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


STDERR = _CurrentStderr()


def configure_logging(level: str = "INFO", *, json_output: bool = True) -> None:
    """Route structlog and stdlib logging to stderr as JSON lines (or console for humans)."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            merge_request_fields,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=STDERR),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level.upper(), stream=STDERR, format="%(message)s")
    # One line per feed poll or broker round trip would drown the log; their errors still show.
    for chatty in ("httpx", "httpcore", "aiokafka"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLevelName(
            level.upper())))
