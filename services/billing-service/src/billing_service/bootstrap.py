"""Builds the billing service from settings; every piece can be overridden in tests.

    entrypoints (HTTP, CLI) -> bootstrap -> application (use cases) -> adapters -> domain
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from casetrail.clock import Clock
from casetrail.projections.store import ProjectionStore, make_engine
from casetrail.settings import CommonSettings
from sqlalchemy.engine import Engine

from billing_service.adapters import schema
from billing_service.adapters.billing_ledger import BillingLedger
from billing_service.adapters.contracts import ContractBook
from billing_service.adapters.database import Database
from billing_service.adapters.facts import LedgerFacts
from billing_service.adapters.invoices import InvoiceBook
from billing_service.adapters.parties import PartyBook
from billing_service.application.contracts import Contracts
from billing_service.application.invoices import Invoices
from billing_service.application.parties import Parties
from billing_service.application.performance import PerformanceReports
from billing_service.application.runs import BillingRuns
from billing_service.config import BillingSettings


@dataclass
class BillingService:
    """What the billing service's entrypoints (HTTP and CLI) use: its use cases, and the
    billing-ledger projection's store (the consumer and rebuilds apply events through it)."""

    settings: BillingSettings
    engine: Engine
    ledger: ProjectionStore
    contracts: Contracts
    invoices: Invoices
    parties: Parties
    runs: BillingRuns
    performance: PerformanceReports
    clock: Clock  # the one "now" of the service: runs, previews, stamps, default as_of
    default_timezone: str  # days of new contracts and reports that state no zone

    def ready(self) -> None:
        """Raise when the service's database does not answer."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def billing_ledger_projection(settings: BillingSettings | None = None) -> BillingLedger:
    """The billing-ledger projection (the `casetrail consume billing-ledger` entry point),
    in the billing service's own database."""
    projection = BillingLedger()
    projection.url = (settings or BillingSettings()).database_url
    return projection


def migrate(settings: BillingSettings | None = None) -> str:
    """Create or upgrade the billing database's tables (alembic, to the newest revision);
    returns the revision it is at (`casetrail migrate billing`)."""
    return schema.migrate((settings or BillingSettings()).database_url)


def build(settings: BillingSettings | None = None, *, migrate: bool | None = None,
          common: CommonSettings | None = None, clock: Clock | None = None) -> BillingService:
    """The billing service wired to its own database ("now" from `clock`, by default the
    settings' clock; the default zone is CASETRAIL_DEFAULT_TIMEZONE, from `common`). With
    `migrate` (default: the setting `create_schema`) the database is upgraded first, as
    `casetrail migrate billing` does."""
    settings = settings or BillingSettings()
    if settings.create_schema if migrate is None else migrate:
        schema.migrate(settings.database_url)
    common = common or CommonSettings()
    zone, clock = common.default_timezone, clock or common.clock
    engine = make_engine(settings.database_url)
    database = Database(engine)
    contract_book, invoice_book, facts = ContractBook(), InvoiceBook(), LedgerFacts()
    party_book = PartyBook()
    return BillingService(
        settings=settings, engine=engine,
        ledger=ProjectionStore(engine, billing_ledger_projection(settings)),
        contracts=Contracts(database, contract_book, invoice_book, clock, zone),
        invoices=Invoices(database, invoice_book, settings.pdf_lines_shown),
        parties=Parties(database, party_book, clock),
        runs=BillingRuns(database, contract_book, invoice_book, facts, clock, zone,
                         party_book),
        performance=PerformanceReports(database, contract_book, facts, clock, zone),
        clock=clock, default_timezone=zone)
