"""Builds the case service from settings; every piece can be overridden in tests."""

from __future__ import annotations

from typing import Any

from casetrail.clock import SYSTEM_CLOCK, Clock
from casetrail.crypto import MasterKey
from casetrail.dburl import DatabaseURL
from casetrail.settings import CommonSettings

from case_service.adapters.audit import AuditLog
from case_service.adapters.case_store import CaseStore
from case_service.adapters.pii_vault import PiiVault
from case_service.adapters.sql import SqlDatabase
from case_service.application import CaseApplication
from case_service.config import CaseSettings

RECORDERS = {
    "sqlite": "case_service.adapters.recorders:SQLiteCaseRecorder",
    "postgres": "case_service.adapters.recorders:PostgresCaseRecorder",
}


def eventsourcing_env(settings: CaseSettings, *, create_tables: bool) -> dict[str, str]:
    """The eventsourcing environment for the configured database."""
    url = DatabaseURL.parse(settings.database_url)
    return {
        **url.eventsourcing_env(),
        "APPLICATION_RECORDER_TOPIC": RECORDERS[url.backend],
        "CREATE_TABLE": "y" if create_tables else "n",
    }


def create_pg_schema(url: DatabaseURL) -> None:
    """The eventsourcing recorder expects its schema to exist already."""
    import psycopg

    with psycopg.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                         dbname=url.dbname, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{url.schema}"')


def build_application(settings: CaseSettings | None = None,
                      common: CommonSettings | None = None,
                      *, master_key: MasterKey | None = None,
                      migrate: bool | None = None,
                      clock: Clock = SYSTEM_CLOCK) -> CaseApplication:
    """The case application wired to its database and key vault ("now" from `clock`)."""
    settings = settings or CaseSettings()
    common = common or CommonSettings()
    create = settings.create_schema if migrate is None else migrate
    master = master_key or common.master
    url = DatabaseURL.parse(settings.database_url)
    if create and url.backend == "postgres":
        create_pg_schema(url)

    def store_factory(recorder: Any) -> CaseStore:
        store = CaseStore(SqlDatabase(recorder))
        if create:
            store.create_schema()
        return store

    return CaseApplication(
        env=eventsourcing_env(settings, create_tables=create),
        store_factory=store_factory,
        vault_factory=lambda store: PiiVault(store, master),
        audit_factory=lambda store: AuditLog(store, common.audit_signing_key_bytes,
                                             origin=settings.audit_origin),
        clock=clock, default_timezone=common.default_timezone,
    )
