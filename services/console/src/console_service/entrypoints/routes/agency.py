"""The agency's pages: today's worklist, service levels, QA samples and their findings;
and the auditor's verification key page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from casetrail.clock import DEFAULT_TIMEZONE
from casetrail.security import Role
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from console_service.adapters.services import ServiceError
from console_service.entrypoints.web import (
    Current,
    checked_form,
    page_access,
    redirect,
    render,
    service_error_page,
    settings,
    tenant_param,
)

router = APIRouter()
WorklistUser = Annotated[Current, Depends(page_access("worklist"))]
ServiceLevelsUser = Annotated[Current, Depends(page_access("service_levels"))]
QaUser = Annotated[Current, Depends(page_access("qa"))]
VerificationUser = Annotated[Current, Depends(page_access("verification"))]
ZONE_FIELDS = ("timezone", "time_zone", "zone")  # what the worklist states its day in


def _agency(current: Current, requested: str | None) -> str | None:
    return tenant_param(current, Role.AGENCY, requested)


def worklist_zone(worklist: dict[str, Any]) -> str:
    """The zone the worklist's day is in, as the contact service states it (UTC when it
    states none: its `date` is then a UTC date)."""
    for name in ZONE_FIELDS:
        value = worklist.get(name)
        if isinstance(value, str) and value:
            return value
    return "UTC"


@router.get("/worklist")
async def worklist(request: Request, current: WorklistUser, agency_id: str | None = None,
                   page: int = 1) -> Response:
    """Today's work for the agency, most urgent first, with reasons."""
    agency = _agency(current, agency_id)
    if not agency:
        return render(request, "worklist.html", page="worklist", worklist=None, agency_id="",
                      items=[], zone="UTC", line_page=1, has_more=False)
    size = settings(request).page_size
    page = max(1, min(page, 100))
    try:
        found = await current.api.get("contact", "/v1/worklist",
                                      {"agency_id": agency, "limit": min(page * size, 5000)})
    except ServiceError as exc:
        return service_error_page(request, exc)
    items = found["items"][(page - 1) * size:page * size]
    return render(request, "worklist.html", page="worklist", worklist=found, agency_id=agency,
                  items=items, zone=worklist_zone(found), line_page=page,
                  has_more=found.get("total", 0) > page * size)


@router.get("/service-levels")
async def service_levels(request: Request, current: ServiceLevelsUser,
                         agency_id: str | None = None, after: str | None = None) -> Response:
    """Each case's service levels (met, breached, pending), a page of cases at a time."""
    agency = None if current.role is Role.AGENCY else ((agency_id or "").strip() or None)
    try:
        report = await current.api.get("contact", "/v1/sla", {
            "agency_id": agency, "after": after, "limit": settings(request).page_size})
    except ServiceError as exc:
        return service_error_page(request, exc)
    return render(request, "service_levels.html", page="service_levels", report=report,
                  agency_id=agency or "", after=after)


@router.get("/qa")
async def qa(request: Request, current: QaUser, sample_id: str | None = None) -> Response:
    """Open a QA sample by id, or draw this month's sample for an agency."""
    if sample_id and sample_id.strip():
        return redirect(f"/qa/{sample_id.strip()}")
    agency = current.session.tenant if current.role is Role.AGENCY else ""
    zone = DEFAULT_TIMEZONE
    if agency:  # this month is the agency's month: its zone, as the contact service states it
        try:
            zone = (await current.api.get("contact", f"/v1/agencies/{agency}/settings"))[
                "timezone"]
        except ServiceError:
            zone = DEFAULT_TIMEZONE
    return render(request, "qa.html", page="qa", sample=None, error=None,
                  month=datetime.now(UTC).astimezone(ZoneInfo(zone)).strftime("%Y-%m"),
                  agency_id=agency, can_draw=current.role is not Role.AUDITOR)


@router.post("/qa/samples")
async def draw_sample(request: Request, current: QaUser) -> Response:
    """Draw (or get back) a month's QA sample (POST /v1/qa/samples)."""
    form = await checked_form(request, current)
    agency = _agency(current, str(form.get("agency_id") or ""))
    month = str(form.get("month") or "").strip()
    seed = str(form.get("seed") or "").strip() or None
    try:
        _, sample = await current.api.send("contact", "POST", "/v1/qa/samples", {
            "agency_id": agency, "month": month, **({"seed": seed} if seed else {})})
    except ServiceError as exc:
        if exc.status in (401, 502, 503):
            return service_error_page(request, exc)
        return render(request, "qa.html", status=exc.status, page="qa", sample=None,
                      error=exc.message, month=month, agency_id=agency or "",
                      can_draw=current.role is not Role.AUDITOR)
    return redirect(f"/qa/{sample['sample_id']}")


@router.get("/qa/{sample_id}")
async def sample(request: Request, sample_id: str, current: QaUser,
                 reviewed: int | None = None) -> Response:
    """A QA sample: what was drawn from each population, the reviews and their findings
    (serious ones with their escalation deadline), and whether the seed still draws it."""
    try:
        found = await current.api.get("contact", f"/v1/qa/samples/{sample_id}")
    except ServiceError as exc:
        return service_error_page(request, exc)
    return render(request, "qa_sample.html", page="qa", sample=found, errors={},
                  values={}, reviewed=reviewed, can_review=current.role is not Role.AUDITOR)


@router.post("/qa/{sample_id}/reviews")
async def review(request: Request, sample_id: str, current: QaUser) -> Response:
    """Record a review of one sampled item."""
    form = await checked_form(request, current)
    values = {k: str(form.get(k) or "").strip() for k in ("item_id", "score", "findings")}
    serious = form.get("serious") == "yes"
    body = {"item_id": values["item_id"], "findings": values["findings"], "serious": serious,
            "score": int(values["score"]) if values["score"].isdigit() else values["score"]}
    try:
        await current.api.send("contact", "POST", f"/v1/qa/samples/{sample_id}/reviews", body)
    except ServiceError as exc:
        if exc.status in (401, 403, 404, 502, 503):
            return service_error_page(request, exc)
        found = await current.api.get("contact", f"/v1/qa/samples/{sample_id}")
        errors = {str(f.get("path", "")).removeprefix("body."): str(f.get("message", ""))
                  for f in exc.fields} or {"_form": exc.message}
        return render(request, "qa_sample.html", status=exc.status, page="qa", sample=found,
                      errors=errors, values=values, reviewed=None,
                      can_review=current.role is not Role.AUDITOR)
    return redirect(f"/qa/{sample_id}", reviewed=1)


@router.get("/verification")
async def verification(request: Request, current: VerificationUser) -> Response:
    """Pin the log's public key in this browser (kept in its local storage); every case's
    proofs are then checked here against it, never against a key the server hands out."""
    published = None
    try:
        published = await current.api.get("case", "/v1/audit/checkpoints")
    except ServiceError:
        published = None
    latest = (published or {}).get("checkpoints") or []
    return render(request, "verification.html", page="verification",
                  published_key=(published or {}).get("verifier_key"),
                  origin=(published or {}).get("origin"),
                  latest=latest[-1] if latest else None)
