"""Auditors' view of the log: case histories with inclusion proofs, checkpoints (JSON and
signed notes), consistency proofs."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from casetrail.security import Role
from casetrail.web import ApiError, require_roles
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

from case_service.adapters.audit import SizeNotInLog
from case_service.adapters.regulator_export import jsonl
from case_service.adapters.timeline_pdf import timeline_pdf
from case_service.entrypoints.deps import AppDep, PrincipalDep
from case_service.entrypoints.schemas import (
    CaseAuditOut,
    CheckpointsOut,
    ConsistencyOut,
)

router = APIRouter(prefix="/v1/audit", tags=["audit"])

NO_CHECKPOINT = "no checkpoint has been signed yet: run `casetrail audit checkpoint`"


@router.get("/checkpoints", summary="Signed checkpoints of the log",
            response_model=CheckpointsOut)
async def checkpoints(app: AppDep, caller: PrincipalDep) -> dict[str, Any]:
    """Every signed (tree size, root), the public key that verifies them, and the log's
    origin and note verifier key (for the signed notes of `GET /v1/audit/checkpoint`)."""
    require_roles(caller, Role.AUDITOR, Role.ADMIN)
    found = await run_in_threadpool(app.audit.checkpoints)
    return {"public_key": app.audit.public_key.hex(), "origin": app.audit.origin,
            "verifier_key": app.audit.verifier_key,
            "checkpoints": [c.to_json() for c in found]}


@router.get("/checkpoint", summary="The newest checkpoint as a signed note",
            response_class=PlainTextResponse,
            responses={200: {"content": {"text/plain": {}}}})
async def checkpoint_note(
    app: AppDep, caller: PrincipalDep,
    size: Annotated[int | None, Query(ge=0, description="a stored checkpoint's tree size "
                                      "(default: the newest)")] = None,
) -> PlainTextResponse:
    """The newest signed checkpoint (or the one of `size`) in the C2SP tlog-checkpoint
    signed-note format: origin, tree size and base64 root, then a blank line and the Ed25519
    signature line. Verify it with the verifier key of `GET /v1/audit/checkpoints`, e.g. with
    Go's golang.org/x/mod/sumdb/note (docs/audit.md)."""
    require_roles(caller, Role.AUDITOR, Role.ADMIN)
    found = await run_in_threadpool(app.audit.checkpoints)
    if size is not None:
        found = [c for c in found if c.tree_size == size]
        if not found:
            raise ApiError(404, "checkpoint_not_found", f"no stored checkpoint of size {size}")
    if not found:
        raise ApiError(409, "no_checkpoint", NO_CHECKPOINT)
    return PlainTextResponse(app.audit.note(found[-1]), media_type="text/plain; charset=utf-8")


@router.get("/cases/{case_id}", summary="A case history with inclusion proofs",
            response_model=CaseAuditOut)
async def case_history(case_id: UUID, app: AppDep, caller: PrincipalDep) -> dict[str, Any]:
    """Every stored event of the case (stored bytes, base64), with its leaf index and an
    inclusion proof against the latest signed checkpoint, and a signed statement of how many
    events the case has under that checkpoint. Verify offline with `python -m
    casetrail.merkle verify-export`. Events newer than the checkpoint have no proof yet."""
    require_roles(caller, Role.AUDITOR, Role.ADMIN)
    checkpoint = await run_in_threadpool(app.audit.latest_checkpoint)
    if checkpoint is None:
        raise ApiError(409, "no_checkpoint", NO_CHECKPOINT)
    entries = await run_in_threadpool(app.audit.case_proofs, str(case_id), checkpoint)
    if not entries:
        raise ApiError(404, "case_not_found", f"no case {case_id}")
    statement = app.audit.case_statement(str(case_id), checkpoint, entries)
    return {"case_id": str(case_id), "checkpoint": checkpoint.to_json(),
            "case_statement": statement.to_json(),
            "public_key": app.audit.public_key.hex(), "events": entries}


@router.get("/cases/{case_id}/export", summary="The regulator export of a case",
            response_class=Response, responses={200: {
                "description": "`<case_id>.jsonl` (what `verify-export` checks) or "
                               "`<case_id>.pdf` (the timeline a person reads)",
                "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                            "application/pdf": {"schema": {"type": "string",
                                                           "format": "binary"}}}}})
async def case_export(
    case_id: UUID, app: AppDep, caller: PrincipalDep,
    format: Annotated[Literal["jsonl", "pdf"], Query(
        description="jsonl: the checkpoint and signed case statement, then every event with "
                    "its inclusion proof; pdf: the regulator's timeline")] = "jsonl",
) -> Response:
    """One case of `casetrail audit export`, against the latest signed checkpoint: the same
    bytes the command writes for the same log and checkpoint (the PDF shows the national id
    as the caller's role may see it: in clear for auditors)."""
    require_roles(caller, Role.AUDITOR, Role.ADMIN)
    checkpoint = await run_in_threadpool(app.audit.latest_checkpoint)
    if checkpoint is None:
        raise ApiError(409, "no_checkpoint", NO_CHECKPOINT)
    entries = await run_in_threadpool(app.audit.case_proofs, str(case_id), checkpoint)
    if not entries:
        raise ApiError(404, "case_not_found", f"no case {case_id}")
    if format == "jsonl":
        statement = app.audit.case_statement(str(case_id), checkpoint, entries)
        return Response(jsonl(entries, checkpoint, app.audit.public_key, statement),
                        media_type="application/x-ndjson", headers={
                            "Content-Disposition": f'attachment; filename="{case_id}.jsonl"'})

    def pdf() -> bytes:
        unmask = caller.sees_pii_unmasked
        view = app.case_view(app.get_case(case_id), unmask=unmask)
        return timeline_pdf(str(case_id), view, app.history(case_id, unmask=unmask), entries,
                            checkpoint, app.audit.public_key)

    return Response(await run_in_threadpool(pdf), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{case_id}.pdf"'})


@router.get("/consistency", summary="Proof that the log only grew between two tree sizes",
            response_model=ConsistencyOut)
async def consistency(
    app: AppDep, caller: PrincipalDep,
    old_size: Annotated[int, Query(ge=0)], new_size: Annotated[int, Query(ge=0)],
) -> dict[str, Any]:
    """An RFC 6962 consistency proof that the tree of `new_size` leaves extends the one of
    `old_size`, for any 0 <= old_size <= new_size <= the log's size, whether or not the
    database still stores a checkpoint of either size. Check it against roots you trust
    (checkpoints you kept), not against `old_root`/`new_root`, which the server computed."""
    require_roles(caller, Role.AUDITOR, Role.ADMIN)
    if old_size > new_size:
        raise ApiError(422, "validation_error", "old_size must not exceed new_size", fields=[
            {"path": "query.old_size", "message": "must not exceed new_size",
             "type": "value_error"}])
    try:
        found = await run_in_threadpool(app.audit.consistency_proof, old_size, new_size)
    except SizeNotInLog as e:
        raise ApiError(404, "size_not_in_log", str(e), tree_size=e.tree_size) from None
    stored = {c.tree_size: c.to_json() for c in await run_in_threadpool(app.audit.checkpoints)}
    return {"old_size": found.old_size, "new_size": found.new_size,
            "old_root": found.old_root.hex(), "new_root": found.new_root.hex(),
            "old": stored.get(old_size), "new": stored.get(new_size),
            "proof": [h.hex() for h in found.proof], "public_key": app.audit.public_key.hex()}
