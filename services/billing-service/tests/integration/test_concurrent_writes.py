"""Two requests writing the same thing at once: the one whose write a unique key refuses reads
again (casetrail.retry, a bounded number of attempts) and answers what the winner stored, or
records after it. The race is made deterministic: a second billing service on the same
database (another API replica) commits between our reads and our write. On SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest
from billing_service.adapters.database import Connection, WriteConflict
from billing_service.application.contracts import ATTEMPTS as CONTRACT_ATTEMPTS
from billing_service.application.runs import ATTEMPTS as RUN_ATTEMPTS
from billing_service.bootstrap import BillingService, build
from billing_service.config import BillingSettings
from billing_service.domain.invoice import Period

if TYPE_CHECKING:
    from conftest import World

@pytest.fixture
def rival(world: World, billing_db: str) -> Iterator[BillingService]:
    """Another billing service (another API replica) on the same database and clock."""
    other = build(BillingSettings(database_url=billing_db), migrate=False, common=world.common,
                  clock=world.clock)
    yield other
    other.close()


def january(world: World) -> Period:
    """A paid case, a contract, and the clock after January: January can be billed."""
    case = world.place()
    world.pay(case, "PAY-1", "1000.00", "2026-01-10")
    world.sync()
    world.contract(world.contract_body())
    return Period(date(2026, 1, 1), date(2026, 1, 31))


def rival_writes_first(monkeypatch: pytest.MonkeyPatch, world: World,
                       write: Callable[[], object]) -> list[int]:
    """Before our first write transaction begins (after our reads), the rival's `write`
    commits; returns the list our write transactions are counted in."""
    database = world.service.runs.database
    real_writing = database.writing
    opened: list[int] = []

    @contextmanager
    def writing() -> Iterator[Connection]:
        if not opened:
            write()
        opened.append(1)
        with real_writing() as conn:
            yield conn

    monkeypatch.setattr(database, "writing", writing)
    return opened


def test_a_run_that_loses_the_race_answers_the_invoice_the_winner_stored(
        world: World, rival: BillingService, monkeypatch: pytest.MonkeyPatch) -> None:
    period = january(world)
    opened = rival_writes_first(monkeypatch, world, lambda: rival.runs.run(
        "BANK", "AG-A", period, "creditor:BANK:rival"))

    invoice, created = world.service.runs.run("BANK", "AG-A", period, "creditor:BANK:bank")

    assert len(opened) == 1  # refused once; the second look found the period stored
    assert created is False
    assert invoice["issued_by"] == "creditor:BANK:rival"
    listed = world.get("bank", "/v1/invoices").json()["invoices"]
    assert [i["invoice_id"] for i in listed] == ["INV-BANK-AG-A-00001"]


def stale_first_read(monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    """Our first read of the pair's versions is the one made before the rival committed."""
    book = world.service.contracts.book
    real_versions = book.versions
    reads: list[int] = []

    def versions(conn: Connection, creditor_id: str, agency_id: str, **kw: Any) -> Any:
        reads.append(1)
        return [] if len(reads) == 1 else real_versions(conn, creditor_id, agency_id, **kw)

    monkeypatch.setattr(book, "versions", versions)


def test_a_contract_version_that_loses_the_race_is_numbered_after_the_winner(
        world: World, rival: BillingService, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = world.contract_body(), world.contract_body(rates={"M2": "0.20"})
    opened = rival_writes_first(monkeypatch, world, lambda: rival.contracts.record(
        "BANK", "AG-A", _terms(world, first), "creditor:BANK:rival"))
    stale_first_read(monkeypatch, world)

    version, created = world.service.contracts.record(
        "BANK", "AG-A", _terms(world, second), "creditor:BANK:bank")

    assert len(opened) == 2  # version 1 was taken: read again, and appended as version 2
    assert (version.version, created) == (2, True)
    versions = world.get("bank", "/v1/contracts/BANK/AG-A").json()["versions"]
    assert [(v["version"], v["actor"], v["rates"]) for v in versions] == [
        (1, "creditor:BANK:rival", {"M1": "0.12", "M2": "0.18", "M3": "0.25", "M4+": "0.35"}),
        (2, "creditor:BANK:bank", {"M2": "0.2"})]


def test_the_same_terms_recorded_by_a_rival_first_are_a_retry(
        world: World, rival: BillingService, monkeypatch: pytest.MonkeyPatch) -> None:
    terms = world.contract_body()
    opened = rival_writes_first(monkeypatch, world, lambda: rival.contracts.record(
        "BANK", "AG-A", _terms(world, terms), "creditor:BANK:rival"))
    stale_first_read(monkeypatch, world)

    version, created = world.service.contracts.record(
        "BANK", "AG-A", _terms(world, terms), "creditor:BANK:bank")

    assert len(opened) == 2
    assert (version.version, version.actor, created) == (1, "creditor:BANK:rival", False)


def test_writes_refused_every_time_give_up_after_the_bounded_attempts(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    period = january(world)
    attempts: list[int] = []

    @contextmanager
    def always_refused() -> Iterator[Connection]:
        attempts.append(1)
        raise WriteConflict("a unique key refused the write")
        yield  # pragma: no cover

    monkeypatch.setattr(world.service.runs.database, "writing", always_refused)
    with pytest.raises(WriteConflict):
        world.service.runs.run("BANK", "AG-A", period, "creditor:BANK:bank")
    assert len(attempts) == RUN_ATTEMPTS

    attempts.clear()
    with pytest.raises(WriteConflict):
        world.service.contracts.record("BANK", "AG-A", _terms(world, world.contract_body(
            effective_from="2026-03-01")), "creditor:BANK:bank")
    assert len(attempts) == CONTRACT_ATTEMPTS
    assert world.get("bank", "/v1/invoices").json()["invoices"] == []


def _terms(world: World, body: dict[str, Any]) -> Any:
    """The domain terms of a contract body, as the route builds them."""
    from billing_service.entrypoints.schemas import ContractIn

    return ContractIn.model_validate(body).to_terms(world.service.default_timezone)
