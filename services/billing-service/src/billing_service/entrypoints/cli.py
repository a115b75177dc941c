"""The billing service's commands on the `casetrail` command line: `casetrail billing run`.
Command bodies import the service lazily."""

from __future__ import annotations

from typing import Annotated

import typer
from casetrail.plugins import Commands
from rich.console import Console

console = Console(stderr=True)
billing = typer.Typer(help="Billing runs, in the billing service's database "
                      "(BILLING_DATABASE_URL)", no_args_is_help=True)


@billing.command("run")
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

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from billing_service.bootstrap import build
    from billing_service.domain.errors import BillingError
    from billing_service.domain.invoice import Period

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


def commands() -> Commands:
    """What the billing service adds to the command line (`ServicePlugin.cli`)."""
    return Commands(groups={"billing": billing})
