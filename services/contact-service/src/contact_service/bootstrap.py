"""Builds the contact service from settings; every piece can be overridden in tests.

`build` wires the adapters (the service's own database, the policy packs) into the use cases
of `application/` and returns them as one `ContactService`, what the entrypoints use. With
`create_schema` (the embedded default) it first brings the database to the newest migration,
as `casetrail migrate contact` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from casetrail.clock import Clock
from casetrail.projections.store import ProjectionStore, make_engine
from casetrail.settings import CommonSettings
from sqlalchemy.engine import Engine

from contact_service.adapters import schema
from contact_service.adapters.agency_settings import AgencySettingsStore
from contact_service.adapters.complaints import ComplaintQueries
from contact_service.adapters.contact_log import ContactLog
from contact_service.adapters.policies import ComplianceStore, Policies
from contact_service.adapters.qa_store import QaStore
from contact_service.adapters.queries import ContactQueries
from contact_service.adapters.service_levels import ServiceLevelReader
from contact_service.adapters.timeliness import TimelinessReader
from contact_service.application.complaints import Complaints
from contact_service.application.compliance import Compliance
from contact_service.application.contacts import Contacts
from contact_service.application.quality import Quality
from contact_service.application.service_levels import ServiceLevels
from contact_service.application.settings import AgencySettings
from contact_service.application.timeliness import Timeliness
from contact_service.config import ContactSettings
from contact_service.domain.policy import load_packs


@dataclass
class ContactService:
    """What the contact service's entrypoints use: its use cases, and the contact-log
    projection its consumers (and tests) apply case events to."""

    settings: ContactSettings
    engine: Engine
    contact_log: ProjectionStore
    contacts: Contacts
    compliance: Compliance
    quality: Quality
    service_levels: ServiceLevels
    agencies: AgencySettings  # each agency's time zone (default: CASETRAIL_DEFAULT_TIMEZONE)
    clock: Clock  # every "now" the service reads
    queries: ContactQueries
    complaints: Complaints
    timeliness: Timeliness

    def now(self) -> datetime:
        """The current instant, from the service's one clock."""
        return self.clock.now()

    def ready(self) -> None:
        """Raise when the service's database does not answer."""
        self.queries.ping()

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def build_policies(settings: ContactSettings) -> Policies:
    """The shipped (or configured) policy packs and the default pack."""
    return Policies(load_packs(settings.policy_packs_dir), settings.default_policy_pack)


def contact_log_projection(settings: ContactSettings | None = None) -> ContactLog:
    """The contact-log projection, judging each contact against the pack in force (the
    `casetrail consume contact-log` entry point)."""
    settings = settings or ContactSettings()
    projection = ContactLog(judge=build_policies(settings))
    projection.url = settings.database_url  # the contact service's own database
    return projection


def migrate(settings: ContactSettings | None = None) -> str:
    """Bring the service's database to the newest migration; returns that revision."""
    return schema.migrate((settings or ContactSettings()).database_url)


def build(settings: ContactSettings | None = None, *, migrate: bool | None = None,
          common: CommonSettings | None = None, clock: Clock | None = None) -> ContactService:
    """The contact service wired to its own database ("now" from `clock`, by default the
    settings' clock; days a user sees
    in each agency's zone, by default `common.default_timezone`). `migrate` (default
    `settings.create_schema`) upgrades the database first."""
    settings = settings or ContactSettings()
    common = common or CommonSettings()
    clock = clock or common.clock
    if settings.create_schema if migrate is None else migrate:
        schema.migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    policies = build_policies(settings)
    queries = ContactQueries(engine)
    zones = AgencySettingsStore(engine, common.default_timezone)
    return ContactService(
        settings=settings, engine=engine,
        contact_log=ProjectionStore(engine, ContactLog(judge=policies)),
        contacts=Contacts(queries),
        compliance=Compliance(ComplianceStore(engine, policies), queries, common.master, clock),
        quality=Quality(QaStore(engine), queries, zones, clock),
        service_levels=ServiceLevels(ServiceLevelReader(engine), zones, clock),
        agencies=AgencySettings(zones, queries, clock),
        clock=clock, queries=queries, complaints=Complaints(ComplaintQueries(engine)),
        timeliness=Timeliness(TimelinessReader(engine), zones))
