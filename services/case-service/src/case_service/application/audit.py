"""Use cases of the tamper-evident log: signed checkpoints (JSON and C2SP signed notes),
verification of everything stored, inclusion and consistency proofs for auditors, and the
regulator export (per case: JSON Lines with proofs, and a PDF timeline)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from casetrail.merkle import Checkpoint

from case_service.adapters.audit import Report, SizeNotInLog
from case_service.adapters.regulator_export import jsonl
from case_service.adapters.timeline_pdf import timeline_pdf
from case_service.application.cases import CaseApplication
from case_service.application.errors import CaseNotFound, CheckpointNotFound, NoCheckpoint
from case_service.application.listing import case_ids_placed
from case_service.application.views import case_view, history

__all__ = ["SizeNotInLog", "case_audit", "case_export", "checkpoint_note", "checkpoints",
           "consistency", "export_case", "export_cases", "sign_checkpoint", "verify"]


def checkpoints(app: CaseApplication) -> dict[str, Any]:
    """Every signed (tree size, root), the public key that verifies them, and the log's
    origin and note verifier key."""
    audit = app.audit
    return {"public_key": audit.public_key.hex(), "origin": audit.origin,
            "verifier_key": audit.verifier_key,
            "checkpoints": [c.to_json() for c in audit.checkpoints()]}


def checkpoint_note(app: CaseApplication, size: int | None = None) -> str:
    """The newest signed checkpoint (or the one of tree size `size`) as a C2SP signed note."""
    found = app.audit.checkpoints()
    if size is not None:
        found = [c for c in found if c.tree_size == size]
        if not found:
            raise CheckpointNotFound(f"no stored checkpoint of size {size}")
    if not found:
        raise NoCheckpoint()
    return app.audit.note(found[-1])


def sign_checkpoint(app: CaseApplication) -> dict[str, Any]:
    """Sign the log's current size and root (unchanged log: the latest checkpoint again):
    the checkpoint, the public key, origin and verifier key, and its signed note."""
    audit = app.audit
    checkpoint = audit.checkpoint()
    return {**checkpoint.to_json(), "public_key": audit.public_key.hex(),
            "origin": audit.origin, "verifier_key": audit.verifier_key,
            "note": audit.note(checkpoint)}


def verify(app: CaseApplication, progress: Callable[[int], None] | None = None, *,
           trusted: Sequence[tuple[str, str]] = (), public_key: bytes | None = None) -> Report:
    """Recompute every leaf and root against the stored events, checkpoints and the trusted
    checkpoints kept outside the database (see AuditLog.verify)."""
    return app.audit.verify(progress, trusted=trusted, public_key=public_key)


def case_audit(app: CaseApplication, case_id: UUID) -> dict[str, Any]:
    """A case's stored events with inclusion proofs against the latest signed checkpoint,
    and a signed statement of how many events the case has under it."""
    checkpoint, entries = _proven(app, case_id)
    statement = app.audit.case_statement(str(case_id), checkpoint, entries)
    return {"case_id": str(case_id), "checkpoint": checkpoint.to_json(),
            "case_statement": statement.to_json(),
            "public_key": app.audit.public_key.hex(), "events": entries}


def case_export(app: CaseApplication, case_id: UUID, export_format: str, *, unmask: bool
                ) -> bytes:
    """One case of the regulator export against the latest signed checkpoint: `jsonl` (what
    `verify-export` checks) or `pdf` (the timeline, the national id in clear if `unmask`)."""
    checkpoint, entries = _proven(app, case_id)
    if export_format == "jsonl":
        return jsonl(entries, checkpoint, app.audit.public_key,
                     app.audit.case_statement(str(case_id), checkpoint, entries))
    view = case_view(app, app.get_case(case_id), unmask=unmask)
    return timeline_pdf(str(case_id), view, history(app, case_id, unmask=unmask), entries,
                        checkpoint, app.audit.public_key)


def consistency(app: CaseApplication, old_size: int, new_size: int) -> dict[str, Any]:
    """A proof that the stored tree of `new_size` leaves extends the one of `old_size`, with
    the stored checkpoints of either size (raises SizeNotInLog beyond the log)."""
    found = app.audit.consistency_proof(old_size, new_size)
    stored = {c.tree_size: c.to_json() for c in app.audit.checkpoints()}
    return {"old_size": found.old_size, "new_size": found.new_size,
            "old_root": found.old_root.hex(), "new_root": found.new_root.hex(),
            "old": stored.get(old_size), "new": stored.get(new_size),
            "proof": [h.hex() for h in found.proof], "public_key": app.audit.public_key.hex()}


def export_case(app: CaseApplication, case_id: str, checkpoint: Checkpoint, folder: Path
                ) -> tuple[Path, Path]:
    """Write `<case_id>.jsonl` and `<case_id>.pdf` into `folder` (regulators read the
    debtor in clear)."""
    entries = app.audit.case_proofs(case_id, checkpoint)
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"{case_id}.jsonl"
    data.write_bytes(jsonl(entries, checkpoint, app.audit.public_key,
                           app.audit.case_statement(case_id, checkpoint, entries)))
    pdf = folder / f"{case_id}.pdf"
    view = case_view(app, app.get_case(UUID(case_id)), unmask=True)
    pdf.write_bytes(timeline_pdf(case_id, view, history(app, UUID(case_id), unmask=True),
                                 entries, checkpoint, app.audit.public_key))
    return data, pdf


def export_cases(app: CaseApplication, folder: Path, *, case_id: str | None = None,
                 creditor_id: str | None = None, since: str | None = None,
                 until: str | None = None, checkpoint_size: int | None = None,
                 started: Callable[[int], None] | None = None,
                 progress: Callable[[], None] | None = None) -> dict[str, Any]:
    """`casetrail audit export`: one case, or a creditor's cases placed in [since, until),
    against a signed checkpoint (default: the latest). `started(n)` is told how many cases,
    `progress()` called after each."""
    chosen = [c for c in app.audit.checkpoints() if checkpoint_size in (None, c.tree_size)]
    if not chosen:
        raise CheckpointNotFound("no such checkpoint: run `casetrail audit checkpoint`")
    checkpoint = chosen[-1]
    if case_id is not None:
        case_ids = [case_id]
    elif creditor_id is not None and since is not None and until is not None:
        case_ids = case_ids_placed(app, creditor_id, since, until)
    else:
        raise ValueError("export a case, or a creditor's cases placed from a day to a day")
    if started is not None:
        started(len(case_ids))
    for one in case_ids:
        export_case(app, one, checkpoint, folder)
        if progress is not None:
            progress()
    return {"cases": len(case_ids), "folder": str(folder), "checkpoint": checkpoint.to_json(),
            "public_key": app.audit.public_key.hex()}


def _proven(app: CaseApplication, case_id: UUID) -> tuple[Checkpoint, list[dict[str, Any]]]:
    """The latest checkpoint and the case's stored events proven against it."""
    checkpoint = app.audit.latest_checkpoint()
    if checkpoint is None:
        raise NoCheckpoint()
    entries = app.audit.case_proofs(str(case_id), checkpoint)
    if not entries:
        raise CaseNotFound(str(case_id), f"no case {case_id}")
    return checkpoint, entries
