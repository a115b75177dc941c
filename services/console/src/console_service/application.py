"""The console's use cases: sign in (a key verified by the services, exchanged for a
session), open and end sessions, and send a placement file. Everything else a page shows is
one or a few reads of the services' APIs, made by the routes with the user's own key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread

from console_service.adapters.catalogs import LANGUAGES, Catalogs
from console_service.adapters.services import ServiceClients, ServiceError, UserApi
from console_service.adapters.sessions import SessionExpired, SessionStore
from console_service.adapters.spreadsheets import read_table
from console_service.domain.placement_file import RowError, read_rows, row_errors
from console_service.domain.sessions import Session

__all__ = ["ConsoleApplication", "PlacementOutcome", "SessionExpired", "SignInRefused"]


class SignInRefused(Exception):
    """The key was not accepted (`reason`: unknown_key, services_unavailable)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class PlacementOutcome:
    """A placement file as sent and answered: the receipt, and its refusals on file rows."""

    receipt: dict[str, Any]
    rows: list[int]
    errors: list[RowError] = field(default_factory=list)
    replayed: bool = False


class ConsoleApplication:
    """Sessions and the calls that need more than one request."""

    def __init__(self, sessions: SessionStore, clients: ServiceClients, catalogs: Catalogs,
                 default_language: str):
        self.sessions, self.clients, self.catalogs = sessions, clients, catalogs
        self.default_language = default_language

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
        created = await to_thread.run_sync(self.sessions.create, identity, api_key,
                                           self.language(language))
        await to_thread.run_sync(self.sessions.purge_expired)  # rows nobody came back for
        return created

    async def open_session(self, token: str) -> tuple[Session, UserApi] | None:
        """The session of a cookie token and an API client with its key; None if there is
        none; SessionExpired if it ended."""
        found = await to_thread.run_sync(self.sessions.open, token)
        if found is None:
            return None
        session, api_key = found
        return session, self.clients.as_user(api_key)

    async def sign_out(self, session: Session) -> None:
        """End the session."""
        await to_thread.run_sync(self.sessions.end, session.session_id)

    async def set_language(self, session: Session, language: str) -> Session:
        """Keep the user's language choice in the session."""
        return await to_thread.run_sync(self.sessions.set_language, session,
                                        self.language(language))

    def language(self, wanted: str | None) -> str:
        """A supported language: the one wanted, else the default."""
        return wanted if wanted in LANGUAGES else self.default_language

    async def place_file(self, api: UserApi, *, placement_ref: str, filename: str,
                         content: bytes, creditor_id: str | None = None) -> PlacementOutcome:
        """Read a placement file and send it through `POST /v1/placements`; each refused
        account comes back against its file row and column. PlacementFileError if the file
        cannot be read; ServiceError if the whole placement is refused."""
        table = await to_thread.run_sync(read_table, filename, content)
        parsed = read_rows(table)
        body: dict[str, Any] = {"placement_ref": placement_ref, "accounts": parsed.accounts}
        if creditor_id:
            body["creditor_id"] = creditor_id
        status, receipt = await api.send("case", "POST", "/v1/placements", body)
        return PlacementOutcome(receipt=receipt, rows=parsed.rows,
                                errors=row_errors(receipt.get("rejected") or [], parsed.rows),
                                replayed=status == 200)
