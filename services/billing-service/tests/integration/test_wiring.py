"""The billing service as the `casetrail` command line finds it: `billing run`, `migrate billing`,
`serve billing` and `consume billing-ledger` (here over the case service's feed, in process)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from billing_service.adapters.billing_ledger import BillingLedger
from case_service.entrypoints.app import create_app as case_app
from casetrail import cli, plugins
from casetrail.projections.base import load
from casetrail.projections.consume import build_runner
from casetrail.projections.runners import FeedProjectionRunner
from typer.testing import CliRunner

if TYPE_CHECKING:
    from conftest import World

RUN = ["billing", "run", "--creditor", "BANK", "--agency", "AG-A"]


def test_billing_run_on_the_command_line_prints_the_invoice(
        world: World, billing_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case = world.place()
    world.contract(world.contract_body(tax_rate="0.06"))
    world.pay(case, "PAY-1", "1000.00", "2026-01-10")
    world.sync()
    monkeypatch.setenv("BILLING_DATABASE_URL", billing_db)

    first = CliRunner().invoke(cli.app, [*RUN, "--from", "2026-01-01", "--to", "2026-01-31"])
    again = CliRunner().invoke(cli.app, [*RUN, "--from", "2026-01-01", "--to", "2026-01-31"])

    assert first.exit_code == 0, first.output
    issued = world.get("bank", "/v1/invoices/INV-BANK-AG-A-00001").json()
    # 1000 x 0.18 = 180.00; tax 6 % = 10.80; total 190.80
    assert first.stdout.splitlines() == [
        "invoice      INV-BANK-AG-A-00001 (issued now)",
        "period       2026-01-01 to 2026-01-31 (included; days in Asia/Shanghai)",
        "lines        1",
        "subtotal     CNY 180.00",
        "tax          CNY 10.80",
        "total        CNY 190.80",
        f"content hash {issued['content_hash']}",
    ]
    assert issued["issued_by"] == "admin:*:cli"
    assert "issued earlier" in again.stdout
    assert again.stdout.splitlines()[1:] == first.stdout.splitlines()[1:]


def test_billing_run_refuses_what_the_api_refuses(
        world: World, billing_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_DATABASE_URL", billing_db)
    backwards = CliRunner().invoke(cli.app, [*RUN, "--from", "2026-02-01", "--to", "2026-01-31"])
    no_contract = CliRunner().invoke(cli.app, [*RUN, "--from", "2026-01-01", "--to",
                                               "2026-01-31"])
    not_a_date = CliRunner().invoke(cli.app, [*RUN, "--from", "January", "--to", "2026-01-31"])
    assert backwards.exit_code == no_contract.exit_code == not_a_date.exit_code == 2
    assert "invalid_period" in backwards.output
    assert "no_contract" in no_contract.output


def test_billing_run_on_the_command_line_refuses_a_period_that_has_not_ended(
        world: World, billing_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    world.contract(world.contract_body())
    monkeypatch.setenv("BILLING_DATABASE_URL", billing_db)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the CLI runs on the system clock
    refused = CliRunner().invoke(cli.app, [*RUN, "--from", today.isoformat(), "--to",
                                           today.isoformat()])
    assert refused.exit_code == 2, refused.output
    assert "period_not_ended" in refused.output
    assert world.get("bank", "/v1/invoices").json()["invoices"] == []


def test_the_service_and_its_projection_are_installed(
        billing_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = plugins.load("billing")
    assert (plugin.name, plugin.default_port, plugin.app_factory) == (
        "billing", 8002, "billing_service.entrypoints.app:create_app")
    projection = load("billing-ledger")
    assert isinstance(projection, BillingLedger)
    monkeypatch.setenv("BILLING_DATABASE_URL", billing_db)
    # Its database is the billing service's, from the service's settings.
    assert (projection.name, load("billing-ledger").database_url()) == ("billing-ledger",
                                                                        billing_db)
    migrated = CliRunner().invoke(cli.app, ["migrate", "billing"])
    assert migrated.exit_code == 0, migrated.output
    assert "billing-service schema is up to date" in migrated.output


def test_consume_billing_ledger_follows_the_case_feed(
        world: World, billing_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case = world.place()
    world.contract(world.contract_body())
    world.pay(case, "PAY-1", "1000.00", "2026-01-10")
    monkeypatch.setenv("BILLING_DATABASE_URL", billing_db)
    monkeypatch.setenv("CASE_EVENTS_API_KEY", world.keys["auditor"])

    runner = build_runner("billing-ledger", "feed", world.common)
    assert isinstance(runner, FeedProjectionRunner)
    runner.transport = httpx.ASGITransport(app=case_app(common=world.common,
                                                        application=world.cases))
    asyncio.run(runner.run(asyncio.Event(), until_caught_up=True))
    runner.store.engine.dispose()

    assert world.service.ledger.position("feed") == world.cases.last_position()
    with world.service.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM payments")).scalar() == 1
    assert world.bill("2026-01-01", "2026-01-31")["totals"]["subtotal"] == "180.00"
