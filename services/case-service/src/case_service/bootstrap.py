"""Builds the case service from settings; every piece can be overridden in tests."""

from __future__ import annotations

from typing import Any

from casetrail import migrations
from casetrail.clock import Clock
from casetrail.crypto import MasterKey
from casetrail.dburl import DatabaseURL
from casetrail.envelope import EventEnvelope, in_shard
from casetrail.kafka import KafkaSettings
from casetrail.projections.store import make_engine
from casetrail.settings import CommonSettings

from case_service.adapters import tables
from case_service.adapters.audit import AuditLog
from case_service.adapters.case_list import CaseSummaries
from case_service.adapters.case_store import CaseStore
from case_service.adapters.debtor_keys import DebtorKeys
from case_service.adapters.eventstore import EventsTable
from case_service.adapters.parties import PartiesClient
from case_service.adapters.pii_vault import PiiVault
from case_service.adapters.relay import Relay, log_notifications
from case_service.application import replay
from case_service.application.cases import CaseApplication
from case_service.config import CaseSettings

RECORDERS = {
    "sqlite": "case_service.adapters.eventstore.recorders:SQLiteCaseRecorder",
    "postgres": "case_service.adapters.eventstore.recorders:PostgresCaseRecorder",
}
MIGRATIONS = "case_service:adapters/migrations"  # the alembic history of tables.metadata
VERSION_TABLE = "alembic_version_case"


def eventsourcing_env(settings: CaseSettings, *, create_tables: bool) -> dict[str, str]:
    """The eventsourcing environment for the configured database."""
    url = DatabaseURL.parse(settings.database_url)
    return {
        **url.eventsourcing_env(),
        "APPLICATION_RECORDER_TOPIC": RECORDERS[url.backend],
        "CREATE_TABLE": "y" if create_tables else "n",
    }


def upgrade_tables(database_url: str) -> str:
    """Bring the case service's tables to the newest revision (alembic); returns it. The
    event store's tables are the library's, made when the application starts with
    CREATE_TABLE (`build_application(migrate=True)`)."""
    return migrations.upgrade(database_url, script_location=MIGRATIONS,
                              version_table=VERSION_TABLE, metadata=tables.metadata)


def build_application(settings: CaseSettings | None = None,
                      common: CommonSettings | None = None,
                      *, master_key: MasterKey | None = None,
                      migrate: bool | None = None,
                      clock: Clock | None = None) -> CaseApplication:
    """The case application wired to its database and key vault ("now" from `clock`, by
    default the settings' clock). With
    `migrate` (default: CASE_CREATE_SCHEMA) the event store's tables are made and the
    service's own tables migrated to head first."""
    settings = settings or CaseSettings()
    common = common or CommonSettings()
    create = settings.create_schema if migrate is None else migrate
    master = master_key or common.master
    engine = make_engine(settings.database_url)  # (on PostgreSQL, makes the schema)
    if create:
        upgrade_tables(settings.database_url)

    def audit(events: EventsTable) -> AuditLog:
        return AuditLog(engine, events, common.audit_signing_key_bytes,
                        origin=settings.audit_origin)

    application = CaseApplication(
        env=eventsourcing_env(settings, create_tables=create),
        store=CaseStore(engine), vault=PiiVault(DebtorKeys(engine), master),
        audit_factory=audit, clock=clock or common.clock, default_timezone=common.default_timezone,
    )
    if settings.billing_url:
        application.parties = PartiesClient(settings.billing_url)
    # Group commit (eventstore/recorders.py) unless CASE_GROUP_COMMIT=false.
    application.recorder.group_commit = settings.group_commit  # type: ignore[attr-defined]
    return application


def migrate_database(settings: CaseSettings | None = None) -> str:
    """`casetrail migrate case`: the event store's tables (made by the library when the
    application starts with CREATE_TABLE) and the service's own, at the newest revision;
    returns that revision."""
    settings = settings or CaseSettings()
    build_application(settings, migrate=True).close()
    return upgrade_tables(settings.database_url)  # at head already: says which


def case_summaries_projection(settings: CaseSettings | None = None) -> CaseSummaries:
    """The case list as a projection, rebuilt by replaying every case (the
    `casetrail projections rebuild case-summaries` entry point), in the service's database."""
    settings = settings or CaseSettings()
    return CaseSummaries(replay.summaries_from_log, url=settings.database_url)


def build_relay(application: CaseApplication, settings: KafkaSettings, *,
                shard: str | None = None, **options: Any) -> Relay:
    """The outbox relay of the application's log onto Kafka (`casetrail relay`); with a
    `shard` (CASE_SHARD), every published event names it."""
    read_log = application.events_after
    if shard is not None:
        def read_log(after: int, limit: int) -> list[EventEnvelope]:
            return [in_shard(e, shard) for e in application.events_after(after, limit)]
    options.setdefault("notifications", log_notifications(application.recorder))
    return Relay(read_log, application.last_position, application.store, settings,
                 **options)
