"""Server-side sessions in the console's own database (table `console_sessions`).

The browser holds only a random token (an HttpOnly cookie). The table holds the token's
SHA-256, so a copy of the database cannot be replayed as a cookie, and the user's API key
sealed with AES-256-GCM under a key derived from the token (HKDF-SHA256), so a copy of the
database does not reveal API keys either: only a request carrying the cookie can open its key.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from casetrail.clock import Clock
from casetrail.security import Role
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import Engine

from console_service.domain.sessions import Identity, Session, SessionPolicy

metadata = sa.MetaData()
sessions_table = sa.Table(
    "console_sessions", metadata,
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("sealed_key", sa.Text, nullable=False),
    sa.Column("key_id", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("tenant", sa.String(200)),
    sa.Column("csrf_token", sa.String(100), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

TOUCH_EVERY = timedelta(seconds=30)  # a busy page writes its session at most this often


class SessionExpired(Exception):
    """The session existed but has ended (`reason`: idle or absolute)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def session_id_of(token: str) -> str:
    """The stored id of a cookie token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _key_for(token: str, session_id: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"casetrail-console/session-key/v1/" + session_id.encode()
                ).derive(token.encode())


def seal_key(token: str, session_id: str, api_key: str) -> str:
    """The API key encrypted under the token (bound to the session id)."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key_for(token, session_id)).encrypt(nonce, api_key.encode(),
                                                           session_id.encode())
    return base64.b64encode(nonce + sealed).decode()


def open_key(token: str, session_id: str, sealed: str) -> str | None:
    """The API key, or None if the token does not open it."""
    raw = base64.b64decode(sealed)
    try:
        return AESGCM(_key_for(token, session_id)).decrypt(raw[:12], raw[12:],
                                                           session_id.encode()).decode()
    except (InvalidTag, ValueError):
        return None


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SessionStore:
    """Creates, opens, touches and ends sessions; expired rows are deleted as they are met
    and by `purge_expired`."""

    def __init__(self, engine: Engine, policy: SessionPolicy, clock: Clock):
        self.engine, self.policy, self.clock = engine, policy, clock

    def check(self) -> None:
        """Raise unless the database answers."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def create(self, identity: Identity, api_key: str, language: str) -> tuple[str, Session]:
        """A new session for a verified key; returns the cookie token and the session."""
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        session = Session(session_id=session_id_of(token), identity=identity,
                          csrf_token=secrets.token_urlsafe(32), language=language,
                          created_at=now, last_seen_at=now)
        with self.engine.begin() as conn:
            conn.execute(sessions_table.insert().values(
                session_id=session.session_id,
                sealed_key=seal_key(token, session.session_id, api_key),
                key_id=identity.key_id, role=identity.role.value, tenant=identity.tenant,
                csrf_token=session.csrf_token, language=language, created_at=now,
                last_seen_at=now, expires_at=self.policy.expires_at(session)))
        return token, session

    def open(self, token: str) -> tuple[Session, str] | None:
        """The session of a cookie token and its API key, used now (its idle time restarts);
        None if there is none; SessionExpired (and the row deleted) if it has ended."""
        session_id = session_id_of(token)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sessions_table).where(
                sessions_table.c.session_id == session_id)).mappings().first()
        if row is None:
            return None
        session = Session(
            session_id=session_id,
            identity=Identity(key_id=row["key_id"], role=Role(row["role"]),
                              tenant=row["tenant"]),
            csrf_token=row["csrf_token"], language=row["language"],
            created_at=_aware(row["created_at"]), last_seen_at=_aware(row["last_seen_at"]))
        now = self.clock.now()
        reason = self.policy.expiry_reason(session, now)
        if reason is not None:
            self.end(session_id)
            raise SessionExpired(reason)
        api_key = open_key(token, session_id, row["sealed_key"])
        if api_key is None:
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:
            session = session.touched(now)
            with self.engine.begin() as conn:
                conn.execute(sessions_table.update().where(
                    sessions_table.c.session_id == session_id).values(
                    last_seen_at=now, expires_at=self.policy.expires_at(session)))
        return session, api_key

    def set_language(self, session: Session, language: str) -> Session:
        """Remember the user's language for the rest of the session."""
        with self.engine.begin() as conn:
            conn.execute(sessions_table.update().where(
                sessions_table.c.session_id == session.session_id).values(language=language))
        return replace(session, language=language)

    def end(self, session_id: str) -> None:
        """Delete a session (sign-out, expiry, a key the services no longer accept)."""
        with self.engine.begin() as conn:
            conn.execute(sessions_table.delete().where(
                sessions_table.c.session_id == session_id))

    def purge_expired(self) -> int:
        """Delete every session that has expired; how many."""
        with self.engine.begin() as conn:
            result = conn.execute(sessions_table.delete().where(
                sessions_table.c.expires_at <= self.clock.now()))
        return int(result.rowcount or 0)

    def count(self) -> int:
        """How many sessions are stored (expired ones not yet purged included)."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(
                sessions_table)).scalar_one())
