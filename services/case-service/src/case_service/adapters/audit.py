"""The tamper-evident log: signed checkpoints, verification, and proofs for auditors.

Each event's leaf hash is written with it (recorders.py). Leaves in position order form an
RFC 6962 Merkle tree (casetrail.merkle). A checkpoint signs the tree size and root with an
Ed25519 key, as JSON and as a C2SP tlog-checkpoint signed note; publishing checkpoints
outside the database (docs/audit.md) is what makes a later rewrite of the database
detectable even when events, leaves and checkpoints are rewritten together.

`verify` recomputes every leaf from the stored event rows and compares:
- a leaf that no longer matches its row: the row was altered (or moved: see below);
- a leaf without a row: the row was deleted; a row without a leaf: the row was inserted;
- a row whose content matches the leaf of another position: rows were reordered;
- a row that cannot be read as an event (a state that is not bytes, an originator id that
  is not a UUID): malformed, reported at its position while the scan goes on;
- the stored leaves must reproduce the root of every checkpoint, whose signatures must hold;
- and each trusted checkpoint, kept outside the database, must be a prefix of the stored
  tree: same root over its first `tree_size` leaves.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

import sqlalchemy as sa
from casetrail import merkle
from casetrail.merkle import CaseStatement, Checkpoint
from sqlalchemy.engine import Engine

from case_service.adapters.eventstore import EventsTable
from case_service.adapters.tables import audit_checkpoints, audit_leaves

CHUNK = 20_000
PROGRESS_STEP = 1_000  # events per progress report
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Problem:
    """One finding of a verification, at a log position where there is one."""

    kind: str  # altered | deleted | inserted | reordered | malformed | checkpoint | trusted
    position: int | None
    detail: str


@dataclass
class Report:
    """What `verify` found."""

    events_checked: int = 0
    checkpoint: Checkpoint | None = None
    trusted_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


@dataclass(frozen=True)
class ConsistencyProof:
    """An RFC 6962 proof that the tree of `new_size` leaves extends the one of `old_size`;
    the roots are computed from the stored leaves, so a client checks them against roots it
    trusts (signed checkpoints), never these."""

    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    proof: list[bytes]


class SizeNotInLog(LookupError):
    """A tree size larger than the stored log."""

    def __init__(self, size: int, tree_size: int):
        super().__init__(f"the log has {tree_size} leaves; a tree of {size} is not in it")
        self.size, self.tree_size = size, tree_size


class _Row(NamedTuple):
    """A stored event as the leaf hashes it (the case id as its 16 bytes)."""

    position: int
    case: bytes
    version: int
    topic: str
    state: bytes

    @property
    def case_id(self) -> str:
        return str(UUID(bytes=self.case))

    def leaf(self, at: int | None = None) -> bytes:
        return merkle.leaf_hash_of(self.position if at is None else at, self.case,
                                   self.version, self.topic, self.state)


@dataclass(frozen=True)
class _Malformed:
    """A stored row that cannot be read as an event: why, at its position."""

    position: int
    reason: str


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class _NotUtf8:
    """A TEXT value whose bytes are not UTF-8 (SQLite stores whatever it is given)."""

    raw: bytes


def _sqlite_value(kind: str, raw: Any) -> Any:
    """A SQLite value read as `CAST(x AS BLOB)` with its `typeof(x)`, as the driver would
    return it, without the driver's failure on TEXT that is not UTF-8."""
    if kind == "null" or raw is None:
        return None
    data = bytes(raw)
    if kind == "blob":
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _NotUtf8(data)
    if kind == "integer":
        return int(text)
    return float(text) if kind == "real" else text


def _decode(position: int, originator: Any, version: Any, topic: Any, state: Any
            ) -> _Row | _Malformed:
    """The event of a stored row, or why the row is not one (each field checked)."""
    reasons = []
    case = b""
    try:
        case = (originator if isinstance(originator, UUID) else UUID(str(originator))).bytes
    except (ValueError, TypeError):
        reasons.append(f"originator id {_shown(originator)} is not a UUID")
    if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version < 2**32:
        reasons.append(f"version {_shown(version)} is not a whole number")
    if not isinstance(topic, str):
        reasons.append(f"topic {_shown(topic)} is not text")
    if state is None:
        reasons.append("state is NULL")
    elif isinstance(state, str | _NotUtf8):
        reasons.append("state is stored as TEXT, not bytes")
    elif not isinstance(state, bytes | bytearray | memoryview):
        reasons.append(f"state is a {type(state).__name__}, not bytes")
    if reasons:
        return _Malformed(position, "; ".join(reasons))
    return _Row(position, case, version, topic, bytes(state))


def _decode_typed(position: int, case: Any, version: Any, topic: Any, state: Any
                  ) -> _Row | _Malformed:
    """A row of a PostgreSQL events table, its case id read as 16 bytes (`uuid_send`) or, if
    the column is no longer a uuid, as text: the expected types are taken as they are;
    anything else (an insider may have changed a column's type) is looked at closely by
    `_decode`."""
    if type(version) is int and type(topic) is str and type(state) is bytes:
        if type(case) is bytes and len(case) == 16:
            return _Row(position, case, version, topic, state)
        if type(case) is str and len(case) == 36 \
                and case[8] == case[13] == case[18] == case[23] == "-":
            try:
                found = bytes.fromhex(case.replace("-", ""))
            except ValueError:
                found = b""
            if len(found) == 16:
                return _Row(position, found, version, topic, state)
    if type(case) is bytes:
        case = UUID(bytes=case) if len(case) == 16 else case
    return _decode(position, case, version, topic, state)


T = TypeVar("T")


def _read_ahead(fetch: Callable[[int], Sequence[T]], key: Callable[[T], int], after: int,
                *, ahead: bool) -> Iterator[Sequence[T]]:
    """Pages `fetch(after)` until one is empty, each after the last key of the one before;
    `ahead`: the next page is read on a thread of its own while this one is worked on (the
    database's time overlaps the hashing)."""
    if not ahead:
        while rows := fetch(after):
            yield rows
            after = key(rows[-1])
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-read") as pool:
        pending = pool.submit(fetch, after)
        while rows := pending.result():
            pending = pool.submit(fetch, key(rows[-1]))
            yield rows


class AuditLog:
    """Checkpoints, verification and inclusion proofs over the case log."""

    def __init__(self, engine: Engine, events: EventsTable, signing_key: bytes,
                 key_id: str = "audit-1", *, origin: str):
        self.engine, self.events = engine, events
        self.signing_key, self.key_id = signing_key, key_id
        self.origin = merkle.check_note_name(origin)
        self.public_key = merkle.public_key_of(signing_key)

    @property
    def verifier_key(self) -> str:
        """The note verifier key of the log: `<origin>+<key hash>+<base64 key>`."""
        return merkle.verifier_key(self.origin, self.public_key)

    # ------------------------------------------------------------------ reading

    def _events(self, after: int = -1) -> Iterator[_Row | _Malformed]:
        """Every stored event after a position, in position order, decoded."""
        for page in self._event_pages(after):
            yield from page

    def _event_pages(self, after: int = -1, *, decoded: bool = True
                     ) -> Generator[list[Any]]:
        """The stored events after a position, a page at a time: decoded (`_Row` or
        `_Malformed`), or on PostgreSQL with `decoded=False` as read, (position, case id
        bytes, version, topic, state)."""
        table, position = self.events.table, self.events.position
        sqlite = self.events.sqlite
        columns = {"o": table.c.originator_id, "v": table.c.originator_version,
                   "t": table.c.topic, "s": table.c.state}
        selected: list[Any]
        if sqlite:  # SQLite stores any type in any column: read bytes
            selected = [x for a, c in columns.items() for x in (
                sa.func.typeof(c).label(f"{a}_type"), sa.cast(c, sa.LargeBinary).label(a))]
        else:  # the case id as its 16 bytes (as text if the column is no longer a uuid)
            selected = [self._case_column(), table.c.originator_version, table.c.topic,
                        table.c.state]

        def fetch(after: int) -> Sequence[Any]:
            with self.engine.connect() as conn:
                return conn.execute(sa.select(position.label("p"), *selected)
                                    .where(position > after).order_by(position)
                                    .limit(CHUNK)).all()

        def sqlite_row(row: Any) -> _Row | _Malformed:
            r = row._mapping
            values = {a: _sqlite_value(r[f"{a}_type"], r[a]) for a in columns}
            return _decode(int(row[0]), values["o"], values["v"], values["t"], values["s"])

        for rows in _read_ahead(fetch, lambda row: int(row[0]), after, ahead=not sqlite):
            if sqlite:
                yield [sqlite_row(row) for row in rows]
            elif not decoded:
                yield list(rows)
            else:
                yield [_decode_typed(p, o, v, t, st) for p, o, v, t, st in rows]

    def _case_column(self) -> Any:
        """The case id column read without a UUID object per row: `uuid_send` of a uuid
        column, else (an insider changed its type) the column as text."""
        table = self.events.table
        with self.engine.connect() as conn:
            kind = conn.execute(sa.text(
                "SELECT format_type(atttypid, NULL) FROM pg_attribute "
                "WHERE attrelid = to_regclass(:t) AND attname = 'originator_id'"),
                {"t": table.name}).scalar()
        if kind == "uuid":
            return sa.func.uuid_send(table.c.originator_id, type_=sa.LargeBinary)
        return sa.cast(table.c.originator_id, sa.Text)

    def _leaves(self, after: int = -1) -> Iterator[tuple[int, bytes]]:
        """(position, leaf hash) in position order; a leaf that is not 32 bytes comes as it
        is (bytes) or as b"" (anything else), for `verify` to report."""
        for page in self._leaf_pages(after):
            yield from page

    def _leaf_pages(self, after: int = -1, *, decoded: bool = True) -> Generator[list[Any]]:
        """The stored leaves after a position, a page at a time, as `_leaves` gives them
        (with `decoded=False`, as read: (position, leaf))."""
        t = audit_leaves
        leaf_hash = (sa.cast(t.c.leaf_hash, sa.LargeBinary) if self.events.sqlite
                     else t.c.leaf_hash)  # SQLite: whatever type was stored, as bytes

        def fetch(after: int) -> Sequence[Any]:
            with self.engine.connect() as conn:
                return conn.execute(sa.select(t.c.position, leaf_hash.label("leaf_hash"))
                                    .where(t.c.position > after).order_by(t.c.position)
                                    .limit(CHUNK)).all()

        for rows in _read_ahead(fetch, lambda row: int(row[0]), after,
                                ahead=not self.events.sqlite):
            yield list(rows) if not decoded else [
                (int(position), leaf if type(leaf) is bytes else bytes(leaf)
                 if isinstance(leaf, bytearray | memoryview) else b"")
                for position, leaf in rows]

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
        t = audit_checkpoints
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t).order_by(t.c.tree_size)).mappings().all()
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
        with self.engine.begin() as conn:
            conn.execute(audit_checkpoints.insert().values(
                tree_size=checkpoint.tree_size, root=checkpoint.root,
                last_position=checkpoint.last_position, issued_at=checkpoint.issued_at,
                key_id=checkpoint.key_id, signature=checkpoint.signature))
        return checkpoint

    def note(self, checkpoint: Checkpoint) -> str:
        """The checkpoint as a C2SP tlog-checkpoint signed note (origin, size, base64 root),
        signed under the key name `origin`. Ed25519 is deterministic: the same checkpoint
        always gives the same note, so notes need not be stored."""
        return merkle.sign_checkpoint_note(self.signing_key, self.origin,
                                           checkpoint.tree_size, checkpoint.root)

    # ------------------------------------------------------------------ verification

    def verify(self, progress: Progress | None = None, *,
               trusted: Sequence[tuple[str, str]] = (), public_key: bytes | None = None,
               ) -> Report:
        """Recompute everything against the stored leaves, every stored checkpoint and every
        trusted checkpoint: (source, text) of a checkpoint kept outside the database, a
        signed note or a JSON checkpoint. Signatures are checked with `public_key` (default:
        this log's)."""
        key = self.public_key if public_key is None else public_key
        report = Report()
        ordered: list[bytes] = []
        after = self._intact_prefix(report, ordered, progress)
        events, leaves = self._events(after), self._leaves(after)
        event, leaf = next(events, None), next(leaves, None)
        mismatched: dict[int, _Row] = {}
        stored: dict[int, bytes] = {}
        unreported = 0  # events checked since the last progress report
        while event is not None or leaf is not None:
            if leaf is None or (event is not None and event.position < leaf[0]):
                assert event is not None
                report.problems.append(Problem(
                    "inserted", event.position, "an event row has no audit leaf" if isinstance(
                        event, _Malformed) else
                    f"event {event.case_id} v{event.version} has no audit leaf"))
                if isinstance(event, _Malformed):
                    report.problems.append(Problem("malformed", event.position, event.reason))
                event = next(events, None)
            elif event is None or leaf[0] < event.position:
                report.problems.append(Problem(
                    "deleted", leaf[0], "the audit leaf has no event row: the row was deleted"))
                ordered.append(leaf[1])
                leaf = next(leaves, None)
            else:
                if isinstance(event, _Malformed):
                    report.problems.append(Problem("malformed", event.position, event.reason))
                elif len(leaf[1]) != merkle.HASH_SIZE:
                    report.problems.append(Problem(
                        "malformed", leaf[0], "the audit leaf is not a 32-byte hash"))
                elif merkle.leaf_hash_of(*event) != leaf[1]:
                    mismatched[event.position], stored[leaf[0]] = event, leaf[1]
                ordered.append(leaf[1])
                report.events_checked += 1
                unreported += 1
                if progress is not None and unreported == PROGRESS_STEP:
                    progress(unreported)
                    unreported = 0
                event, leaf = next(events, None), next(leaves, None)
        if progress is not None and unreported:
            progress(unreported)
        report.problems += self._explain(mismatched, stored)
        stored_checkpoints = self.checkpoints()
        report.problems += self._check_checkpoints(stored_checkpoints, ordered, report, key)
        report.problems += self._check_trusted(trusted, stored_checkpoints, ordered, report, key)
        report.problems.sort(key=lambda p: (p.position is None, p.position or 0, p.kind))
        return report

    def _intact_prefix(self, report: Report, ordered: list[bytes],
                       progress: Progress | None) -> int:
        """Check the log a page at a time while each page of events and the page of leaves
        beside it hold the same positions and every leaf is its event's: the common case,
        checked with list operations instead of a step per event. Returns the last position
        so checked (-1: none); `verify` goes on from there event by event, finding what
        differs."""
        after = -1
        raw = not self.events.sqlite  # typed columns: hash the rows as read
        events = self._event_pages(decoded=not raw)
        leaves = self._leaf_pages(decoded=not raw)
        try:
            for page in events:
                stored = next(leaves, [])
                if len(stored) != len(page):
                    break
                try:  # leaf_hash_of refuses what is not an event (TypeError, ValueError)
                    computed = [merkle.leaf_hash_of(*row) for row in (
                        page if raw else [e for e in page if type(e) is _Row])]
                except (TypeError, ValueError):
                    break
                leaves_now = [s[1] for s in stored]
                if computed != leaves_now or [e[0] for e in page] != [s[0] for s in stored]:
                    break
                ordered.extend(leaves_now)
                report.events_checked += len(page)
                if progress is not None:
                    progress(len(page))
                after = int(page[-1][0])
        finally:
            events.close()
            leaves.close()
        return after

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

    @staticmethod
    def _check_checkpoints(checkpoints: list[Checkpoint], ordered: list[bytes],
                           report: Report, public_key: bytes) -> list[Problem]:
        problems = []
        for checkpoint in checkpoints:
            report.checkpoint = checkpoint
            label = f"checkpoint of size {checkpoint.tree_size} ({checkpoint.issued_at})"
            if not merkle.verify_checkpoint(checkpoint, public_key):
                problems.append(Problem("checkpoint", None, f"{label}: bad signature"))
            elif checkpoint.tree_size > len(ordered):
                problems.append(Problem(
                    "checkpoint", None, f"{label}: the log has only {len(ordered)} leaves"))
            elif merkle.root(ordered[:checkpoint.tree_size]) != checkpoint.root:
                problems.append(Problem(
                    "checkpoint", None, f"{label}: the stored leaves no longer give its root; "
                    "the log was rewritten before this checkpoint"))
        return problems

    def _check_trusted(self, trusted: Sequence[tuple[str, str]],
                       checkpoints: list[Checkpoint], ordered: list[bytes], report: Report,
                       public_key: bytes) -> list[Problem]:
        """Is the stored tree an extension of each checkpoint kept outside the database?"""
        problems = []
        stored = {c.tree_size: c for c in checkpoints}
        for source, text in trusted:
            try:
                size, root = merkle.verified_tree_head(text, public_key, origin=self.origin)
            except ValueError as e:
                problems.append(Problem("trusted", None, f"{source}: not a checkpoint signed "
                                        f"by the log's key ({e})"))
                continue
            report.trusted_checked += 1
            label = f"{source} (size {size}, root {base64.b64encode(root).decode()})"
            if size > len(ordered):
                problems.append(Problem(
                    "trusted", None, f"{label}: the stored log has only {len(ordered)} leaves: "
                    f"it was cut back, {size - len(ordered)} leaves or more were deleted"))
                continue
            if merkle.root(ordered[:size]) != root:
                problems.append(Problem(
                    "trusted", None, f"{label}: the first {size} stored leaves give another "
                    "root: the log was rewritten before this checkpoint"))
                continue
            kept = stored.get(size)
            if kept is None:
                problems.append(Problem(
                    "trusted", None, f"{label}: the log still extends it, but the database "
                    "keeps no checkpoint of this size: checkpoint rows were deleted"))
            elif bytes(kept.root) != root:
                problems.append(Problem(
                    "trusted", None, f"{label}: the database's checkpoint of this size has "
                    "another root: it was replaced"))
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
        table = self.events.table
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(self.events.position.label("p"), table.c.originator_version.label("v"),
                          table.c.topic.label("t"), table.c.state.label("s"))
                .where(table.c.originator_id == self.events.case_key(case_id))
                .order_by(table.c.originator_version)).mappings().all()
        entries = []
        for r in rows:
            position = int(r["p"])
            index = index_of.get(position)
            state = r["s"]
            entries.append({
                "position": position, "case_id": case_id, "version": r["v"],
                "type": r["t"], "payload": base64.b64encode(bytes(state)).decode() if
                isinstance(state, bytes | bytearray | memoryview) else None,
                "leaf_index": index,
                "proof": None if index is None else
                [h.hex() for h in merkle.inclusion_proof(leaves, index)],
            })
        return entries

    def case_statement(self, case_id: str, checkpoint: Checkpoint,
                       entries: Sequence[dict[str, Any]]) -> CaseStatement:
        """Sign how many of the case's events (`case_proofs` entries) the checkpoint covers,
        so an export cut short no longer verifies (docs/audit.md says what this proves)."""
        covered = [e for e in entries if e["position"] <= checkpoint.last_position]
        last = covered[-1] if covered else {"version": 0, "position": 0}
        version = last["version"] if isinstance(last["version"], int) else 0  # malformed row
        return merkle.sign_case_statement(self.signing_key, self.key_id, case_id, checkpoint,
                                          len(covered), version, last["position"])

    def consistency_proof(self, old_size: int, new_size: int | None = None
                          ) -> ConsistencyProof:
        """A proof that the stored tree of `new_size` leaves (default: all) extends the one of
        `old_size`, for any 0 <= old_size <= new_size <= the stored tree's size. Raises
        SizeNotInLog beyond it and ValueError if old_size > new_size."""
        leaves = self.leaf_hashes()
        new = len(leaves) if new_size is None else new_size
        if new > len(leaves):
            raise SizeNotInLog(new, len(leaves))
        if not 0 <= old_size <= new:
            raise ValueError(f"old_size {old_size} must be between 0 and new_size {new}")
        del leaves[new:]
        return ConsistencyProof(old_size, new, merkle.root(leaves[:old_size]),
                                merkle.root(leaves), merkle.consistency_proof(leaves, old_size))
