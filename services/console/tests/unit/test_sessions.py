"""Console sessions: stored as a token hash with the API key sealed under the token; they end
after idle time and after their absolute lifetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from casetrail.clock import ManualClock
from casetrail.projections.store import make_engine
from casetrail.security import Role
from console_service.adapters.schema import migrate
from console_service.adapters.sessions import (
    SessionExpired,
    SessionStore,
    open_key,
    seal_key,
    session_id_of,
    sessions_table,
)
from console_service.domain.sessions import Identity, SessionPolicy

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
KEY = "ct_creditor_secret-key-value"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store(tmp_path: Path, clock: ManualClock) -> SessionStore:
    url = f"sqlite:///{tmp_path}/console.db"
    migrate(url)
    return SessionStore(make_engine(url),
                        SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12)),
                        clock)


def signed_in(store: SessionStore) -> str:
    token, _ = store.create(Identity("key-1", Role.CREDITOR, "BANK-1"), KEY, "zh")
    return token


def test_a_session_opens_with_its_token_and_gives_back_the_key(store: SessionStore) -> None:
    token = signed_in(store)
    found = store.open(token)
    assert found is not None
    session, api_key = found
    assert api_key == KEY
    assert (session.role, session.tenant, session.language) == (Role.CREDITOR, "BANK-1", "zh")
    assert len(session.csrf_token) >= 40


def test_the_database_holds_neither_the_token_nor_the_key(store: SessionStore) -> None:
    token = signed_in(store)
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(sessions_table)).mappings()]
    assert len(rows) == 1
    stored = repr(rows)
    assert token not in stored
    assert KEY not in stored
    assert rows[0]["session_id"] == session_id_of(token)


def test_another_token_opens_nothing(store: SessionStore) -> None:
    signed_in(store)
    assert store.open("not-the-token") is None


def test_the_sealed_key_opens_only_with_its_token_and_session() -> None:
    sealed = seal_key("token-a", "session-a", KEY)
    assert open_key("token-a", "session-a", sealed) == KEY
    assert open_key("token-b", "session-a", sealed) is None
    assert open_key("token-a", "session-b", sealed) is None


def test_a_session_unused_for_the_idle_time_has_ended(store: SessionStore,
                                                      clock: ManualClock) -> None:
    token = signed_in(store)
    clock.set(START + timedelta(minutes=30))
    with pytest.raises(SessionExpired) as expired:
        store.open(token)
    assert expired.value.reason == "idle"
    assert store.open(token) is None  # and it is gone


def test_use_keeps_a_session_alive_until_its_absolute_end(store: SessionStore,
                                                         clock: ManualClock) -> None:
    token = signed_in(store)
    for minutes in range(20, 12 * 60, 20):  # used every 20 minutes: never idle
        clock.set(START + timedelta(minutes=minutes))
        assert store.open(token) is not None
    clock.set(START + timedelta(hours=12))
    with pytest.raises(SessionExpired) as expired:
        store.open(token)
    assert expired.value.reason == "absolute"


def test_sign_out_ends_the_session(store: SessionStore) -> None:
    token = signed_in(store)
    store.end(session_id_of(token))
    assert store.open(token) is None


def test_expired_sessions_are_purged(store: SessionStore, clock: ManualClock) -> None:
    signed_in(store)
    kept = signed_in(store)
    clock.set(START + timedelta(minutes=20))
    assert store.open(kept) is not None  # touched: its idle time restarts
    clock.set(START + timedelta(minutes=31))
    assert store.purge_expired() == 1
    assert store.count() == 1


def test_the_language_choice_is_kept(store: SessionStore) -> None:
    token = signed_in(store)
    found = store.open(token)
    assert found is not None
    store.set_language(found[0], "en")
    again = store.open(token)
    assert again is not None
    assert again[0].language == "en"
