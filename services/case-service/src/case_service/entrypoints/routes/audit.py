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

from case_service.application import audit
from case_service.entrypoints.deps import AppDep, PrincipalDep
from case_service.entrypoints.schemas import (
    CaseAuditOut,
    CheckpointsOut,
    ConsistencyOut,
)

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/checkpoints", summary="Signed checkpoints of the log",
            response_model=CheckpointsOut)
async def checkpoints(app: AppDep, caller: PrincipalDep) -> dict[str, Any]:
    """Every signed (tree size, root), the public key that verifies them, and the log's
    origin and note verifier key (for the signed notes of `GET /v1/audit/checkpoint`)."""
    require_roles(caller, Role.AUDITOR, Role.ADMIN)
    return await run_in_threadpool(audit.checkpoints, app)


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
    note = await run_in_threadpool(audit.checkpoint_note, app, size)
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8")


@router.get("/cases/{case_id}", summary="A case history with inclusion proofs",
            response_model=CaseAuditOut)
async def case_history(case_id: UUID, app: AppDep, caller: PrincipalDep) -> dict[str, Any]:
    """Every stored event of the case (stored bytes, base64), with its leaf index and an
    inclusion proof against the latest signed checkpoint, and a signed statement of how many
    events the case has under that checkpoint. Verify offline with `python -m
    casetrail.merkle verify-export`. Events newer than the checkpoint have no proof yet."""
    require_roles(caller, Role.AUDITOR, Role.ADMIN)
    return await run_in_threadpool(audit.case_audit, app, case_id)


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
    content = await run_in_threadpool(audit.case_export, app, case_id, format,
                                      unmask=caller.sees_pii_unmasked)
    media_type = "application/x-ndjson" if format == "jsonl" else "application/pdf"
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{case_id}.{format}"'})


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
    return await run_in_threadpool(audit.consistency, app, old_size, new_size)
