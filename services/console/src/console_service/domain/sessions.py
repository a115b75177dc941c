"""Console sessions: what a signed-in user is, and when a session stops being valid."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from casetrail.security import Role


@dataclass(frozen=True)
class Identity:
    """Who a key belongs to, as the services answered (never as the console guessed)."""

    key_id: str
    role: Role
    tenant: str | None


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions live: idle (since last use) and absolute (since sign-in)."""

    idle: timedelta
    absolute: timedelta

    def expiry_reason(self, session: Session, now: datetime) -> str | None:
        """'idle' or 'absolute' if the session has expired at `now`, else None."""
        if now >= session.created_at + self.absolute:
            return "absolute"
        if now >= session.last_seen_at + self.idle:
            return "idle"
        return None

    def expires_at(self, session: Session) -> datetime:
        """When the session ends if it is not used again."""
        return min(session.created_at + self.absolute, session.last_seen_at + self.idle)


@dataclass(frozen=True)
class Session:
    """A signed-in user. The API key itself is kept sealed by the store, never here."""

    session_id: str  # the SHA-256 of the cookie token: the token itself is never stored
    identity: Identity
    csrf_token: str
    language: str
    created_at: datetime
    last_seen_at: datetime

    @property
    def role(self) -> Role:
        """The user's role."""
        return self.identity.role

    @property
    def tenant(self) -> str | None:
        """The creditor or agency the user acts for (None for auditors and admins)."""
        return self.identity.tenant

    def touched(self, now: datetime) -> Session:
        """The session as used at `now`."""
        return replace(self, last_seen_at=now)
