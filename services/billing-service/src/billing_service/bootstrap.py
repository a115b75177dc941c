"""Builds the billing service from settings; every piece can be overridden in tests."""

from __future__ import annotations

from dataclasses import dataclass

from casetrail.projections.store import ProjectionStore, make_engine
from sqlalchemy.engine import Engine

from billing_service.adapters.billing_ledger import BillingLedger
from billing_service.adapters.contracts import ContractBook
from billing_service.adapters.facts import LedgerFacts
from billing_service.adapters.invoices import InvoiceBook
from billing_service.adapters.performance import PerformanceReports
from billing_service.adapters.records import records_metadata
from billing_service.adapters.runs import BillingRuns
from billing_service.config import BillingSettings


@dataclass
class BillingService:
    """What the billing service's entrypoints (HTTP and CLI) use."""

    settings: BillingSettings
    engine: Engine
    ledger: ProjectionStore
    contracts: ContractBook
    invoices: InvoiceBook
    runs: BillingRuns
    performance: PerformanceReports

    def create_schema(self) -> None:
        """Create the read model, its tracking tables and the service's records if missing."""
        self.ledger.create_schema()
        with self.engine.begin() as conn:
            records_metadata.create_all(conn)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def billing_ledger_projection() -> BillingLedger:
    """The billing-ledger projection (the `casetrail consume billing-ledger` entry point)."""
    return BillingLedger()


def build(settings: BillingSettings | None = None, *, migrate: bool | None = None
          ) -> BillingService:
    """The billing service wired to its own database."""
    settings = settings or BillingSettings()
    engine = make_engine(settings.database_url)
    contracts, invoices, facts = ContractBook(engine), InvoiceBook(engine), LedgerFacts()
    service = BillingService(
        settings=settings, engine=engine,
        ledger=ProjectionStore(engine, billing_ledger_projection()),
        contracts=contracts, invoices=invoices,
        runs=BillingRuns(engine, contracts, invoices, facts),
        performance=PerformanceReports(engine, contracts, facts))
    if settings.create_schema if migrate is None else migrate:
        service.create_schema()
    return service
