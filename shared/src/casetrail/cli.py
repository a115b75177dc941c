"""The `casetrail` command line."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Annotated

import typer
from rich.console import Console

from casetrail import plugins
from casetrail.crypto import MasterKey
from casetrail.logs import configure_logging
from casetrail.ops import serve_ops
from casetrail.plugins import Worker
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings, ensure_dev_secrets

app = typer.Typer(help="casetrail: event-sourced system of record for debt collection",
                  no_args_is_help=True)
keys_app = typer.Typer(help="API keys and the master key", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
console = Console(stderr=True)


def _plugin(name: str) -> plugins.ServicePlugin:
    try:
        return plugins.load(name)
    except LookupError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="case, contact or billing")],
    port: Annotated[int | None, typer.Option(help="TCP port")] = None,
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Run a service's HTTP API."""
    import uvicorn

    plugin = _plugin(service)
    common = CommonSettings()
    configure_logging(common.log_level, json_output=common.log_json)
    if common.env == "development":
        ensure_dev_secrets(common.var_dir)
    uvicorn.run(plugin.app_factory, factory=True, host=host, port=port or plugin.default_port,
                workers=workers, loop="uvloop", http="httptools", access_log=False,
                timeout_graceful_shutdown=20, log_config=None)


@app.command()
def migrate(service: Annotated[str, typer.Argument(help="service whose schema to create")]
            ) -> None:
    """Create or upgrade a service's database schema (run once before starting workers)."""
    plugin = _plugin(service)
    if plugin.migrate is None:
        console.print(f"{service}: nothing to migrate")
        return
    console.print(plugin.migrate())


def _run_worker(worker: Worker, common: CommonSettings) -> None:
    """Run a worker until SIGTERM/SIGINT (the work in hand finishes), with its ops endpoints
    on CASETRAIL_METRICS_PORT when set."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tasks = [asyncio.create_task(worker.run(stop))]
        if common.metrics_port:
            tasks.append(asyncio.create_task(
                serve_ops(common.metrics_port, worker.readiness, stop)))
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stop.set()  # the worker ended (or failed): stop serving its ops endpoints too
        await asyncio.gather(*tasks)

    asyncio.run(runner())


@app.command()
def relay(service: Annotated[str, typer.Argument(help="whose log to relay")] = "case") -> None:
    """Publish a service's event log to Kafka, in order, keyed by case id (needs Kafka)."""
    plugin = _plugin(service)
    if plugin.relay is None:
        raise typer.BadParameter(f"{service} has no relay")
    common = CommonSettings()
    configure_logging(common.log_level, json_output=common.log_json)
    _run_worker(plugin.relay(), common)


@app.command()
def consume(
    projection: Annotated[str, typer.Argument(help="projection name, e.g. contact-log")],
    transport: Annotated[str, typer.Option(
        help="kafka, feed, or auto (kafka when KAFKA_BOOTSTRAP_SERVERS is set)")] = "auto",
) -> None:
    """Keep a projection up to date from the case events, exactly once."""
    from casetrail.projections.consume import build_runner

    common = CommonSettings()
    configure_logging(common.log_level, json_output=common.log_json)
    try:
        runner = build_runner(projection, transport, common)
    except LookupError as exc:
        raise typer.BadParameter(str(exc)) from None
    _run_worker(runner, common)


@keys_app.command("new")
def new_key(
    role: Annotated[Role, typer.Option(help="creditor, agency, auditor or admin")],
    tenant: Annotated[str | None, typer.Option(help="creditor or agency id")] = None,
    key_id: Annotated[str | None, typer.Option("--id", help="public key id")] = None,
) -> None:
    """Make an API key: prints the key once and the entry for CASETRAIL_API_KEYS."""
    if role in (Role.CREDITOR, Role.AGENCY) and not tenant:
        raise typer.BadParameter("creditor and agency keys need --tenant")
    raw = generate_key(role)
    entry = KeyEntry(key_id or f"{role.value}-{tenant or 'global'}", hash_key(raw), role, tenant)
    typer.echo(json.dumps({"key": raw, "entry": entry.to_json()}, indent=2))


@keys_app.command("master")
def new_master() -> None:
    """Make a new random master key for CASETRAIL_MASTER_KEY."""
    typer.echo(MasterKey.generate_b64())


@keys_app.command("dev")
def dev_keys() -> None:
    """Show (creating if needed) the development API keys under var/dev."""
    secrets_ = ensure_dev_secrets(CommonSettings().var_dir)
    typer.echo(json.dumps(secrets_.plain_keys(), indent=2))


def main() -> None:
    """Console-script entry point."""
    app()
if __name__ == "__main__":
    main()
