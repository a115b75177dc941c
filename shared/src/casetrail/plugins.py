"""Services register with the CLI through the `casetrail.services` entry-point group."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import typer


class Worker(Protocol):
    """A long-running process without an API (relay, consumer)."""

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then finish the work in hand."""

    async def readiness(self) -> dict[str, Any]:
        """Details when ready; raises with the reason when not."""


@dataclass(frozen=True)
class Commands:
    """What a service adds to the `casetrail` command line."""

    # Command groups by name: merged into the shared group of that name (e.g. `audit`), or
    # added as new groups (e.g. `billing`).
    groups: dict[str, typer.Typer] = field(default_factory=dict)
    # Top-level commands by name (e.g. `deadlines`).
    commands: dict[str, Callable[..., Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class ServicePlugin:
    """What the CLI needs to know about a service."""

    name: str
    app_factory: str  # "module:function" returning a FastAPI app
    default_port: int
    migrate: Callable[[], str] | None = None
    relay: Callable[[], Worker] | None = None  # `casetrail relay`
    application: Callable[[], Any] | None = None  # the service's application (audit, pii)
    # Other long-running workers by name, e.g. "deadlines" (`casetrail deadlines`).
    workers: dict[str, Callable[[], Worker]] = field(default_factory=dict)
    # The service's own commands, built when the CLI starts (their bodies import the
    # service lazily, so a command line that does not use them stays quick).
    cli: Callable[[], Commands] | None = None


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
