"""The case service's commands on the `casetrail` command line: `casetrail audit checkpoint
| verify | export` (the shared `audit` group also has `witness`, which needs no service),
`casetrail pii erase`, `casetrail keys rotate-master` and `casetrail deadlines`. Each calls a
use case of application/ (audit.py, pii.py); command bodies import the service lazily."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from casetrail.plugins import Commands
from rich.console import Console

console = Console(stderr=True)
audit = typer.Typer(help="the tamper-evident case log", no_args_is_help=True)
pii = typer.Typer(help="debtors' personal data", no_args_is_help=True)
keys = typer.Typer(help="make keys for the environment", no_args_is_help=True)


def _application() -> Any:
    from case_service.bootstrap import build_application

    return build_application(migrate=False)


def deadlines(
    once: Annotated[bool, typer.Option(
        help="record everything due now, then exit (cron, scripts)")] = False,
) -> None:
    """Record what falls due on cases when nobody posts it: promises broken at the end of
    their due day, placement terms ended as the creditor's rules say. Each fact is recorded
    as of its deadline, once, however late the worker finds it; two workers may run."""
    from casetrail.logs import configure_logging
    from casetrail.settings import CommonSettings
    from casetrail.workers import run_worker

    from case_service.entrypoints.plugin import deadline_worker

    common = CommonSettings()
    configure_logging(common.log_level, json_output=common.log_json)
    worker = deadline_worker()
    if once:
        try:
            recorded = worker.catch_up()
        finally:
            worker.app.close()
        typer.echo(f"{recorded} fact(s) recorded")
        return
    run_worker(worker, common)


@audit.command("checkpoint")
def audit_checkpoint(
    output: Annotated[str, typer.Option(
        "--format", help="json: the checkpoint, public key, verifier key and signed note as "
                         "JSON; note: only the signed note (c2sp.org/tlog-checkpoint)")] = "json",
    note: Annotated[Path | None, typer.Option(
        help="also write the signed note to this file")] = None,
) -> None:
    """Sign the log's current size and Merkle root; prints the checkpoint to publish."""
    from case_service.application import audit as use_cases

    if output not in ("json", "note"):
        raise typer.BadParameter("--format is json or note")
    application = _application()
    try:
        signed = use_cases.sign_checkpoint(application)
    finally:
        application.close()
    if note is not None:
        note.write_text(signed["note"], encoding="utf-8")
    if output == "note":
        typer.echo(signed["note"], nl=False)
    else:
        typer.echo(json.dumps(signed, indent=2))


@audit.command("verify")
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
    from casetrail.merkle import NoteError, parse_public_key
    from rich.progress import Progress

    from case_service.application import audit as use_cases

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
    application = _application()
    try:
        total = application.last_position()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("verifying the log", total=total or None)
            report = use_cases.verify(application, lambda n: progress.advance(task, n),
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


@audit.command("export")
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
    from rich.progress import Progress

    from case_service.application import audit as use_cases
    from case_service.application.errors import CheckpointNotFound

    if (case is None) == (creditor is None):
        raise typer.BadParameter("give --case, or --creditor with --from and --to")
    if creditor is not None and (since is None or until is None):
        raise typer.BadParameter("--creditor needs --from and --to")
    application = _application()
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("exporting case histories", total=None)
            exported = use_cases.export_cases(
                application, out, case_id=case, creditor_id=creditor, since=since,
                until=until, checkpoint_size=checkpoint_size,
                started=lambda n: progress.update(task, total=n),
                progress=lambda: progress.advance(task))
    except CheckpointNotFound as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        application.close()
    typer.echo(json.dumps(exported, indent=2))


@pii.command("erase")
def pii_erase(debtor: Annotated[str, typer.Option(help="the debtor id (d-...)")]) -> None:
    """Crypto-shred a debtor: destroy their data key and purge every copy of it from the
    database files. Their PII becomes unreadable for good; amounts, dates and the audit chain
    stay intact. Running services stop showing it within a second. Run again for a debtor
    already erased, it purges again (e.g. after an interrupted purge)."""
    from case_service.application import pii as use_cases
    from case_service.application.errors import UnknownDebtor

    application = _application()
    try:
        erasure = use_cases.erase_debtor(application, debtor)
    except use_cases.KeyPurgeIncomplete as exc:
        console.print(f"[red]erasure not finished:[/] {exc}")
        raise typer.Exit(1) from None
    except UnknownDebtor as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        application.close()
    purged = f"copies purged ({erasure.purge.rewritten} rewritten, {erasure.purge.checkpoint})"
    if not erasure.destroyed:
        typer.echo(f"already erased: {debtor}; {purged}")
        return
    typer.echo(f"erased: the data key of {debtor} is destroyed; {purged}")


@keys.command("rotate-master")
def rotate_master() -> None:
    """Re-wrap every debtor data key under the current master key (CASETRAIL_MASTER_KEY),
    opening them with the retired ones (CASETRAIL_PREVIOUS_MASTER_KEYS). Needs
    CASETRAIL_BLIND_INDEX_KEY once rotated; see docs/operations.md. Safe to re-run."""
    from casetrail.settings import CommonSettings
    from rich.progress import BarColumn, Progress, TextColumn

    from case_service.application import pii as use_cases

    common = CommonSettings()
    if not common.previous_master_keys:
        raise typer.BadParameter("set CASETRAIL_PREVIOUS_MASTER_KEYS to the retired master "
                                 "key(s) and CASETRAIL_MASTER_KEY to the new one")
    application = _application()
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed:,} keys"), console=console) as progress:
            task = progress.add_task("re-wrapping data keys", total=None)
            count = use_cases.rotate_master_key(application,
                                                lambda n: progress.advance(task, n))
    finally:
        application.close()
    typer.echo(f"re-wrapped {count:,} data keys under {common.master.key_id}; once every "
               "service runs with this key, CASETRAIL_PREVIOUS_MASTER_KEYS can be removed")


def commands() -> Commands:
    """What the case service adds to the command line (`ServicePlugin.cli`)."""
    return Commands(groups={"audit": audit, "pii": pii, "keys": keys},
                    commands={"deadlines": deadlines})
