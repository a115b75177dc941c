"""Sign-in and sessions: a key verified by the services (who it is, as they authenticate it)
is exchanged for a server-side session; a session is opened by its cookie token, keeps the
user's language, and ends on sign-out, expiry, or a key the services stop accepting."""

from __future__ import annotations

from anyio import to_thread

from console_service.adapters.catalogs import LANGUAGES
from console_service.adapters.services import ServiceClients, ServiceError, UserApi
from console_service.adapters.sessions import SessionExpired, SessionStore
from console_service.domain.sessions import Session

__all__ = ["SessionExpired", "Sessions", "SignInRefused"]


class SignInRefused(Exception):
    """The key was not accepted (`reason`: unknown_key, services_unavailable)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Sessions:
    """Sign in, open, re-language and end sessions (stored by `SessionStore`)."""

    def __init__(self, store: SessionStore, clients: ServiceClients, default_language: str):
        self.store, self.clients, self.default_language = store, clients, default_language

    async def sign_in(self, api_key: str, language: str) -> tuple[str, Session]:
        """Verify `api_key` with the services (who it is, as they authenticate it) and open
        a session for it; returns the cookie token. SignInRefused if they do not accept it."""
        api_key = api_key.strip()
        if not api_key or len(api_key) > 500 or not api_key.isascii():
            raise SignInRefused("unknown_key")
        try:
            identity = await self.clients.as_user(api_key).whoami()
        except ServiceError as exc:
            raise SignInRefused("unknown_key" if exc.status == 401
                                else "services_unavailable") from None
        created = await to_thread.run_sync(self.store.create, identity, api_key,
                                           self.language(language))
        await to_thread.run_sync(self.store.purge_expired)  # rows nobody came back for
        return created

    async def open(self, token: str) -> tuple[Session, UserApi] | None:
        """The session of a cookie token and an API client with its key; None if there is
        none; SessionExpired if it ended."""
        found = await to_thread.run_sync(self.store.open, token)
        if found is None:
            return None
        session, api_key = found
        return session, self.clients.as_user(api_key)

    async def sign_out(self, session: Session) -> None:
        """End the session."""
        await to_thread.run_sync(self.store.end, session.session_id)

    async def set_language(self, session: Session, language: str) -> Session:
        """Keep the user's language choice in the session."""
        return await to_thread.run_sync(self.store.set_language, session,
                                        self.language(language))

    def language(self, wanted: str | None) -> str:
        """A supported language: the one wanted, else the default."""
        return wanted if wanted in LANGUAGES else self.default_language

    def check(self) -> None:
        """Raise unless the sessions' database answers (readiness)."""
        self.store.check()
