"""Cases: the searchable list, a case's timeline (as of any instant), the auditor's proofs
and regulator exports, and the agency's workspace (contact permission before dialling,
forms to record a contact, a promise or a payment)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from casetrail.security import Role
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData

from console_service.adapters.services import ServiceError
from console_service.domain.times import local_input_to_instant, local_input_value
from console_service.entrypoints.web import (
    Current,
    page_access,
    redirect,
    render,
    service_error_page,
    settings,
    tenant_param,
)

router = APIRouter()
CasesUser = Annotated[Current, Depends(page_access("cases"))]
STATUSES = ("placed", "active", "promised", "arrangement", "disputed", "recalled", "closed")
CHANNELS = ("phone", "sms", "email", "letter", "visit")
PARTIES = ("debtor", "third_party")
CONTACT_PARTIES = ("debtor", "third_party", "none")
OUTCOMES = ("conversation", "no_answer", "busy", "voicemail", "wrong_number", "invalid_number",
            "refused", "delivered", "undeliverable", "debtor_not_found", "debtor_met")
METHODS = ("bank_transfer", "card", "cash", "alipay", "wechat_pay", "other")
FORMS = ("contact", "promise", "payment")


def _case_id(value: str) -> str | None:
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        return None


@router.get("/cases")
async def case_list(request: Request, current: CasesUser, q: str | None = None,
                    creditor_id: str | None = None, agency_id: str | None = None,
                    status: str | None = None, bucket: str | None = None,
                    cursor: int | None = None) -> Response:
    """One page of the case list (the case service pages it by cursor: fast however many
    cases there are); a case id typed into the search opens that case."""
    if q and _case_id(q):
        return redirect(f"/cases/{_case_id(q)}")
    filters = {
        "creditor_id": tenant_param(current, Role.CREDITOR, creditor_id),
        "agency_id": tenant_param(current, Role.AGENCY, agency_id),
        "status": status if status in STATUSES else None,
        "bucket": (bucket or "").strip() or None,
    }
    try:
        page = await current.api.get("case", "/v1/cases", {
            **filters, "cursor": cursor or 0, "limit": settings(request).page_size})
    except ServiceError as exc:
        if exc.status in (403, 422):
            return render(request, "cases.html", status=exc.status, page="cases",
                          items=[], next_cursor=None, filters=filters, cursor=cursor,
                          statuses=STATUSES, q=q, error=exc.message)
        return service_error_page(request, exc)
    return render(request, "cases.html", page="cases", items=page["items"],
                  next_cursor=page.get("next_cursor"), filters=filters, cursor=cursor,
                  statuses=STATUSES, q=q, error="search.not_a_case_id" if q else None)


async def _case_context(current: Current, case_id: str, as_of: datetime | None
                        ) -> dict[str, Any]:
    """The case (as of an instant, if given) and its events, as this user may see them."""
    api = current.api
    if as_of is None:
        case, history = await asyncio.gather(
            api.get("case", f"/v1/cases/{case_id}"),
            api.get("case", f"/v1/cases/{case_id}/history"))
        return {"case": case, "events": history["events"], "as_of": None}
    history = await api.get("case", f"/v1/cases/{case_id}/history",
                            {"as_of": as_of.isoformat()})
    if history.get("state") is None:
        raise ServiceError(404, "case_not_found", "the case did not exist yet")
    return {"case": history["state"], "events": history["events"], "as_of": as_of}


async def _permission(current: Current, case_id: str, channel: str, party: str
                      ) -> dict[str, Any]:
    try:
        answer: dict[str, Any] = await current.api.get(
            "contact", f"/v1/cases/{case_id}/contact-permission",
            {"channel": channel, "party": party})
        return answer
    except ServiceError as exc:
        return {"error": exc.message, "status": exc.status}


def _workspace_defaults(case: dict[str, Any]) -> dict[str, str]:
    zone = (case.get("debtor") or {}).get("timezone")
    now = local_input_value(datetime.now(UTC), zone)
    return {"contact_id": f"console-{uuid.uuid4().hex[:20]}", "occurred_at": now,
            "channel": "phone", "party": "debtor", "direction": "outbound",
            "outcome": "conversation", "action_code": "", "agent_id": "", "note": "",
            "contact_point": "", "promise_id": f"promise-{uuid.uuid4().hex[:16]}", "amount": "",
            "due_date": (datetime.now(UTC).date() + timedelta(days=7)).isoformat(),
            "reference": "", "payment_amount": "", "received_at": now,
            "method": "bank_transfer"}


async def render_case(request: Request, current: Current, case_id: str, *,
                      as_of_text: str | None = None, zone: str | None = None,
                      form: str | None = None, values: dict[str, str] | None = None,
                      errors: dict[str, str] | None = None, status: int = 200,
                      done: str | None = None) -> Response:
    """The case page (with the workspace forms filled in as posted, and their errors)."""
    as_of = local_input_to_instant(as_of_text, zone) if as_of_text else None
    try:
        context = await _case_context(current, case_id, as_of)
    except ServiceError as exc:
        return service_error_page(request, exc)
    case = context["case"]
    debtor_zone = (case.get("debtor") or {}).get("timezone")
    workspace = current.role is Role.AGENCY and as_of is None and \
        case.get("assigned_agency_id") == current.session.tenant
    permission = None
    if workspace:
        chosen = values or {}
        permission = await _permission(current, case_id, chosen.get("channel", "phone"),
                                       chosen.get("party", "debtor") if chosen.get(
                                           "party") in PARTIES else "debtor")
    return render(
        request, "case.html", status=status, page="cases", case=case,
        events=context["events"], as_of=context["as_of"], zone=debtor_zone,
        as_of_value=local_input_value(context["as_of"], debtor_zone) if context["as_of"]
        else "", auditing=current.role in (Role.AUDITOR, Role.ADMIN),
        workspace=workspace, permission=permission, form=form,
        values={**_workspace_defaults(case), **(values or {})}, errors=errors or {},
        done=done if done in FORMS else None, channels=CHANNELS, parties=PARTIES,
        contact_parties=CONTACT_PARTIES, outcomes=OUTCOMES, methods=METHODS)


@router.get("/cases/{case_id}")
async def case_page(request: Request, case_id: str, current: CasesUser,
                    as_of: str | None = None, zone: str | None = None,
                    done: str | None = None) -> Response:
    """A case and its timeline: every event with its actor, local and UTC time and payload;
    `as_of` shows the case as it stood at that instant."""
    found = _case_id(case_id)
    if found is None:
        return render(request, "error.html", status=404, message="error.not_found", values={})
    return await render_case(request, current, found, as_of_text=as_of, zone=zone, done=done)


@router.get("/cases/{case_id}/proofs.json")
async def case_proofs(case_id: str, current: CasesUser) -> Response:
    """What the browser verifies, passed through unchanged: the case's events with their
    inclusion proofs and signed case statement, and the checkpoint they are proven against
    as a signed note. The verdict is the browser's, never this server's."""
    found = _case_id(case_id)
    if found is None or current.role not in (Role.AUDITOR, Role.ADMIN):
        return JSONResponse({"error": "not_found"}, status_code=404)
    try:
        audit = await current.api.get("case", f"/v1/audit/cases/{found}")
        note = await current.api.get_text("case", "/v1/audit/checkpoint",
                                          {"size": audit["checkpoint"]["tree_size"]})
    except ServiceError as exc:
        return JSONResponse({"error": exc.code, "message": exc.message},
                            status_code=exc.status if exc.status < 500 else 502)
    return JSONResponse({"audit": audit, "note": note},
                        headers={"Cache-Control": "no-store"})


@router.get("/cases/{case_id}/export.{kind}")
async def case_export(request: Request, case_id: str, kind: str,
                      current: CasesUser) -> Response:
    """The regulator export (JSON Lines with proofs, or the PDF timeline), as the case
    service makes it."""
    found = _case_id(case_id)
    if found is None or kind not in ("jsonl", "pdf") or \
            current.role not in (Role.AUDITOR, Role.ADMIN):
        return render(request, "error.html", status=404, message="error.not_found", values={})
    try:
        file = await current.api.download("case", f"/v1/audit/cases/{found}/export",
                                          {"format": kind})
    except ServiceError as exc:
        return service_error_page(request, exc)
    return Response(file.content, media_type=file.media_type, headers={
        "Content-Disposition": f'attachment; filename="{found}.{kind}"',
        "Cache-Control": "no-store"})


@router.get("/cases/{case_id}/permission.json")
async def permission(case_id: str, current: CasesUser, channel: str = "phone",
                     party: str = "debtor") -> Response:
    """May the collector make this contact now? (the contact service's answer)."""
    found = _case_id(case_id)
    if found is None or channel not in CHANNELS or party not in PARTIES:
        return JSONResponse({"error": "invalid"}, status_code=422)
    return JSONResponse(await _permission(current, found, channel, party),
                        headers={"Cache-Control": "no-store"})


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _field_errors(exc: ServiceError, names: dict[str, str]) -> dict[str, str]:
    """The service's field errors by form field (body.amount -> amount); the rest under
    `_form`."""
    found: dict[str, str] = {}
    for field in exc.fields:
        path = str(field.get("path", "")).removeprefix("body.")
        found[names.get(path.split(".")[0], "_form")] = str(field.get("message", ""))
    if not found:
        found["_form"] = exc.message
    return found


async def _command(request: Request, current: Current, case_id: str, kind: str,
                   build: Any, names: dict[str, str]) -> Response:
    from console_service.entrypoints.web import checked_form

    form = await checked_form(request, current)
    values = {k: _text(form, k) for k in form if k != "csrf_token"}
    found = _case_id(case_id)
    if found is None:
        return render(request, "error.html", status=404, message="error.not_found", values={})
    case = await current.api.get("case", f"/v1/cases/{found}")
    zone = (case.get("debtor") or {}).get("timezone")
    try:
        path, body = build(values, zone, case)
    except ValueError as exc:
        return await render_case(request, current, found, form=kind, values=values,
                                 errors={str(exc): "form.invalid_time"}, status=422)
    try:
        await current.api.send("case", "POST", f"/v1/cases/{found}/{path}", body)
    except ServiceError as exc:
        if exc.status in (403, 404):
            return service_error_page(request, exc)
        return await render_case(request, current, found, form=kind, values=values,
                                 errors=_field_errors(exc, names), status=exc.status)
    return redirect(f"/cases/{found}", done=kind)


def _instant(values: dict[str, str], name: str, zone: str | None) -> str:
    instant = local_input_to_instant(values.get(name, ""), zone)
    if instant is None:
        raise ValueError(name)
    return instant.isoformat()


@router.post("/cases/{case_id}/contacts")
async def record_contact(request: Request, case_id: str, current: CasesUser) -> Response:
    """Record a contact (POST /v1/cases/{id}/contacts, idempotent by its contact id)."""

    def build(v: dict[str, str], zone: str | None, _: dict[str, Any]
              ) -> tuple[str, dict[str, Any]]:
        body = {"contact_id": v.get("contact_id"), "channel": v.get("channel"),
                "direction": v.get("direction") or "outbound", "party": v.get("party"),
                "outcome": v.get("outcome"), "action_code": v.get("action_code", "").upper(),
                "agent_id": v.get("agent_id") or None, "note": v.get("note") or None,
                "contact_point": v.get("contact_point") or None,
                "occurred_at": _instant(v, "occurred_at", zone)}
        return "contacts", {k: val for k, val in body.items() if val is not None}

    return await _command(request, current, case_id, "contact", build, {
        "channel": "channel", "party": "party", "outcome": "outcome",
        "action_code": "action_code", "agent_id": "agent_id", "note": "note",
        "occurred_at": "occurred_at", "contact_point": "contact_point",
        "direction": "direction"})


@router.post("/cases/{case_id}/promises")
async def record_promise(request: Request, case_id: str, current: CasesUser) -> Response:
    """Record a promise to pay."""

    def build(v: dict[str, str], _: str | None, __: dict[str, Any]
              ) -> tuple[str, dict[str, Any]]:
        return "promises", {"promise_id": v.get("promise_id"), "amount": v.get("amount"),
                            "due_date": v.get("due_date")}

    return await _command(request, current, case_id, "promise", build, {
        "amount": "amount", "due_date": "due_date", "promise_id": "amount"})


@router.post("/cases/{case_id}/payments")
async def record_payment(request: Request, case_id: str, current: CasesUser) -> Response:
    """Record a payment the agency collected (idempotent by reference)."""

    def build(v: dict[str, str], zone: str | None, case: dict[str, Any]
              ) -> tuple[str, dict[str, Any]]:
        return "payments", {"reference": v.get("reference"),
                            "amount": v.get("payment_amount"),
                            "currency": case.get("currency", "CNY"), "source": "agency",
                            "received_at": _instant(v, "received_at", zone),
                            "method": v.get("method") or None}

    return await _command(request, current, case_id, "payment", build, {
        "reference": "reference", "amount": "payment_amount", "received_at": "received_at",
        "method": "method"})
