"""The creditor's pages: placement upload, allocation rules, the portfolio dashboard,
agency scorecards, invoices."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from casetrail.clock import DEFAULT_TIMEZONE
from casetrail.security import Role
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from console_service.adapters.services import ServiceError
from console_service.application import PlacementOutcome
from console_service.domain import portfolio as figures
from console_service.domain.placement_file import PlacementFileError, template_header
from console_service.entrypoints.web import (
    Current,
    checked_form,
    console,
    page_access,
    redirect,
    render,
    service_error_page,
    settings,
    tenant_param,
)

router = APIRouter()
PlacementsUser = Annotated[Current, Depends(page_access("placements"))]
AllocationUser = Annotated[Current, Depends(page_access("allocation"))]
PortfolioUser = Annotated[Current, Depends(page_access("portfolio"))]
ScorecardsUser = Annotated[Current, Depends(page_access("scorecards"))]
InvoicesUser = Annotated[Current, Depends(page_access("invoices"))]
REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
EXAMPLE_ROWS = [
    ["CC-0001", "", "CNY", "12000.00", "350.20", "50.00", "", "45", "credit_card", "",
     "张三", "110101199001011234", "+86 138 0000 0000", "北京市朝阳区某路 1 号", "",
     "Asia/Shanghai"],
]


# ------------------------------------------------------------------------------ placements

@router.get("/placements")
async def placements_page(request: Request, current: PlacementsUser) -> Response:
    """The upload form."""
    return render(request, "placements.html", page="placements", outcome=None, error=None,
                  placement_ref=f"P-{datetime.now(UTC):%Y%m%d-%H%M%S}", creditor_id="",
                  columns=template_header())


@router.get("/placements/template.csv")
async def placement_template(current: PlacementsUser) -> Response:
    """A placement file with the header and one example row (UTF-8 with a BOM, so
    spreadsheet programs read the Chinese correctly)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(template_header())
    writer.writerows(EXAMPLE_ROWS)
    return Response(("\ufeff" + out.getvalue()).encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="placement.csv"'})


@router.post("/placements")
async def upload_placement(request: Request, current: PlacementsUser) -> Response:
    """Send the file's rows through POST /v1/placements; show the receipt and every refused
    row against the file's row and column."""
    form = await checked_form(request, current)
    upload = form.get("file")
    ref = str(form.get("placement_ref") or "").strip()
    creditor_id = str(form.get("creditor_id") or "").strip() or None
    context: dict[str, Any] = {"placement_ref": ref, "creditor_id": creditor_id or "",
                               "columns": template_header(), "outcome": None}
    if not REF.match(ref):
        return render(request, "placements.html", status=422, page="placements",
                      error="placements.bad_ref", error_values={}, **context)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return render(request, "placements.html", status=422, page="placements",
                      error="placements.no_file", error_values={}, **context)
    content = await upload.read()
    try:
        outcome: PlacementOutcome = await console(request).placements.send_file(
            current.api, placement_ref=ref, filename=upload.filename, content=content,
            creditor_id=creditor_id if current.role is Role.ADMIN else None)
    except PlacementFileError as exc:
        return render(request, "placements.html", status=422, page="placements",
                      error=f"placements.file.{exc.code}", error_values=exc.details,
                      **context)
    except ServiceError as exc:
        return render(request, "placements.html", status=exc.status if exc.status < 500
                      else 502, page="placements", error="placements.refused",
                      error_values={"message": exc.message}, **context)
    context["outcome"] = outcome
    return render(request, "placements.html", page="placements", error=None,
                  filename=upload.filename, **context)


# ------------------------------------------------------------------------------ allocation

def _creditor(current: Current, requested: str | None) -> str | None:
    return tenant_param(current, Role.CREDITOR, requested)


@router.get("/allocation")
async def allocation_page(request: Request, current: AllocationUser,
                          creditor_id: str | None = None, saved: int | None = None) -> Response:
    """The creditor's current allocation rules (bucket -> agencies and weights)."""
    creditor = _creditor(current, creditor_id)
    rules = None
    if creditor:
        try:
            rules = await current.api.get("case", f"/v1/creditors/{creditor}/allocation-rules")
        except ServiceError as exc:
            return service_error_page(request, exc)
    return render(request, "allocation.html", page="allocation", creditor_id=creditor,
                  rules=rules, rows=_rows_of(rules), errors=[], saved=saved)


def _rows_of(rules: dict[str, Any] | None) -> list[dict[str, str]]:
    rows = [{"bucket": bucket, "agency_id": share["agency_id"], "weight": str(share["weight"])}
            for bucket, shares in ((rules or {}).get("buckets") or {}).items()
            for share in shares]
    return rows + [{"bucket": "", "agency_id": "", "weight": ""}] * 3


@router.post("/allocation")
async def save_allocation(request: Request, current: AllocationUser) -> Response:
    """A new version of the rules (PUT /v1/creditors/{id}/allocation-rules); what the form
    does not show (bucket scheme, time zone, term-end policy) is kept as it was."""
    form = await checked_form(request, current)
    creditor = _creditor(current, str(form.get("creditor_id") or ""))
    if not creditor:
        return redirect("/allocation")
    try:
        current_rules = await current.api.get("case",
                                              f"/v1/creditors/{creditor}/allocation-rules")
    except ServiceError as exc:
        return service_error_page(request, exc)
    rows: list[dict[str, str]] = []
    buckets: dict[str, list[dict[str, Any]]] = {}
    count = int(str(form.get("rows") or "0")) if str(form.get("rows") or "0").isdigit() else 0
    for i in range(min(count, 200)):
        bucket = str(form.get(f"bucket_{i}") or "").strip()
        agency = str(form.get(f"agency_{i}") or "").strip()
        weight = str(form.get(f"weight_{i}") or "").strip()
        if not (bucket or agency or weight):
            continue
        rows.append({"bucket": bucket, "agency_id": agency, "weight": weight})
        buckets.setdefault(bucket, []).append(
            {"agency_id": agency, "weight": int(weight) if weight.isdigit() else weight})
    body = {k: v for k, v in current_rules.items() if k not in ("version", "buckets")}
    body["buckets"] = buckets
    term = str(form.get("default_term_days") or "").strip()
    if term:
        body["default_term_days"] = int(term) if term.isdigit() else term
    try:
        await current.api.send("case", "PUT", f"/v1/creditors/{creditor}/allocation-rules",
                               body)
    except ServiceError as exc:
        if exc.status in (403, 404):
            return service_error_page(request, exc)
        errors = [f"{f.get('path', '')}: {f.get('message', '')}" for f in exc.fields] or [
            exc.message]
        return render(request, "allocation.html", status=exc.status, page="allocation",
                      creditor_id=creditor, rules=current_rules,
                      rows=rows + [{"bucket": "", "agency_id": "", "weight": ""}] * 2,
                      errors=errors, saved=None)
    return redirect("/allocation", creditor_id=None if current.role is Role.CREDITOR
                    else creditor, saved=1)


# ------------------------------------------------------------------------------- portfolio

# The days of the portfolio and the scorecards: days in the services' default zone, stated to
# billing with each request (UTC days would end a UTC+8 user's "today" at 08:00).
ZONE = DEFAULT_TIMEZONE


def _today() -> date:
    """Today in ZONE."""
    return datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()


def _period(start: str | None, end: str | None) -> tuple[date, date]:
    today = _today()
    default_start = (today.replace(day=1) - timedelta(days=335)).replace(day=1)
    try:
        first = date.fromisoformat(start) if start else default_start
        last = date.fromisoformat(end) if end else today
    except ValueError:
        first, last = default_start, today
    if first > last:
        first, last = last, first
    return first, min(last, today)


@router.get("/portfolio")
async def portfolio(request: Request, current: PortfolioUser, creditor_id: str | None = None,
                    start: str | None = None, end: str | None = None) -> Response:
    """Placed, collected and recovery rate by bucket and by agency, liquidation curves by
    vintage, and roll rates between buckets (the case service's), for a period."""
    creditor = _creditor(current, creditor_id)
    first, last = _period(start, end)
    context: dict[str, Any] = {"creditor_id": creditor, "start": first.isoformat(),
                               "end": last.isoformat()}
    if not creditor:
        return render(request, "portfolio.html", page="portfolio", comparison=None, **context)
    period = {"from": first.isoformat(), "to": last.isoformat()}
    try:
        comparison = await current.api.get(
            "billing", f"/v1/creditors/{creditor}/agency-comparison",
            {**period, "timezone": ZONE})
        reports = await asyncio.gather(*(
            current.api.get("billing", f"/v1/agencies/{a['agency_id']}/performance",
                            {**period, "creditor_id": creditor, "timezone": ZONE})
            for a in comparison["agencies"]))
    except ServiceError as exc:
        if exc.status == 422:
            return render(request, "portfolio.html", status=422, page="portfolio",
                          comparison=None, error=exc.message, **context)
        return service_error_page(request, exc)
    agencies = comparison["agencies"]
    charts: dict[str, Any] = {
        "bucket": figures.by_bucket(agencies), "agency": figures.by_agency(agencies),
        "liquidation": figures.liquidation_curves(reports)}
    roll_error = None
    try:  # the case service's bucket migration over the same days (the creditor's calendar)
        charts["roll"] = figures.roll_rates(await current.api.get(
            "case", f"/v1/creditors/{creditor}/roll-rates", period))
    except ServiceError as exc:  # the rest of the page stands; the panel says what failed
        charts["roll"] = None
        roll_error = exc.message
    return render(request, "portfolio.html", page="portfolio", comparison=comparison,
                  totals=figures.totals(agencies), charts=charts,
                  reports=reports, roll_error=roll_error,
                  error=None, **context)


@router.get("/scorecards")
async def scorecards(request: Request, current: ScorecardsUser, creditor_id: str | None = None,
                     start: str | None = None, end: str | None = None) -> Response:
    """The creditor's agencies side by side: billing's figures (champion and challengers)
    and the contact service's contact KPIs for the same period."""
    creditor = _creditor(current, creditor_id)
    first, last = _period(start, end)
    context: dict[str, Any] = {"creditor_id": creditor, "start": first.isoformat(),
                               "end": last.isoformat()}
    if not creditor:
        return render(request, "scorecards.html", page="scorecards", comparison=None,
                      kpis={}, **context)
    try:
        comparison = await current.api.get(
            "billing", f"/v1/creditors/{creditor}/agency-comparison",
            {"from": first.isoformat(), "to": last.isoformat(), "timezone": ZONE})
        since = datetime.combine(first, datetime.min.time(), tzinfo=ZoneInfo(ZONE))
        until = datetime.combine(last + timedelta(days=1), datetime.min.time(),
                                 tzinfo=ZoneInfo(ZONE))
        kpis = await asyncio.gather(*(
            current.api.get("contact", f"/v1/agencies/{a['agency_id']}/contact-kpis",
                            {"from": since.isoformat(), "to": until.isoformat()})
            for a in comparison["agencies"]), return_exceptions=True)
    except ServiceError as exc:
        if exc.status == 422:
            return render(request, "scorecards.html", status=422, page="scorecards",
                          comparison=None, kpis={}, error=exc.message, **context)
        return service_error_page(request, exc)
    by_agency = {a["agency_id"]: (k["kpis"] if isinstance(k, dict) else None)
                 for a, k in zip(comparison["agencies"], kpis, strict=True)}
    chart = figures.by_agency(comparison["agencies"])
    return render(request, "scorecards.html", page="scorecards", comparison=comparison,
                  kpis=by_agency, charts={"agency": chart}, error=None,
                  **context)


# -------------------------------------------------------------------------------- invoices

@router.get("/invoices")
async def invoices(request: Request, current: InvoicesUser, after: str | None = None,
                   creditor_id: str | None = None, agency_id: str | None = None) -> Response:
    """Invoices the user may see, a page at a time."""
    params = {"after": after, "limit": settings(request).page_size,
              "creditor_id": None if current.role is Role.CREDITOR else creditor_id,
              "agency_id": None if current.role is Role.AGENCY else agency_id}
    try:
        page = await current.api.get("billing", "/v1/invoices", params)
    except ServiceError as exc:
        return service_error_page(request, exc)
    return render(request, "invoices.html", page="invoices", invoices=page["invoices"],
                  next_after=page.get("next_after"), after=after,
                  creditor_id=creditor_id or "", agency_id=agency_id or "")


@router.get("/invoices/{invoice_id}")
async def invoice(request: Request, invoice_id: str, current: InvoicesUser,
                  page: int = 1) -> Response:
    """An invoice: terms, totals and its lines (a page at a time)."""
    if not REF.match(invoice_id):
        return render(request, "error.html", status=404, message="error.not_found", values={})
    try:
        found = await current.api.get("billing", f"/v1/invoices/{invoice_id}")
    except ServiceError as exc:
        return service_error_page(request, exc)
    size = settings(request).page_size
    lines = found.get("lines") or []
    pages = max(1, -(-len(lines) // size))
    page = min(max(page, 1), pages)
    return render(request, "invoice.html", page="invoices", invoice=found,
                  lines=lines[(page - 1) * size:page * size], line_page=page, line_pages=pages)


@router.get("/invoices/{invoice_id}/invoice.pdf")
async def invoice_pdf(request: Request, invoice_id: str, current: InvoicesUser) -> Response:
    """The invoice as the billing service renders it in PDF."""
    if not REF.match(invoice_id):
        return render(request, "error.html", status=404, message="error.not_found", values={})
    try:
        file = await current.api.download("billing", f"/v1/invoices/{invoice_id}",
                                          {"format": "pdf"}, accept="application/pdf")
    except ServiceError as exc:
        return service_error_page(request, exc)
    return Response(file.content, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{invoice_id}.pdf"',
        "Cache-Control": "no-store", **{k: v for k, v in file.headers.items()
                                        if k.lower() == "x-content-hash"}})
