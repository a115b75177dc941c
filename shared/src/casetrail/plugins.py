"""Services register with the CLI through the `casetrail.services` entry-point group."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import entry_points


@dataclass(frozen=True)
class ServicePlugin:
    """What the CLI needs to know about a service."""

    name: str
    app_factory: str  # "module:function" returning a FastAPI app
    default_port: int
    migrate: Callable[[], str] | None = None
    relay: Callable[[asyncio.Event], Awaitable[None]] | None = None  # `casetrail relay`


def installed() -> list[str]:
    """Names of the installed services."""
    return sorted(ep.name for ep in entry_points(group="casetrail.services"))


def load(name: str) -> ServicePlugin:
    """Load one installed service's plugin (only that one is imported)."""
    for ep in entry_points(group="casetrail.services", name=name):
        plugin = ep.load()
        if isinstance(plugin, ServicePlugin):
            return plugin
    raise LookupError(f"unknown service {name!r}; installed: {installed()}")
