"""`casetrail projections rebuild contact-log --verify` with creditors on their own policy packs
(issue 16: the rebuild judged everything by the default pack, reported DIFFERS, and `--swap`
turned the China cap and window flags and the US 7-in-7 flags into `contact-hours` flags).

BANK is on `cn-gbt-45251-2025` (08:00-22:00, at most 3 effective calls a day), BANK2 on
`us-reg-f` (08:00-21:00, at most 7 call attempts in 7 days); the service's default pack is
the tender's (08:00-21:00). Both creditors' debtors live in Asia/Shanghai.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from casetrail import cli
from casetrail.clock import ManualClock
from casetrail.testing import BACKENDS, fresh_database
from contact_service.adapters.contact_log import violations
from typer.testing import CliRunner

from tests.trust.harness import Services

MONDAY = datetime(2026, 6, 1, tzinfo=UTC)  # 08:00 in Shanghai


@pytest.fixture(params=BACKENDS)
def judged(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[Services]:
    with fresh_database(request.param, tmp_path, "case") as case_url, \
            fresh_database(request.param, tmp_path, "contact") as contact_url, \
            fresh_database(request.param, tmp_path, "billing") as billing_url:
        clock = ManualClock(MONDAY - timedelta(days=1))
        s = Services(tmp_path, case_url, contact_url, billing_url, clock=clock)
        try:
            for creditor, pack in (("BANK", "cn-gbt-45251-2025"), ("BANK2", "us-reg-f")):
                response = s.post("contact", "admin", f"/v1/creditors/{creditor}/policy",
                                  {"pack_id": pack})
                assert response.status_code == 201, response.text
            cn = s.place(creditor="BANK", placed="2026-05-30")
            us = s.place(creditor="BANK2", placed="2026-05-30")
            # 21:30 in Shanghai: inside China's window, outside the US and tender windows.
            s.contact(cn, "cn-late", MONDAY + timedelta(hours=13, minutes=30), party="none",
                      outcome="no_answer")
            # Four effective calls with the debtor in one day: China allows three.
            for n in range(4):
                s.contact(cn, f"cn-{n}", MONDAY + timedelta(hours=2 + n))
            # Eight attempts in a week, within every window: the US allows seven.
            for n in range(8):
                s.contact(us, f"us-{n}", MONDAY + timedelta(days=min(n, 6), hours=3 + n // 7),
                          party="none", outcome="no_answer")
            s.feed()
            monkeypatch.setenv("CASE_DATABASE_URL", case_url)
            monkeypatch.setenv("CONTACT_DATABASE_URL", contact_url)
            monkeypatch.setenv("CASETRAIL_VAR_DIR", str(s.common.var_dir))
            monkeypatch.setenv("CASETRAIL_MASTER_KEY",
                               s.common.master_key.get_secret_value())
            yield s
        finally:
            s.close()


def flags(s: Services) -> list[tuple[str, str, str]]:
    with s.contact_service.engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(sa.select(
            violations.c.contact_id, violations.c.rule_id, violations.c.pack_id)))


def test_contacts_are_judged_by_each_creditor_s_pack(judged: Services) -> None:
    assert flags(judged) == [
        ("cn-3", "effective-calls-per-debtor-per-day", "cn-gbt-45251-2025"),
        ("us-7", "seven-calls-in-seven-days", "us-reg-f"),
    ]


def test_rebuild_verify_finds_the_live_contact_log_exact_and_swap_keeps_every_flag(
        judged: Services) -> None:
    live = flags(judged)
    verified = CliRunner().invoke(cli.app, ["projections", "rebuild", "contact-log",
                                            "--verify", "--transport", "log"])
    assert verified.exit_code == 0, verified.output
    assert "DIFFERS" not in verified.output
    swapped = CliRunner().invoke(cli.app, ["projections", "rebuild", "contact-log",
                                           "--swap", "--transport", "log"])
    assert swapped.exit_code == 0, swapped.output
    assert flags(judged) == live


def test_a_rebuild_in_shares_by_two_processes_verifies_and_keeps_every_flag(
        judged: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--workers 2 --transport log` on PostgreSQL: this process and a spawned one each apply
    the events of a share of the debtors (spawned even for this short log)."""
    if judged.contact_service.engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes one writer at a time: one process rebuilds")
    import casetrail.projections.rebuild as rebuilding

    monkeypatch.setattr(rebuilding, "PARALLEL_FROM", 0)
    live = flags(judged)
    for mode in ("--verify", "--swap"):
        result = CliRunner().invoke(cli.app, ["projections", "rebuild", "contact-log", mode,
                                              "--transport", "log", "--workers", "2"])
        assert result.exit_code == 0, result.output
        assert "DIFFERS" not in result.output
    assert flags(judged) == live
