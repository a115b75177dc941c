"""`casetrail relay case` on a shard: the worker reads CASE_SHARD and its relay names it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from case_service.application import AccountInput, DebtorInput, PlacementBatch, placement
from case_service.entrypoints.plugin import RelayWorker


def place_one(worker: RelayWorker) -> None:
    debtor = DebtorInput(name="D", national_id="N1", phones=("+8613911112222",), address=None,
                         email=None, timezone="Asia/Shanghai")
    receipt, _ = placement.place(worker.app, PlacementBatch(
        creditor_id="BANK", placement_ref="P1", received_at=datetime.now(UTC),
        request_sha256="s1", accounts=[AccountInput(
            index=0, account_ref="A1", currency="CNY", agency_id="AG-A", dpd=45,
            balances={"principal": Decimal("5000.00")}, debtor=debtor)]), actor="test")
    assert len(receipt["accepted"]) == 1, receipt["rejected"]


@pytest.mark.parametrize("shard", ["shard-9", None])
def test_the_relay_worker_publishes_events_naming_the_configured_shard(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shard: str | None) -> None:
    monkeypatch.setenv("CASE_DATABASE_URL", f"sqlite:///{tmp_path}/case.db")
    monkeypatch.setenv("CASETRAIL_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # never reached here
    if shard is None:
        monkeypatch.delenv("CASE_SHARD", raising=False)
    else:
        monkeypatch.setenv("CASE_SHARD", shard)
    worker = RelayWorker()
    try:
        place_one(worker)
        published = worker.relay.read_log(0, 10)
        assert [e.shard for e in published] == [shard]
        assert worker.app.audit.origin == (
            "casetrail.example/case-log" + ("" if shard is None else f"/{shard}"))
    finally:
        worker.app.close()
