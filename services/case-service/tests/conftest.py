"""Fixtures shared by the case-service test tiers.

`database_url` runs a test once on SQLite and once on PostgreSQL (TEST_DATABASE_URL, started by
`make test`); each PostgreSQL run gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from case_service.application import CaseApplication
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from case_service.entrypoints.app import create_app
from casetrail.crypto import MasterKey
from casetrail.security import Capacity, KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, fresh_database
from fastapi.testclient import TestClient

PRINCIPALS = {
    "admin": (Role.ADMIN, None),
    "auditor": (Role.AUDITOR, None),
    "bank1": (Role.CREDITOR, "BANK1"),
    "bank2": (Role.CREDITOR, "BANK2"),
    "agency_a": (Role.AGENCY, "AG-A"),
    "agency_b": (Role.AGENCY, "AG-B"),
    "collector_a": (Role.AGENCY, "AG-A"),  # a collector's key: works cases, approves nothing
    "col_1": (Role.AGENCY, "AG-A"),  # a collector's key bound to collector COL-1
    "lawfirm": (Role.AGENCY, "LF-1"),  # a law firm (an agency of kind law_firm)
}
CAPACITIES = {"collector_a": Capacity.COLLECTOR, "col_1": Capacity.COLLECTOR}
COLLECTOR_IDS = {"col_1": "COL-1"}


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A fresh, empty database on each backend."""
    with fresh_database(request.param, tmp_path, "case") as url:
        yield url


@pytest.fixture
def api_keys() -> dict[str, str]:
    """Raw API keys by principal name."""
    return {name: generate_key(role) for name, (role, _) in PRINCIPALS.items()}


@pytest.fixture
def common(api_keys: dict[str, str], tmp_path: Any) -> CommonSettings:
    """Settings with test keys and a random master key."""
    entries = [KeyEntry(name, hash_key(api_keys[name]), role, tenant,
                        CAPACITIES.get(name), COLLECTOR_IDS.get(name)).to_json()
               for name, (role, tenant) in PRINCIPALS.items()]
    return CommonSettings(api_keys=json.dumps(entries), master_key=MasterKey.generate_b64(),
                          var_dir=tmp_path / "var")


@pytest.fixture
def settings(database_url: str) -> CaseSettings:
    """Case settings on the backend under test."""
    return CaseSettings(database_url=database_url)


@pytest.fixture
def application(settings: CaseSettings, common: CommonSettings) -> Iterator[CaseApplication]:
    """The case application on the backend under test."""
    app = build_application(settings, common)
    yield app
    app.close()


@pytest.fixture
def client(settings: CaseSettings, common: CommonSettings,
           application: CaseApplication) -> TestClient:
    """An HTTP client for the API, sharing `application`."""
    return TestClient(create_app(settings, common, application))


class InsiderCursor:
    """A DB-API cursor of the service's database: rows as dicts, `%s` placeholders."""

    def __init__(self, conn: Any, sqlite: bool):
        self.conn, self.sqlite = conn, sqlite
        self.result: Any = None

    def execute(self, statement: str, params: Sequence[Any] = ()) -> InsiderCursor:
        """Run one statement as the driver takes it."""
        if self.sqlite:
            statement = statement.replace("%s", "?")
        self.result = self.conn.exec_driver_sql(statement, tuple(params))
        return self

    def fetchall(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.result.mappings()]

    def fetchone(self) -> dict[str, Any] | None:
        row = self.result.mappings().first()
        return None if row is None else dict(row)


class Insider:
    """SQL on the service's database behind the application's back, as an insider with SQL
    access would write it: the tampering the audit must find, the rows a test inspects."""

    def __init__(self, application: CaseApplication):
        self.engine = application.store.engine
        self.postgres = self.engine.dialect.name == "postgresql"
        self.events_table = application.case_log.events.table.name
        self.position = "notification_id" if self.postgres else "rowid"

    @contextmanager
    def transaction(self) -> Iterator[InsiderCursor]:
        """A cursor inside one committed transaction."""
        with self.engine.begin() as conn:
            yield InsiderCursor(conn, sqlite=not self.postgres)


@pytest.fixture
def insider(application: CaseApplication) -> Insider:
    """Raw SQL on the database of `application` (see Insider)."""
    return Insider(application)


class Caller:
    """Sends requests as one principal."""

    def __init__(self, client: TestClient, key: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(path, headers=self.headers, json=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(path, headers=self.headers, json=json, **kw)


@pytest.fixture
def as_(client: TestClient, api_keys: dict[str, str]) -> Any:
    """`as_("bank1").post(...)`: call the API as a named principal."""
    return lambda name: Caller(client, api_keys[name])


def account(ref: str, *, agency: str | None = "AG-A", dpd: int = 45,
            principal: str = "1000.00", **extra: Any) -> dict[str, Any]:
    """A valid placement row."""
    row: dict[str, Any] = {
        "account_ref": ref, "balances": {"principal": principal, "interest": "20.50"},
        "dpd": dpd, "currency": "CNY",
        "debtor": {"name": "张三", "national_id": f"11010119900101{abs(hash(ref)) % 10000:04d}",
                   "phones": ["+86 138 0000 0000"], "address": "北京市朝阳区某路 1 号",
                   "timezone": "Asia/Shanghai"},
        **extra,
    }
    if agency is not None:
        row["agency_id"] = agency
    return row


@pytest.fixture
def placed(as_: Any) -> str:
    """One case placed by BANK1 with agency AG-A; returns its id."""
    response = as_("bank1").post("/v1/placements", json={
        "placement_ref": "P-FIXTURE", "accounts": [account("ACC-1")]})
    assert response.status_code == 201, response.text
    case_id: str = response.json()["accepted"][0]["case_id"]
    return case_id


@pytest.fixture
def row() -> Any:
    """`row("ACC-1", agency=None)`: build a valid placement row."""
    return account
