"""Builds the billing service from settings; every piece can be overridden in tests."""

from __future__ import annotations

from dataclasses import dataclass

from casetrail.clock import SYSTEM_CLOCK, Clock
from casetrail.projections.store import ProjectionStore, make_engine
from casetrail.settings import CommonSettings
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
    clock: Clock  # the one "now" of the service: runs, previews, stamps, default as_of
    default_timezone: str  # days of new contracts and reports that state no zone

    def create_schema(self) -> None:
        """Create the read model, its tracking tables and the service's records if missing."""
        self.ledger.create_schema()
        with self.engine.begin() as conn:
            records_metadata.create_all(conn)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def billing_ledger_projection() -> BillingLedger:
    """The billing-ledger projection (the `casetrail consume billing-ledger` entry point),
    in the billing service's own database."""
    projection = BillingLedger()
    projection.url = BillingSettings().database_url
    return projection


def build(settings: BillingSettings | None = None, *, migrate: bool | None = None,
          common: CommonSettings | None = None, clock: Clock = SYSTEM_CLOCK) -> BillingService:
    """The billing service wired to its own database ("now" from `clock`; the default zone
    is CASETRAIL_DEFAULT_TIMEZONE, from `common`)."""
    settings = settings or BillingSettings()
    zone = (common or CommonSettings()).default_timezone
    engine = make_engine(settings.database_url)
    contracts, invoices, facts = ContractBook(engine, clock), InvoiceBook(engine), LedgerFacts()
    service = BillingService(
        settings=settings, engine=engine,
        ledger=ProjectionStore(engine, billing_ledger_projection()),
        contracts=contracts, invoices=invoices,
        runs=BillingRuns(engine, contracts, invoices, facts, clock, zone),
        performance=PerformanceReports(engine, contracts, facts),
        clock=clock, default_timezone=zone)
    if settings.create_schema if migrate is None else migrate:
        service.create_schema()
    return service
