"""Structured JSON logs with request and correlation ids; PII never goes into a log call."""

from __future__ import annotations

import logging
import sys

import structlog


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
