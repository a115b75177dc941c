"""The `casetrail` command line: what every service shares (serve, migrate, relay, consume,
projections, keys, the auditor's witness), plus the commands each installed service
contributes through its plugin (`casetrail.plugins`): the case service's audit, pii and
deadlines commands, the billing service's runs. This module imports no service."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from casetrail import plugins
from casetrail.crypto import MasterKey
from casetrail.logs import configure_logging
from casetrail.security import Capacity, KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings, ensure_dev_secrets
from casetrail.workers import run_worker

app = typer.Typer(help="casetrail: event-sourced system of record for debt collection",
                  no_args_is_help=True)
keys_app = typer.Typer(help="API keys and the master key", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
audit_app = typer.Typer(help="the tamper-evident case log", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
projections_app = typer.Typer(help="read models built from the log", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
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
    from casetrail.serving import FACTORY_ENV

    os.environ[FACTORY_ENV] = plugin.app_factory  # every worker process builds it the same way
    uvicorn.run("casetrail.serving:app", factory=True, host=host,
                port=port or plugin.default_port, workers=workers, loop="uvloop",
                http="httptools", access_log=False, timeout_graceful_shutdown=20,
                log_config=None)


@app.command()
def migrate(service: Annotated[str, typer.Argument(help="service whose schema to create")]
            ) -> None:
    """Create or upgrade a service's database schema (run once before starting workers)."""
    plugin = _plugin(service)
    if plugin.migrate is None:
        console.print(f"{service}: nothing to migrate")
        return
    console.print(plugin.migrate())


@app.command()
def relay(service: Annotated[str, typer.Argument(help="whose log to relay")] = "case") -> None:
    """Publish a service's event log to Kafka, in order, keyed by case id (needs Kafka)."""
    plugin = _plugin(service)
    if plugin.relay is None:
        raise typer.BadParameter(f"{service} has no relay")
    common = CommonSettings()
    configure_logging(common.log_level, json_output=common.log_json)
    run_worker(plugin.relay(), common)


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
    run_worker(runner, common)


@audit_app.command("witness")
def audit_witness(
    url: Annotated[str, typer.Option(help="the case service, e.g. https://case.example")],
    state: Annotated[Path, typer.Option(help="folder of this witness's kept checkpoints")],
    public_key: Annotated[str | None, typer.Option(
        help="the log's key from a trusted source: 64 hex digits or a note verifier key "
             "(default: the key pinned in --state, else trusted on first use)")] = None,
    api_key: Annotated[str | None, typer.Option(
        envvar="CASETRAIL_WITNESS_API_KEY", help="an auditor API key")] = None,
    origin: Annotated[str | None, typer.Option(
        help="the log's expected origin (default: the one pinned on the first run)")] = None,
) -> None:
    """On the auditor's own machine: fetch the log's newest signed checkpoint and a
    consistency proof from the last one kept in --state, verify both without trusting the
    server, and only then keep the new one. Exits 1, keeping the old state, if anything
    fails (the log cut back or rewritten, a bad signature, the server unreachable)."""
    from casetrail.merkle import NoteError
    from casetrail.witness import WitnessError, describe, witness

    try:
        result = witness(url, state, api_key=api_key, public_key=public_key, origin=origin)
    except NoteError as exc:
        raise typer.BadParameter(str(exc)) from None
    except WitnessError as exc:
        typer.echo(f"FAILED: {exc}")
        raise typer.Exit(1) from None
    for message in result.messages:
        typer.echo(message)
    if result.outcome == "grew":
        assert result.previous is not None
        typer.echo(f"verified: {describe(result.checkpoint)} extends the kept "
                   f"{describe(result.previous)}; kept it")
    elif result.outcome == "unchanged":
        typer.echo(f"verified: unchanged since {describe(result.checkpoint)}")
    else:
        typer.echo(f"kept: {describe(result.checkpoint)}")


def sa_url(database_url: str) -> str:
    """A database URL fit to print: the password masked."""
    from sqlalchemy.engine import make_url

    return make_url(database_url).render_as_string(hide_password=True)


@projections_app.command("rebuild")
def projections_rebuild(
    projection: Annotated[str, typer.Argument(
        help="contact-log, billing-ledger or case-summaries")],
    verify: Annotated[bool, typer.Option(help="compare the shadow with the live copy")] = False,
    swap: Annotated[bool, typer.Option(help="replace the live copy with the shadow")] = False,
    transport: Annotated[str, typer.Option(
        help="kafka, feed, auto (the consumers' transport) or log: read the event store "
             "directly (the case service's CASE_DATABASE_URL), the fastest")] = "auto",
    workers: Annotated[int, typer.Option(
        min=1, help="on PostgreSQL, processes working in parallel (this one and N-1 "
                    "spawned): for case-summaries each replays the next range of case ids "
                    "until none is left; for contact-log with --transport log each applies "
                    "the log's events of a share of the debtors")] = os.cpu_count() or 1,
) -> None:
    """Rebuild a projection from position 0 into a shadow copy; with --verify compare it with
    the live copy by checksums per row group; with --swap put it live. Exits 1 on differences
    (unless swapped)."""
    from rich.progress import BarColumn, Progress, TextColumn

    from casetrail.projections import rebuild as rebuilding
    from casetrail.projections.base import load
    from casetrail.projections.consume import projection_store, projection_url, source

    common = CommonSettings()
    configure_logging("WARNING", json_output=common.log_json)
    case_log: Any = None
    store: rebuilding.StoreSource | None = None
    shares: rebuilding.StoreSource | None = None
    try:
        live = projection_store(load(projection))
        from_store = live.projection.rebuilt_from_store
        if from_store and transport not in ("auto", "log"):
            raise LookupError(f"{projection} is written by its service beside the log and "
                              "rebuilt from the event store: use --transport log (or auto)")
        if from_store or transport == "log":  # the event store, read directly
            kafka, feed = None, None
            open_log = plugins.load("case").application
            if open_log is None:
                raise LookupError("the case service's application is not available")
            if from_store:  # each worker process opens the application itself
                store = rebuilding.StoreSource(open_log, workers)
            else:
                case_log = open_log()
                if live.projection.share_field is not None:
                    shares = rebuilding.StoreSource(open_log, workers)
        else:
            kafka, feed = source(transport, common)
    except LookupError as exc:
        raise typer.BadParameter(str(exc)) from None
    if not from_store:  # else the service's own tables, made by `casetrail migrate case`
        live.create_schema()
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed:,} events"), console=console) as progress:
            task = progress.add_task(f"rebuilding {projection} into its shadow", total=None)
            shadow = asyncio.run(rebuilding.rebuild(
                live, projection_url(live.projection), kafka=kafka, feed=feed,
                log=None if case_log is None else case_log.log_page,
                store=store, log_workers=shares,
                progress=lambda n: progress.advance(task, n)))
    finally:
        if case_log is not None:
            case_log.close()
    built = sa_url(rebuilding.shadow_url(projection_url(live.projection)))
    console.print(f"shadow built: {built}")
    differences = rebuilding.compare(live, shadow) if verify else []
    for d in differences:
        typer.echo(f"DIFFERS {d.table} bucket {d.bucket}: live {d.live_rows} rows, shadow "
                   f"{d.shadow_rows} rows; e.g. {', '.join(d.example_keys)}")
    if verify and not differences:
        console.print("verified: the live copy is exactly what the events imply")
    if swap:
        copied = rebuilding.swap(live, shadow)
        console.print(f"swapped: the live copy now holds the shadow's {copied:,} rows")
    elif differences:
        raise typer.Exit(1)


@keys_app.command("audit")
def new_audit_key() -> None:
    """Make a new Ed25519 audit signing key (hex) for CASETRAIL_AUDIT_SIGNING_KEY."""
    typer.echo(os.urandom(32).hex())


@keys_app.command("new")
def new_key(
    role: Annotated[Role, typer.Option(help="creditor, agency, auditor or admin")],
    tenant: Annotated[str | None, typer.Option(help="creditor or agency id")] = None,
    key_id: Annotated[str | None, typer.Option("--id", help="public key id")] = None,
    capacity: Annotated[Capacity | None, typer.Option(
        help="agency keys: collector or supervisor (default: supervisor)")] = None,
    collector_id: Annotated[str | None, typer.Option(
        help="collector keys: the registered collector the key acts as (its contacts and "
             "visits name no one else)")] = None,
) -> None:
    """Make an API key: prints the key once and the entry for CASETRAIL_API_KEYS."""
    if role in (Role.CREDITOR, Role.AGENCY) and not tenant:
        raise typer.BadParameter("creditor and agency keys need --tenant")
    if capacity is not None and role is not Role.AGENCY:
        raise typer.BadParameter("only agency keys have a --capacity")
    if collector_id is not None and capacity is not Capacity.COLLECTOR:
        raise typer.BadParameter("only collector keys (--capacity collector) name a "
                                 "--collector-id")
    raw = generate_key(role)
    entry = KeyEntry(key_id or f"{role.value}-{tenant or 'global'}", hash_key(raw), role, tenant,
                     capacity, collector_id)
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


def mount(target: typer.Typer) -> None:
    """Add what each installed service contributes to the command line (`ServicePlugin.cli`):
    commands into a group of the same name (e.g. `audit`), new groups, top-level commands."""
    groups = {info.name: info.typer_instance for info in target.registered_groups
              if info.name is not None and info.typer_instance is not None}
    for name in plugins.installed():
        contributed = plugins.load(name).cli
        if contributed is None:
            continue
        commands = contributed()
        for group, sub in commands.groups.items():
            if group in groups:
                groups[group].registered_commands += sub.registered_commands
            else:
                target.add_typer(sub, name=group)
                groups[group] = sub
        for command, function in commands.commands.items():
            target.command(command)(function)


mount(app)


def main() -> None:
    """Console-script entry point. A configuration error is reported by setting, in one line
    each, without a traceback and without the values (they may be secrets)."""
    from pydantic import ValidationError

    try:
        app()
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or exc.title
            console.print(f"configuration error ({where}): {error['msg']}", markup=False)
        raise SystemExit(2) from None
if __name__ == "__main__":
    main()
