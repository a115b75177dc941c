"""Builds the contact service from settings; every piece can be overridden in tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from casetrail.clock import SYSTEM_CLOCK, Clock
from casetrail.crypto import MasterKey
from casetrail.projections.store import ProjectionStore, make_engine
from casetrail.settings import CommonSettings
from sqlalchemy.engine import Engine

from contact_service.adapters.agency_settings import AgencySettings, create_settings_schema
from contact_service.adapters.contact_log import ContactLog
from contact_service.adapters.policies import Policies
from contact_service.adapters.qa_store import create_qa_schema
from contact_service.adapters.queries import ContactQueries
from contact_service.config import ContactSettings
from contact_service.domain.policy import load_packs


@dataclass
class ContactService:
    """What the contact service's entrypoints use."""

    settings: ContactSettings
    master: MasterKey  # to turn a dialer's number into the reference contacts are counted by
    engine: Engine
    policies: Policies
    contact_log: ProjectionStore
    queries: ContactQueries
    agencies: AgencySettings  # each agency's time zone (default: CASETRAIL_DEFAULT_TIMEZONE)
    clock: Clock  # every "now" the service reads

    def now(self) -> datetime:
        """The current instant, from the service's one clock."""
        return self.clock.now()

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def build_policies(settings: ContactSettings, clock: Clock = SYSTEM_CLOCK) -> Policies:
    """The shipped (or configured) policy packs and the default pack."""
    return Policies(load_packs(settings.policy_packs_dir), settings.default_policy_pack, clock)


def contact_log_projection(settings: ContactSettings | None = None) -> ContactLog:
    """The contact-log projection, judging each contact against the pack in force (the
    `casetrail consume contact-log` entry point)."""
    settings = settings or ContactSettings()
    projection = ContactLog(judge=build_policies(settings))
    projection.url = settings.database_url  # the contact service's own database
    return projection


def build(settings: ContactSettings | None = None, *, migrate: bool | None = None,
          common: CommonSettings | None = None, clock: Clock = SYSTEM_CLOCK) -> ContactService:
    """The contact service wired to its own database ("now" from `clock`; days a user sees
    in each agency's zone, by default `common.default_timezone`)."""
    settings = settings or ContactSettings()
    common = common or CommonSettings()
    engine = make_engine(settings.database_url)
    policies = build_policies(settings, clock)
    contact_log = ProjectionStore(engine, ContactLog(judge=policies))
    if settings.create_schema if migrate is None else migrate:
        contact_log.create_schema()
        create_qa_schema(engine)
        create_settings_schema(engine)
    return ContactService(settings=settings, master=common.master, engine=engine, policies=policies,
                          contact_log=contact_log, queries=ContactQueries(engine),
                          agencies=AgencySettings(engine, common.default_timezone, clock),
                          clock=clock)
