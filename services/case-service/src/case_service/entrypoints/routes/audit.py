"""Auditors' view of the log: case histories with inclusion proofs, checkpoints, consistency."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from casetrail.security import Role
from casetrail.web import ApiError, require_roles
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from case_service.entrypoints.deps import AppDep, PrincipalDep

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/checkpoints", summary="Signed checkpoints of the log")
async def checkpoints(app: AppDep, caller: PrincipalDep) -> dict[str, Any]:
    """Every signed (tree size, root), and the public key that verifies them."""
    require_roles(caller, Role.AUDITOR, Role.ADMIN)
    found = await run_in_threadpool(app.audit.checkpoints)
    return {"public_key": app.audit.public_key.hex(),
            "checkpoints": [c.to_json() for c in found]}


@router.get("/cases/{case_id}", summary="A case history with inclusion proofs")
async def case_history(case_id: UUID, app: AppDep, caller: PrincipalDep) -> dict[str, Any]:
    """Every stored event of the case (stored bytes, base64), with its leaf index and an
    inclusion proof against the latest signed checkpoint. Verify offline with
    `python -m casetrail.merkle`. Events newer than the checkpoint have no proof yet."""
    require_roles(caller, Role.AUDITOR, Role.ADMIN)
    checkpoint = await run_in_threadpool(app.audit.latest_checkpoint)
    if checkpoint is None:
        raise ApiError(409, "no_checkpoint",
                       "no checkpoint has been signed yet: run `casetrail audit checkpoint`")
    entries = await run_in_threadpool(app.audit.case_proofs, str(case_id), checkpoint)
    if not entries:
        raise ApiError(404, "case_not_found", f"no case {case_id}")
    return {"case_id": str(case_id), "checkpoint": checkpoint.to_json(),
            "public_key": app.audit.public_key.hex(), "events": entries}


@router.get("/consistency", summary="Proof that the log only grew between two checkpoints")
async def consistency(
    app: AppDep, caller: PrincipalDep,
    old_size: Annotated[int, Query(ge=1)], new_size: Annotated[int, Query(ge=1)],
) -> dict[str, Any]:
    """An RFC 6962 consistency proof between two signed tree sizes."""
    require_roles(caller, Role.AUDITOR, Role.ADMIN)
    sizes = {c.tree_size: c for c in await run_in_threadpool(app.audit.checkpoints)}
    if old_size not in sizes or new_size not in sizes:
        raise ApiError(404, "checkpoint_not_found", "both sizes must be signed checkpoints")
    if old_size > new_size:
        raise ApiError(422, "validation_error", "old_size must not exceed new_size", fields=[
            {"path": "query.old_size", "message": "must not exceed new_size",
             "type": "value_error"}])
    proof = await run_in_threadpool(app.audit.consistency, old_size, new_size)
    return {"old": sizes[old_size].to_json(), "new": sizes[new_size].to_json(),
            "proof": proof, "public_key": app.audit.public_key.hex()}
