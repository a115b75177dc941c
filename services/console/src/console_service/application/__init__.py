"""The console's use cases, one module per capability: `sessions` (sign in with a key the
services verify, open, switch language, sign out) and `placements` (send a placement file and
answer each refusal on its file row). Everything else a page shows is one or a few reads of
the services' APIs, made by the routes with the user's own key (`adapters.services.UserApi`).

`ConsoleApplication` is what bootstrap builds and the routes reach (`app.state.console`)."""

from __future__ import annotations

from dataclasses import dataclass

from console_service.adapters.catalogs import Catalogs
from console_service.adapters.services import ServiceClients
from console_service.application.placements import PlacementOutcome, Placements
from console_service.application.sessions import SessionExpired, Sessions, SignInRefused

__all__ = ["ConsoleApplication", "PlacementOutcome", "Placements", "SessionExpired",
           "Sessions", "SignInRefused"]


@dataclass
class ConsoleApplication:
    """The console's use cases, its message catalogs, and the services' clients."""

    sessions: Sessions
    placements: Placements
    catalogs: Catalogs
    clients: ServiceClients

    async def close(self) -> None:
        """Close the connections to the services."""
        await self.clients.close()
