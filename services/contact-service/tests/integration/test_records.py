"""Records people make, written by two replicas at once, on SQLite and PostgreSQL.

A policy assignment "from now" and an agency setting each read what is recorded, then
insert; another replica can insert the same key in between. The loser sees the integrity
error and tries again (casetrail.retry, bounded), judging against what the winner stored:
- an assignment from now takes the next free microsecond after the winner's;
- a setting of the same zone from the same instant is a replay, another zone a conflict;
- a write that keeps losing gives up after its attempts with the integrity error.

The race is staged where it happens: the first attempt's insert finds the key taken by a
write committed after that attempt read (the winner's commit, done here in the attempt's
place), so each later attempt runs the real code against the real database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from casetrail.clock import ManualClock
from casetrail.security import Principal, Role
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, fresh_database
from contact_service.adapters.agency_settings import ATTEMPTS as SETTING_ATTEMPTS
from contact_service.adapters.agency_settings import AgencySettingsStore, agency_settings
from contact_service.adapters.contact_log import policy_assignments
from contact_service.adapters.policies import FROM_NOW_ATTEMPTS, ComplianceStore
from contact_service.bootstrap import ContactService, build
from contact_service.config import ContactSettings
from contact_service.domain.records import SettingConflict
from sqlalchemy.exc import IntegrityError

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ADMIN = Principal("replica-1", Role.ADMIN)


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ContactService]:
    with fresh_database(request.param, tmp_path, "contact") as url:
        built = build(ContactSettings(database_url=url), clock=ManualClock(NOW),
                      common=CommonSettings(default_timezone="Asia/Shanghai"))
        yield built
        built.close()


def losing(monkeypatch: pytest.MonkeyPatch, cls: type, method: str,
           winner: Callable[[], None], times: int = 1) -> list[int]:
    """Make `cls.method` lose the race `times` times: the winner's write commits, then the
    attempt fails as its insert would. Returns the attempts made (a list that grows)."""
    real = getattr(cls, method)
    attempts: list[int] = []

    def attempt(self: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(len(attempts) + 1)
        if len(attempts) <= times:
            winner()
            raise IntegrityError("INSERT", {}, Exception("duplicate key"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, method, attempt)
    return attempts


def insert(service: ContactService, table: sa.Table, **row: str) -> None:
    with service.engine.begin() as conn:
        conn.execute(table.insert().values(**row))


def test_an_assignment_from_now_that_loses_its_microsecond_takes_the_next(
        service: ContactService, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = losing(monkeypatch, ComplianceStore, "_insert", lambda: insert(
        service, policy_assignments, creditor_id="BANK", effective_from=NOW.isoformat(),
        pack_id="us-reg-f", assigned_at=NOW.isoformat(), actor="replica-2"))
    mine, recorded = service.compliance.assign_policy(ADMIN, "BANK", "cn-gbt-45251-2025", None)
    assert recorded
    assert attempts == [1, 2]
    assert mine["effective_from"] == (NOW + timedelta(microseconds=1)).isoformat()
    assignments = service.compliance.creditor_policy(ADMIN, "BANK")["assignments"]
    assert [(a["pack_id"], a["actor"]) for a in assignments] == [
        ("us-reg-f", "replica-2"), ("cn-gbt-45251-2025", ADMIN.actor)]


def test_an_assignment_that_keeps_losing_gives_up_after_its_attempts(
        service: ContactService, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = losing(monkeypatch, ComplianceStore, "_insert", lambda: None,
                      times=FROM_NOW_ATTEMPTS)
    with pytest.raises(IntegrityError):
        service.compliance.assign_policy(ADMIN, "BANK", "us-reg-f", None)
    assert len(attempts) == FROM_NOW_ATTEMPTS
    assert service.compliance.creditor_policy(ADMIN, "BANK")["assignments"] == []


@pytest.mark.parametrize(("theirs", "outcome"), [("America/New_York", "replay"),
                                                 ("Europe/London", "conflict")])
def test_a_setting_that_loses_the_race_for_its_instant_judges_against_the_winner(
        service: ContactService, monkeypatch: pytest.MonkeyPatch, theirs: str,
        outcome: str) -> None:
    start = NOW + timedelta(days=1)
    attempts = losing(monkeypatch, AgencySettingsStore, "_append", lambda: insert(
        service, agency_settings, agency_id="AG-A", effective_from=start.isoformat(),
        timezone=theirs, set_at=NOW.isoformat(), actor="replica-2"))
    if outcome == "conflict":
        with pytest.raises(SettingConflict):
            service.agencies.set_timezone(ADMIN, "AG-A", "America/New_York", start)
    else:
        settings, recorded = service.agencies.set_timezone(ADMIN, "AG-A", "America/New_York",
                                                           start)
        assert not recorded  # the winner recorded the very same version
        assert [v["actor"] for v in settings["versions"]] == ["replica-2"]
    assert attempts == [1, 2]


def test_a_setting_that_keeps_losing_gives_up_after_its_attempts(
        service: ContactService, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = losing(monkeypatch, AgencySettingsStore, "_append", lambda: None,
                      times=SETTING_ATTEMPTS)
    with pytest.raises(IntegrityError):
        service.agencies.set_timezone(ADMIN, "AG-A", "UTC", None)
    assert len(attempts) == SETTING_ATTEMPTS
    assert service.agencies.settings(ADMIN, "AG-A")["versions"] == []
