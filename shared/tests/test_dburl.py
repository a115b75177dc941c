"""DATABASE_URL parsing: sqlite:///path or postgresql://user:pw@host/db?schema=..."""

from __future__ import annotations

from pathlib import Path

import pytest
from casetrail.dburl import DatabaseURL


def test_a_sqlite_url_with_three_slashes_is_a_relative_path() -> None:
    url = DatabaseURL.parse("sqlite:///var/case.db")
    assert url.backend == "sqlite"
    assert url.sqlite_path == Path("var/case.db")


def test_a_sqlite_url_with_four_slashes_is_an_absolute_path() -> None:
    assert DatabaseURL.parse("sqlite:////srv/casetrail/case.db").sqlite_path == Path(
        "/srv/casetrail/case.db")


def test_a_sqlite_url_with_a_driver_suffix_is_still_sqlite() -> None:
    assert DatabaseURL.parse("sqlite+pysqlite:///var/case.db").backend == "sqlite"


def test_a_sqlite_path_is_percent_decoded() -> None:
    assert DatabaseURL.parse("sqlite:///var/my%20case.db").sqlite_path == Path("var/my case.db")


@pytest.mark.parametrize("text", ["sqlite:///", "sqlite://"])
def test_a_sqlite_url_without_a_path_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="file path"):
        DatabaseURL.parse(text)


def test_a_postgresql_url_with_a_schema_query() -> None:
    url = DatabaseURL.parse("postgresql://collector:p%40ss%2Fw0rd@db.internal:6543/casetrail"
                            "?schema=tenant_a")
    assert url == DatabaseURL(backend="postgres", host="db.internal", port=6543,
                              user="collector", password="p@ss/w0rd", dbname="casetrail",
                              schema="tenant_a")


def test_a_bare_postgres_url_uses_the_defaults() -> None:
    url = DatabaseURL.parse("postgres://")
    assert (url.backend, url.host, url.port, url.user, url.password, url.dbname, url.schema) == (
        "postgres", "127.0.0.1", 5432, "", "", "postgres", "public")


def test_a_postgresql_url_with_a_driver_suffix_is_postgres() -> None:
    url = DatabaseURL.parse("postgresql+psycopg://u:p@localhost/db")
    assert (url.backend, url.host, url.dbname) == ("postgres", "localhost", "db")


@pytest.mark.parametrize("text", ["mysql://u:p@localhost/db", "", "case.db", "http://x/y",
                                  "oracle+cx://h/db"])
def test_an_unsupported_scheme_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="unsupported database URL scheme"):
        DatabaseURL.parse(text)


def test_a_redacted_postgres_url_hides_the_password() -> None:
    url = DatabaseURL.parse("postgresql://collector:hunter2@db:5432/casetrail")
    assert "hunter2" not in url.redacted()
    assert url.redacted() == "postgresql://collector:***@db:5432/casetrail"


def test_a_redacted_sqlite_url_is_its_path() -> None:
    assert DatabaseURL.parse("sqlite:///var/case.db").redacted() == "sqlite:///var/case.db"


def test_the_postgres_environment_for_eventsourcing_names_schema_and_credentials() -> None:
    env = DatabaseURL.parse("postgresql://u:pw@h:6000/db?schema=s1").eventsourcing_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_USER"],
            env["POSTGRES_PASSWORD"], env["POSTGRES_DBNAME"], env["POSTGRES_SCHEMA"]) == (
        "h", "6000", "u", "pw", "db", "s1")


def test_the_sqlite_environment_for_eventsourcing_creates_the_folder(tmp_path: Path) -> None:
    url = DatabaseURL.parse(f"sqlite:///{tmp_path}/nested/dir/case.db")
    env = url.eventsourcing_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == str(tmp_path / "nested/dir/case.db")
    assert (tmp_path / "nested" / "dir").is_dir()
