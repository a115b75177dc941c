"""SIGTERM under load: no accepted request fails, no event is lost or doubled."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.e2e.harness import System, placement

pytestmark = pytest.mark.e2e


def test_sigterm_under_load_fails_no_accepted_request_and_loses_or_doubles_no_event(
        embedded: System, tmp_path: Path) -> None:
    embedded.cli("migrate", "case")
    embedded.cli("migrate", "contact")
    case_url = embedded.serve("case")
    creditor = embedded.client(case_url, "creditor")
    placed = creditor.post("/v1/placements", json=placement(40))
    assert placed.status_code == 201
    case_ids = [r["case_id"] for r in placed.json()["accepted"]]
    occurred = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()

    outcomes: list[tuple[str, int | str]] = []
    lock = threading.Lock()
    stop_writing = threading.Event()

    def writer(w: int) -> None:
        with embedded.client(case_url, "agency") as agency:
            i = 0
            while not stop_writing.is_set():
                contact_id = f"w{w}-{i}"
                try:
                    r = agency.post(f"/v1/cases/{case_ids[(w + i) % 40]}/contacts", json={
                        "contact_id": contact_id, "channel": "phone",
                        "direction": "outbound", "party": "none", "outcome": "no_answer",
                        "action_code": "NOANS", "occurred_at": occurred})
                    result: int | str = r.status_code
                except httpx.TransportError as exc:  # refused after shutdown: not accepted
                    result = type(exc).__name__
                with lock:
                    outcomes.append((contact_id, result))
                i += 1
                if isinstance(result, str):
                    return

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    [(_, server)] = [(n, p) for n, p in embedded.processes if n == "case"]
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=30) in (0, -signal.SIGTERM)
    stop_writing.set()
    for t in threads:
        t.join(timeout=60)

    answered = [(c, r) for c, r in outcomes if isinstance(r, int)]
    accepted = {c for c, r in answered if r == 201}
    assert len(accepted) > 20, "the load did not get going before the signal"
    assert all(r == 201 for _, r in answered), Counter(r for _, r in answered)

    # Restart: every accepted contact is in the log exactly once, and nothing else is.
    embedded.processes = [(n, p) for n, p in embedded.processes if n != "case"]
    case_url = embedded.serve("case")
    embedded.env["CASE_EVENTS_URL"] = case_url
    auditor = embedded.client(case_url, "auditor")
    logged: list[str] = []
    after = 0
    while batch := auditor.get("/v1/events", params={"after": after, "limit": 1000}
                               ).json()["events"]:
        logged += [e["payload"]["contact_id"] for e in batch if e["type"] == "Contacted"]
        after = batch[-1]["position"]
    assert Counter(logged).most_common(1)[0][1] == 1
    assert set(logged) == accepted

    # A consumer stopped by SIGTERM mid-stream and restarted applies each event once.
    embedded.start("consumer-1", "consume", "contact-log")
    engine = sa.create_engine(f"sqlite:///{tmp_path}/contact.db")

    def projected() -> int:
        try:
            with engine.connect() as conn:
                return int(conn.execute(sa.text("SELECT count(*) FROM contacts")).scalar() or 0)
        except sa.exc.OperationalError:
            return 0

    deadline = time.monotonic() + 60
    while projected() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    [(_, consumer)] = [(n, p) for n, p in embedded.processes if n == "consumer-1"]
    consumer.send_signal(signal.SIGTERM)
    assert consumer.wait(timeout=30) == 0
    partial = projected()
    embedded.start("consumer-2", "consume", "contact-log")
    while projected() < len(accepted) and time.monotonic() < deadline + 60:
        time.sleep(0.1)
    with engine.connect() as conn:
        rows: list[Any] = conn.execute(sa.text("SELECT contact_id FROM contacts")).all()
    assert sorted(r[0] for r in rows) == sorted(accepted)
    assert 0 < partial <= len(accepted)
    engine.dispose()
