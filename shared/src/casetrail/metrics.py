"""The process-wide Prometheus metrics that more than one layer records (no I/O here)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUEST_SECONDS = Histogram(
    "casetrail_http_request_duration_seconds", "HTTP request latency by route",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
EVENTS_APPENDED = Counter("casetrail_events_appended_total", "Events appended to the case log",
                          ["type"])
REBUILD_EVENTS = Counter("casetrail_rebuild_events_total",
                         "Events replayed into shadow projections by rebuilds", ["projection"])
