"""The tamper-evident log: signed checkpoints, verification, and proofs for auditors.

Each event's leaf hash is written with it (recorders.py). Leaves in position order form an
RFC 6962 Merkle tree (casetrail.merkle). A checkpoint signs the tree size and root with an
Ed25519 key; publishing checkpoints outside the database (docs/audit.md) is what makes a later
rewrite of the database detectable even when both events and leaves are rewritten.

`verify` recomputes every leaf from the stored event rows and compares:
- a leaf that no longer matches its row: the row was altered (or moved: see below);
- a leaf without a row: the row was deleted; a row without a leaf: the row was inserted;
- a row whose content matches the leaf of another position: rows were reordered;
- the stored leaves must reproduce the root of every checkpoint, whose signatures must hold.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from casetrail import merkle
from casetrail.merkle import Checkpoint

from case_service.adapters.case_store import CaseStore

CHUNK = 20_000
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Problem:
    """One finding of a verification, at a log position where there is one."""

    kind: str  # altered | deleted | inserted | reordered | checkpoint
    position: int | None
    detail: str


@dataclass
class Report:
    """What `verify` found."""

    events_checked: int = 0
    checkpoint: Checkpoint | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


@dataclass(frozen=True)
class _Row:
    position: int
    case_id: str
    version: int
    topic: str
    state: bytes

    def leaf(self, at: int | None = None) -> bytes:
        return merkle.leaf_hash(self.position if at is None else at, self.case_id,
                                self.version, self.topic, self.state)


class AuditLog:
    """Checkpoints, verification and inclusion proofs over the case log."""

    def __init__(self, store: CaseStore, signing_key: bytes, key_id: str = "audit-1"):
        self.store, self.db = store, store.db
        self.signing_key, self.key_id = signing_key, key_id
        self.public_key = merkle.public_key_of(signing_key)
        self.leaves_table = self.db.table("audit_leaves")
        self.checkpoints_table = self.db.table("audit_checkpoints")

    # ------------------------------------------------------------------ reading

    def _events(self, after: int = -1) -> Iterator[_Row]:
        pg = self.db.dialect == "postgres"
        column = "notification_id" if pg else "rowid"
        table = self.db.table(self.db.events_table)
        while True:
            with self.db.transaction() as cur:
                rows = cur.execute(
                    f"SELECT {column} AS p, originator_id AS o, originator_version AS v, "
                    f"topic AS t, state AS s FROM {table} WHERE {column} > %s "
                    f"ORDER BY {column} LIMIT %s", [after, CHUNK]).fetchall()
            if not rows:
                return
            for r in rows:
                yield _Row(int(r["p"]), str(UUID(str(r["o"]))), int(r["v"]), str(r["t"]),
                           bytes(r["s"]))
            after = int(rows[-1]["p"])

    def _leaves(self, after: int = -1) -> Iterator[tuple[int, bytes]]:
        while True:
            with self.db.transaction() as cur:
                rows = cur.execute(
                    f"SELECT position, leaf_hash FROM {self.leaves_table} WHERE position > %s "
                    "ORDER BY position LIMIT %s", [after, CHUNK]).fetchall()
            if not rows:
                return
            for r in rows:
                yield int(r["position"]), bytes(r["leaf_hash"])
            after = int(rows[-1]["position"])

    def leaf_hashes(self, limit: int | None = None) -> list[bytes]:
        """The stored leaves in position order (the first `limit`)."""
        found: list[bytes] = []
        for _, leaf in self._leaves():
            if limit is not None and len(found) >= limit:
                break
            found.append(leaf)
        return found

    def checkpoints(self) -> list[Checkpoint]:
        """Every stored checkpoint, oldest first."""
        with self.db.transaction() as cur:
            rows = cur.execute(f"SELECT * FROM {self.checkpoints_table} ORDER BY tree_size"
                               ).fetchall()
        return [Checkpoint(tree_size=int(r["tree_size"]), root=bytes(r["root"]),
                           last_position=int(r["last_position"]), issued_at=r["issued_at"],
                           key_id=r["key_id"], signature=bytes(r["signature"])) for r in rows]

    def latest_checkpoint(self) -> Checkpoint | None:
        """The newest checkpoint."""
        found = self.checkpoints()
        return found[-1] if found else None

    # ------------------------------------------------------------------ checkpoint

    def checkpoint(self) -> Checkpoint:
        """Sign and store the current tree size and root (idempotent for an unchanged log)."""
        positions: list[int] = []
        leaves: list[bytes] = []
        for position, leaf in self._leaves():
            positions.append(position)
            leaves.append(leaf)
        latest = self.latest_checkpoint()
        if latest is not None and latest.tree_size == len(leaves):
            return latest
        checkpoint = merkle.sign_checkpoint(
            self.signing_key, self.key_id, len(leaves), merkle.root(leaves),
            positions[-1] if positions else 0, datetime.now(UTC).isoformat())
        with self.db.transaction() as cur:
            cur.execute(
                f"INSERT INTO {self.checkpoints_table} (tree_size, root, last_position, "
                "issued_at, key_id, signature) VALUES (%s, %s, %s, %s, %s, %s)",
                [checkpoint.tree_size, checkpoint.root, checkpoint.last_position,
                 checkpoint.issued_at, checkpoint.key_id, checkpoint.signature])
        return checkpoint

    # ------------------------------------------------------------------ verification

    def verify(self, progress: Progress | None = None) -> Report:
        """Recompute everything against the stored leaves and every checkpoint."""
        report = Report()
        events, leaves = self._events(), self._leaves()
        event, leaf = next(events, None), next(leaves, None)
        mismatched: dict[int, _Row] = {}
        stored: dict[int, bytes] = {}
        ordered: list[bytes] = []
        while event is not None or leaf is not None:
            if leaf is None or (event is not None and event.position < leaf[0]):
                assert event is not None
                report.problems.append(Problem(
                    "inserted", event.position,
                    f"event {event.case_id} v{event.version} has no audit leaf"))
                event = next(events, None)
            elif event is None or leaf[0] < event.position:
                report.problems.append(Problem(
                    "deleted", leaf[0], "the audit leaf has no event row: the row was deleted"))
                ordered.append(leaf[1])
                leaf = next(leaves, None)
            else:
                if event.leaf() != leaf[1]:
                    mismatched[event.position], stored[leaf[0]] = event, leaf[1]
                ordered.append(leaf[1])
                report.events_checked += 1
                if progress is not None:
                    progress(1)
                event, leaf = next(events, None), next(leaves, None)
        report.problems += self._explain(mismatched, stored)
        report.problems += self._check_checkpoints(ordered, report)
        report.problems.sort(key=lambda p: (p.position is None, p.position or 0, p.kind))
        return report

    @staticmethod
    def _explain(mismatched: dict[int, _Row], stored: dict[int, bytes]) -> list[Problem]:
        problems = []
        for position, row in mismatched.items():
            origin = next((other for other, leaf in stored.items()
                           if other != position and row.leaf(other) == leaf), None)
            if origin is not None:
                problems.append(Problem(
                    "reordered", position, f"the event stored here (case {row.case_id} "
                    f"v{row.version}) belongs at position {origin}"))
            else:
                problems.append(Problem(
                    "altered", position, f"case {row.case_id} v{row.version} no longer "
                    "matches its audit leaf"))
        return problems

    def _check_checkpoints(self, ordered: list[bytes], report: Report) -> list[Problem]:
        problems = []
        for checkpoint in self.checkpoints():
            report.checkpoint = checkpoint
            label = f"checkpoint of size {checkpoint.tree_size} ({checkpoint.issued_at})"
            if not merkle.verify_checkpoint(checkpoint, self.public_key):
                problems.append(Problem("checkpoint", None, f"{label}: bad signature"))
            elif checkpoint.tree_size > len(ordered):
                problems.append(Problem(
                    "checkpoint", None, f"{label}: the log has only {len(ordered)} leaves"))
            elif merkle.root(ordered[:checkpoint.tree_size]) != checkpoint.root:
                problems.append(Problem(
                    "checkpoint", None, f"{label}: the stored leaves no longer give its root; "
                    "the log was rewritten before this checkpoint"))
        return problems

    # ------------------------------------------------------------------ proofs

    def case_proofs(self, case_id: str, checkpoint: Checkpoint) -> list[dict[str, Any]]:
        """A case's stored events with inclusion proofs against a checkpoint."""
        leaves: list[bytes] = []
        index_of: dict[int, int] = {}
        for position, leaf in self._leaves():
            if len(leaves) >= checkpoint.tree_size:
                break
            index_of[position] = len(leaves)
            leaves.append(leaf)
        pg = self.db.dialect == "postgres"
        column = "notification_id" if pg else "rowid"
        ident = case_id if pg else case_id.replace("-", "")
        with self.db.transaction() as cur:
            rows = cur.execute(
                f"SELECT {column} AS p, originator_version AS v, topic AS t, state AS s FROM "
                f"{self.db.table(self.db.events_table)} WHERE originator_id = %s "
                "ORDER BY originator_version", [ident]).fetchall()
        entries = []
        for r in rows:
            position = int(r["p"])
            index = index_of.get(position)
            entries.append({
                "position": position, "case_id": case_id, "version": int(r["v"]),
                "type": str(r["t"]), "payload": base64.b64encode(bytes(r["s"])).decode(),
                "leaf_index": index,
                "proof": None if index is None else
                [h.hex() for h in merkle.inclusion_proof(leaves, index)],
            })
        return entries

    def consistency(self, old_size: int, new_size: int) -> list[str]:
        """A proof that the tree of `new_size` leaves extends the one of `old_size`."""
        return [h.hex() for h in merkle.consistency_proof(self.leaf_hashes(new_size), old_size)]
