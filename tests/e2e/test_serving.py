"""`casetrail serve --workers N`: every worker process logs as the settings say (issue 17:
with N > 1 the workers ignored CASETRAIL_LOG_LEVEL and CASETRAIL_LOG_JSON and logged every
request in console format)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import System, free_port

pytestmark = pytest.mark.e2e


def serve_with_workers(system: System, **env: str) -> str:
    port = free_port()
    system.start("contact", "serve", "contact", "--port", str(port), "--workers", "2", **env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        system.assert_running()
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"contact did not become ready: {system.log('contact')}")


def request_lines(system: System) -> list[str]:
    system.stop()
    text = (system.tmp / "contact.log").read_text(errors="replace")
    return [line for line in text.splitlines() if "request" in line and "/v1/" in line]


def test_every_worker_writes_json_logs_at_the_configured_level(embedded: System) -> None:
    url = serve_with_workers(embedded, CASETRAIL_LOG_LEVEL="INFO", CASETRAIL_LOG_JSON="true")
    for n in range(12):  # spread over both workers
        httpx.get(f"{url}/v1/contacts", timeout=5, headers={"X-Request-ID": f"serving-{n}"})
    lines = request_lines(embedded)
    assert len(lines) >= 12
    for line in lines:
        record = json.loads(line)  # JSON, not console output
        assert (record["level"], record["status"]) == ("info", 401)
        assert record["service"] == "contact"
    assert {json.loads(line)["request_id"] for line in lines} >= {
        f"serving-{n}" for n in range(12)}


def test_probes_are_not_logged_at_info(embedded: System) -> None:
    url = serve_with_workers(embedded, CASETRAIL_LOG_LEVEL="INFO", CASETRAIL_LOG_JSON="true")
    for path in ("/healthz", "/readyz", "/metrics"):
        assert httpx.get(f"{url}{path}", timeout=5).status_code == 200
    httpx.get(f"{url}/v1/contacts", timeout=5)
    embedded.stop()
    text = (embedded.tmp / "contact.log").read_text(errors="replace")
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert [r["path"] for r in records if r.get("event") == "request"] == ["/v1/contacts"]


def test_every_worker_drops_lines_below_the_configured_level(embedded: System,
                                                             tmp_path: Path) -> None:
    url = serve_with_workers(embedded, CASETRAIL_LOG_LEVEL="WARNING", CASETRAIL_LOG_JSON="true")
    for _ in range(12):
        httpx.get(f"{url}/v1/contacts", timeout=5)
    assert request_lines(embedded) == []
