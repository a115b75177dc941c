"""The `casetrail` command line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Annotated, Any

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
audit_app = typer.Typer(help="the tamper-evident case log", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
pii_app = typer.Typer(help="debtors' personal data", no_args_is_help=True)
app.add_typer(pii_app, name="pii")
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


@app.command()
def deadlines(
    once: Annotated[bool, typer.Option(
        help="record everything due now, then exit (cron, scripts)")] = False,
) -> None:
    """Record what falls due on cases when nobody posts it: promises broken at the end of
    their due day, placement terms ended as the creditor's rules say. Each fact is recorded
    as of its deadline, once, however late the worker finds it; two workers may run."""
    plugin = _plugin("case")
    factory = plugin.workers.get("deadlines")
    if factory is None:
        raise typer.BadParameter("the case service contributes no deadlines worker")
    common = CommonSettings()
    configure_logging(common.log_level, json_output=common.log_json)
    worker: Any = factory()
    if once:
        try:
            recorded = worker.catch_up()
        finally:
            worker.app.close()
        typer.echo(f"{recorded} fact(s) recorded")
        return
    _run_worker(worker, common)


def _case_application() -> Any:
    plugin = _plugin("case")
    assert plugin.application is not None
    return plugin.application()


@audit_app.command("checkpoint")
def audit_checkpoint(
    output: Annotated[str, typer.Option(
        "--format", help="json: the checkpoint, public key, verifier key and signed note as "
                         "JSON; note: only the signed note (c2sp.org/tlog-checkpoint)")] = "json",
    note: Annotated[Path | None, typer.Option(
        help="also write the signed note to this file")] = None,
) -> None:
    """Sign the log's current size and Merkle root; prints the checkpoint to publish."""
    if output not in ("json", "note"):
        raise typer.BadParameter("--format is json or note")
    application = _case_application()
    try:
        audit = application.audit
        checkpoint = audit.checkpoint()
        signed_note = audit.note(checkpoint)
        if note is not None:
            note.write_text(signed_note, encoding="utf-8")
        if output == "note":
            typer.echo(signed_note, nl=False)
        else:
            typer.echo(json.dumps({**checkpoint.to_json(), "public_key": audit.public_key.hex(),
                                   "origin": audit.origin, "verifier_key": audit.verifier_key,
                                   "note": signed_note}, indent=2))
    finally:
        application.close()


@audit_app.command("verify")
def audit_verify(
    trusted: Annotated[list[Path] | None, typer.Option(
        help="a checkpoint kept outside the database (signed note or JSON checkpoint); "
             "repeat for several. The stored tree must extend each one")] = None,
    public_key: Annotated[str | None, typer.Option(
        help="check every signature with this key (64 hex digits or a note verifier key) "
             "instead of the configured one")] = None,
) -> None:
    """Recompute every leaf and root; report the position of anything altered, deleted,
    inserted, reordered or malformed, and any trusted checkpoint the stored log no longer
    extends (cut back, rewritten, checkpoints deleted). Exits 1 when anything is wrong."""
    from rich.progress import Progress

    from casetrail.merkle import NoteError, parse_public_key

    try:
        key = None if public_key is None else parse_public_key(public_key)[1]
    except NoteError as exc:
        raise typer.BadParameter(f"--public-key: {exc}") from None
    kept = []
    for path in trusted or []:
        try:
            kept.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise typer.BadParameter(f"--trusted {path}: {exc}") from None
    application = _case_application()
    try:
        total = application.last_position()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("verifying the log", total=total or None)
            report = application.audit.verify(lambda n: progress.advance(task, n),
                                              public_key=key, trusted=kept)
    finally:
        application.close()
    checkpoint = report.checkpoint
    console.print(f"{report.events_checked:,} events checked; latest checkpoint: "
                  + (f"size {checkpoint.tree_size} at {checkpoint.issued_at}" if checkpoint
                     else "none (run `casetrail audit checkpoint`)")
                  + (f"; {report.trusted_checked} of {len(kept)} trusted checkpoint(s) read"
                     if kept else ""))
    for problem in report.problems:
        where = f"position {problem.position}" if problem.position is not None else "log"
        typer.echo(f"{problem.kind.upper():10} {where}: {problem.detail}")
    if not report.ok:
        raise typer.Exit(1)
    console.print("verified: no event altered, dropped, inserted or reordered"
                  + (f", and the log extends all {len(kept)} trusted checkpoint(s)"
                     if kept else ""))


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


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option(help="folder to write into")],
    case: Annotated[str | None, typer.Option(help="one case id")] = None,
    creditor: Annotated[str | None, typer.Option(help="a creditor's cases placed in a range")
                        ] = None,
    since: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD (inclusive)")] = None,
    until: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD (exclusive)")] = None,
    checkpoint_size: Annotated[int | None, typer.Option(
        help="prove against this signed checkpoint (default: the latest)")] = None,
) -> None:
    """Regulator export: per case, the history as JSON Lines with inclusion proofs and the
    checkpoint, and a PDF timeline. The same log and checkpoint give the same bytes."""
    from case_service.adapters.regulator_export import export_case
    from rich.progress import Progress

    if (case is None) == (creditor is None):
        raise typer.BadParameter("give --case, or --creditor with --from and --to")
    if creditor is not None and (since is None or until is None):
        raise typer.BadParameter("--creditor needs --from and --to")
    application = _case_application()
    try:
        checkpoints = application.audit.checkpoints()
        chosen = [c for c in checkpoints if checkpoint_size in (None, c.tree_size)]
        if not chosen:
            raise typer.BadParameter("no such checkpoint: run `casetrail audit checkpoint`")
        checkpoint = chosen[-1]
        case_ids = [case] if case is not None else application.case_ids_placed(
            creditor, since, until)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("exporting case histories", total=len(case_ids))
            for case_id in case_ids:
                export_case(application, case_id, checkpoint, out)
                progress.advance(task)
    finally:
        application.close()
    typer.echo(json.dumps({"cases": len(case_ids), "folder": str(out),
                           "checkpoint": checkpoint.to_json(),
                           "public_key": application.audit.public_key.hex()}, indent=2))


@pii_app.command("erase")
def pii_erase(debtor: Annotated[str, typer.Option(help="the debtor id (d-...)")]) -> None:
    """Crypto-shred a debtor: destroy their data key and purge every copy of it from the
    database files. Their PII becomes unreadable for good; amounts, dates and the audit chain
    stay intact. Running services stop showing it within a second. Run again for a debtor
    already erased, it purges again (e.g. after an interrupted purge)."""
    from case_service.adapters.case_store import KeyPurgeIncomplete

    application = _case_application()
    try:
        erased = application.vault.erase(debtor)
        purge = application.vault.last_purge
    except KeyPurgeIncomplete as exc:
        console.print(f"[red]erasure not finished:[/] {exc}")
        raise typer.Exit(1) from None
    finally:
        application.close()
    if purge is None:
        raise typer.BadParameter(f"no data key for {debtor!r} (unknown debtor id)")
    purged = f"copies purged ({purge.rewritten} rewritten, {purge.checkpoint})"
    if not erased:
        typer.echo(f"already erased: {debtor}; {purged}")
        return
    typer.echo(f"erased: the data key of {debtor} is destroyed; {purged}")


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
        min=1, help="case-summaries on PostgreSQL: processes replaying the cases in parallel "
                    "(this one and N-1 spawned), each taking the next range of case ids "
                    "until none is left")] = os.cpu_count() or 1,
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
                store=store,
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


@keys_app.command("rotate-master")
def rotate_master() -> None:
    """Re-wrap every debtor data key under the current master key (CASETRAIL_MASTER_KEY),
    opening them with the retired ones (CASETRAIL_PREVIOUS_MASTER_KEYS). Needs
    CASETRAIL_BLIND_INDEX_KEY once rotated; see docs/operations.md. Safe to re-run."""
    from rich.progress import BarColumn, Progress, TextColumn

    common = CommonSettings()
    if not common.previous_master_keys:
        raise typer.BadParameter("set CASETRAIL_PREVIOUS_MASTER_KEYS to the retired master "
                                 "key(s) and CASETRAIL_MASTER_KEY to the new one")
    application = _case_application()
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed:,} keys"), console=console) as progress:
            task = progress.add_task("re-wrapping data keys", total=None)
            count = application.vault.rotate_master(lambda n: progress.advance(task, n))
    finally:
        application.close()
    typer.echo(f"re-wrapped {count:,} data keys under {common.master.key_id}; once every "
               "service runs with this key, CASETRAIL_PREVIOUS_MASTER_KEYS can be removed")


@keys_app.command("dev")
def dev_keys() -> None:
    """Show (creating if needed) the development API keys under var/dev."""
    secrets_ = ensure_dev_secrets(CommonSettings().var_dir)
    typer.echo(json.dumps(secrets_.plain_keys(), indent=2))


billing_app = typer.Typer(help="Billing runs, in the billing service's database "
                          "(BILLING_DATABASE_URL)", no_args_is_help=True)
app.add_typer(billing_app, name="billing")


@billing_app.command("run")
def billing_run(
    creditor: Annotated[str, typer.Option(help="creditor id")],
    agency: Annotated[str, typer.Option(help="agency id")],
    start: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD (included)")],
) -> None:
    """Bill a creditor-agency pair for a period (days in the contract's time zone) and print
    the invoice or credit note number, totals and content hash; the same period again prints
    the document already issued. A period that has not ended there yet is refused."""
    from datetime import date

    from billing_service.bootstrap import build
    from billing_service.domain.errors import BillingError
    from billing_service.domain.invoice import Period
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    try:
        period = Period(date.fromisoformat(start), date.fromisoformat(end))
    except ValueError as exc:
        raise typer.BadParameter(f"dates are YYYY-MM-DD: {exc}") from None
    service = build()
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=console) as progress:
            task = progress.add_task(f"billing {creditor} / {agency}: cases", total=None)
            invoice, created = service.runs.run(
                creditor, agency, period, actor="admin:*:cli",
                progress=lambda done, total: progress.update(task, completed=done, total=total))
    except BillingError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(2) from None
    finally:
        service.close()
    totals, currency = invoice["totals"], invoice["currency"]
    kind = invoice["document_type"].replace("_", " ")
    for label, value in [
        (kind, f"{invoice['invoice_id']} ({'issued now' if created else 'issued earlier'})"),
        ("period", f"{invoice['period_start']} to {invoice['period_end']} (included; days in "
                   f"{invoice['timezone']})"),
        ("lines", str(len(invoice["lines"]))),
        ("subtotal", f"{currency} {totals['subtotal']}"),
        ("tax", f"{currency} {totals['tax']}"),
        ("total", f"{currency} {totals['total']}"),
        ("content hash", invoice["content_hash"]),
    ]:
        typer.echo(f"{label:<13}{value}")


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
