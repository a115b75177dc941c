"""RFC 6962 Merkle tree, proofs and signed checkpoints for casetrail's tamper-evident event log.

STANDALONE FILE. This module imports only the Python standard library (3.11+) and
`cryptography` (Ed25519) and nothing else from casetrail, so an auditor can copy this single
file to an offline machine and verify an export without installing casetrail:

    pip install cryptography
    python merkle.py verify-export case.jsonl --public-key <64 hex digits>

(inside casetrail: `python -m casetrail.merkle verify-export ...`). Keep it that way: do not
add imports of other casetrail modules here.

Hashes (RFC 6962 §2.1, SHA-256)
-------------------------------
    leaf hash  = SHA-256(0x00 || leaf_data)
    node hash  = SHA-256(0x01 || left || right)
    empty tree = SHA-256("")

leaf_data of one stored event (all integers unsigned big-endian; see `leaf_data`):

    offset  size  field
    0       8     position       global log position of the event (0 <= position < 2**64)
    8       16    case_id        the 16 bytes of the case UUID (uuid.UUID(case_id).bytes)
    24      4     version        the case's event version (0 <= version < 2**32)
    28      2     len(type)      length L of the UTF-8 encoded event type (L < 2**16)
    30      L     type           event type (topic), UTF-8
    30+L    4     len(payload)   length P of the payload (P < 2**32)
    34+L    P     payload        the stored event bytes, exactly as stored

The tree's leaves are the leaf hashes in position order; `root` is MTH of RFC 6962 §2.1,
`inclusion_proof`/`consistency_proof` are PATH (§2.1.1) and PROOF (§2.1.2), and the verifiers
are the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2.

A root does not commit to the size of its tree (the same proof can check out for two sizes
whose trees have the same shape along the path), so trust a (size, root) pair only as signed
together in a checkpoint.

Checkpoints
-----------
A checkpoint signs (tree_size, root, last_position, issued_at, key_id) with Ed25519 over the
canonical message (`Checkpoint.message`):

    b"casetrail-checkpoint/v1\\n" + f"{tree_size}\\n{root.hex()}\\n{last_position}\\n"
                                   f"{issued_at}\\n{key_id}\\n".encode()

Keys are raw 32-byte Ed25519 keys. In JSON (`Checkpoint.to_json`), bytes are lowercase hex.

Export format (`verify-export`)
-------------------------------
JSON Lines: the first line is the checkpoint JSON, every following line one event:
{"position", "case_id", "version", "type", "payload" (base64), "leaf_index", "proof" (hex
list)}. A single JSON object {"checkpoint": {...}, "events": [...]}, as served by the case
service's audit API, is accepted too. The public key is never taken from the export.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import string
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

__all__ = [
    "CHECKPOINT_HEADER",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Checkpoint",
    "consistency_proof",
    "generate_signing_key",
    "inclusion_proof",
    "leaf_data",
    "leaf_hash",
    "main",
    "node_hash",
    "public_key_of",
    "root",
    "sign_checkpoint",
    "verify_case_history",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
CHECKPOINT_HEADER = b"casetrail-checkpoint/v1\n"
SIGNATURE_SIZE = 64
KEY_SIZE = 32

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_NODE_HASHER = hashlib.sha256(_NODE_PREFIX)  # copied per node: the fastest way in CPython
_HEX = frozenset(string.hexdigits)


# ---------------------------------------------------------------------------- hashing


def _uint(value: int, size: int, name: str) -> bytes:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value < 1 << (8 * size):
        raise ValueError(f"{name} {value} does not fit {size} unsigned bytes")
    return value.to_bytes(size, "big")


def leaf_data(position: int, case_id: str | uuid.UUID, version: int, event_type: str,
              payload: bytes) -> bytes:
    """The unambiguous leaf encoding of one event (format in the module docstring)."""
    case = case_id if isinstance(case_id, uuid.UUID) else uuid.UUID(case_id)
    if not isinstance(event_type, str):
        raise TypeError("event_type must be a str")
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError("payload must be bytes")
    kind, body = event_type.encode("utf-8"), bytes(payload)
    return b"".join((
        _uint(position, 8, "position"), case.bytes, _uint(version, 4, "version"),
        _uint(len(kind), 2, "event type length"), kind,
        _uint(len(body), 4, "payload length"), body,
    ))


def leaf_hash(position: int, case_id: str | uuid.UUID, version: int, event_type: str,
              payload: bytes) -> bytes:
    """RFC 6962 leaf hash SHA-256(0x00 || leaf_data(...)) of one stored event."""
    return hashlib.sha256(_LEAF_PREFIX + leaf_data(position, case_id, version, event_type,
                                                   payload)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash SHA-256(0x01 || left || right)."""
    hasher = _NODE_HASHER.copy()
    hasher.update(left)
    hasher.update(right)
    return hasher.digest()


def _next_level(level: Sequence[bytes]) -> list[bytes]:
    """Hash adjacent pairs; an unpaired last node moves up unchanged."""
    start = _NODE_HASHER.copy
    parents: list[bytes] = []
    append = parents.append
    pairs = iter(level)
    for left, right in zip(pairs, pairs, strict=False):
        hasher = start()
        hasher.update(left)
        hasher.update(right)
        append(hasher.digest())
    if len(level) % 2:
        append(bytes(level[-1]))
    return parents


def root(leaves: Sequence[bytes]) -> bytes:
    """Merkle Tree Hash (RFC 6962 §2.1) of a sequence of leaf hashes; SHA-256("") if empty.

    Computed level by level, carrying an unpaired last node up unchanged. That is the RFC's
    tree, which splits n leaves at the largest power of two k < n: k is even, so no pair
    straddles the split and each level is the next level of D[0:k] followed by that of
    D[k:n] (whose odd last node is the global last node). After log2(k) levels the left part
    is MTH(D[0:k]) and the right part (n - k <= k leaves, by induction) is MTH(D[k:n]), so the
    next level is node_hash of the two: MTH(D[0:n]).
    """
    if len(leaves) == 0:
        return EMPTY_ROOT
    level = leaves
    while len(level) > 1:
        level = _next_level(level)
    return bytes(level[0])


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_root(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    return root(leaves if (lo, hi) == (0, len(leaves)) else leaves[lo:hi])


# ---------------------------------------------------------------------------- proofs


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """RFC 6962 §2.1.1 audit path PATH(index, leaves), nearest sibling first."""
    n = len(leaves)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < n:
        raise ValueError(f"leaf index {index!r} is not in a tree of {n} leaves")
    siblings: list[bytes] = []  # outermost first
    lo, hi, m = 0, n, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            siblings.append(_range_root(leaves, lo + k, hi))
            hi = lo + k
        else:
            siblings.append(_range_root(leaves, lo, lo + k))
            lo, m = lo + k, m - k
    siblings.reverse()
    return siblings


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """RFC 6962 §2.1.2 PROOF(old_size, leaves); empty when old_size is 0 or len(leaves)."""
    n = len(leaves)
    if not isinstance(old_size, int) or isinstance(old_size, bool) or not 0 <= old_size <= n:
        raise ValueError(f"old size {old_size!r} is not between 0 and {n}")
    if old_size in (0, n):
        return []
    nodes: list[bytes] = []  # outermost first
    lo, hi, m, whole = 0, n, old_size, True  # SUBPROOF(m, D[lo:hi], whole)
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            nodes.append(_range_root(leaves, lo + k, hi))
            hi = lo + k
        else:
            nodes.append(_range_root(leaves, lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
        nodes.append(_range_root(leaves, lo, hi))
    nodes.reverse()
    return nodes


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


def _is_path(proof: object) -> bool:
    return (isinstance(proof, Sequence) and not isinstance(proof, str | bytes | bytearray)
            and all(_is_hash(p) for p in proof))


def _same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(bytes(a), bytes(b))


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: is leaf hash `leaf` at `index` of the tree of `size` with `root`?"""
    if not (_is_count(index) and _is_count(size) and index < size and _is_hash(leaf)
            and _is_hash(root) and _is_path(proof)):
        return False
    fn, sn, r = index, size - 1, bytes(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and _same(r, root)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does the tree (new_size, new_root) extend (old_size, old_root)?

    Equal sizes need equal roots and an empty proof; old_size 0 needs the empty tree's root
    (SHA-256 of "") and an empty proof (every tree extends the empty one).
    """
    if not (_is_count(old_size) and _is_count(new_size) and _is_hash(old_root)
            and _is_hash(new_root) and _is_path(proof)) or old_size > new_size:
        return False
    if old_size == new_size:
        return len(proof) == 0 and _same(old_root, new_root)
    if old_size == 0:
        return len(proof) == 0 and _same(old_root, EMPTY_ROOT)
    if len(proof) == 0:
        return False
    path = [bytes(p) for p in proof]
    if old_size & (old_size - 1) == 0:  # a power of two: the old tree is a subtree
        path.insert(0, bytes(old_root))
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and _same(fr, old_root) and _same(sr, new_root)


# ---------------------------------------------------------------------------- checkpoints


def _is_line(value: object) -> bool:
    return isinstance(value, str) and "\n" not in value and "\r" not in value


def _check_issued_at(issued_at: object) -> str:
    if not isinstance(issued_at, str) or not _is_line(issued_at):
        raise ValueError("issued_at must be a one-line ISO 8601 string")
    try:
        offset = datetime.fromisoformat(issued_at).utcoffset()
    except ValueError:
        raise ValueError(f"issued_at {issued_at!r} is not ISO 8601") from None
    if offset is None or offset.total_seconds() != 0:
        raise ValueError(f"issued_at {issued_at!r} is not in UTC")
    return issued_at


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the log's first `tree_size` leaves have Merkle root `root`."""

    tree_size: int
    root: bytes
    last_position: int  # log position of the last leaf in the tree (0 for an empty tree)
    issued_at: str  # ISO 8601, UTC
    key_id: str
    signature: bytes

    def message(self) -> bytes:
        """The canonical bytes that the Ed25519 signature covers."""
        return CHECKPOINT_HEADER + (
            f"{self.tree_size}\n{bytes(self.root).hex()}\n{self.last_position}\n"
            f"{self.issued_at}\n{self.key_id}\n").encode()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the checkpoint, bytes as lowercase hex."""
        return {"tree_size": self.tree_size, "root": bytes(self.root).hex(),
                "last_position": self.last_position, "issued_at": self.issued_at,
                "key_id": self.key_id, "signature": bytes(self.signature).hex()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes) -> Checkpoint:
        """Parse `to_json` output (a dict, or its JSON text); ValueError if malformed."""
        if isinstance(data, str | bytes | bytearray):
            try:
                data = json.loads(data)
            except (ValueError, UnicodeDecodeError) as e:
                raise ValueError(f"checkpoint is not JSON: {e}") from None
        if not isinstance(data, Mapping):
            raise ValueError("checkpoint JSON must be an object")
        missing = {"tree_size", "root", "last_position", "issued_at", "key_id",
                   "signature"} - set(data)
        if missing:
            raise ValueError(f"checkpoint lacks {', '.join(sorted(missing))}")
        tree_size, last_position = data["tree_size"], data["last_position"]
        if not _is_count(tree_size) or not isinstance(last_position, int) or isinstance(
                last_position, bool):
            raise ValueError("checkpoint tree_size and last_position must be integers")
        if not _is_line(data["issued_at"]) or not _is_line(data["key_id"]):
            raise ValueError("checkpoint issued_at and key_id must be one-line strings")
        return cls(tree_size=tree_size, root=_unhex(data["root"], HASH_SIZE, "root"),
                   last_position=last_position, issued_at=data["issued_at"],
                   key_id=data["key_id"],
                   signature=_unhex(data["signature"], SIGNATURE_SIZE, "signature"))


def _unhex(value: object, size: int | None, name: str) -> bytes:
    if isinstance(value, bytes) and (size is None or len(value) == size):
        return value
    if not isinstance(value, str) or not _HEX.issuperset(value) or len(value) % 2 or (
            size is not None and len(value) != 2 * size):
        expected = "hex" if size is None else f"{2 * size} hex digits"
        raise ValueError(f"{name} must be {expected}")
    return bytes.fromhex(value)


def generate_signing_key() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as raw bytes: (32-byte private key, 32-byte public key)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return private, public_key_of(private)


def public_key_of(private_key: bytes) -> bytes:
    """The raw 32-byte Ed25519 public key of a raw 32-byte private key."""
    key = Ed25519PrivateKey.from_private_bytes(bytes(private_key))
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign_checkpoint(private_key: bytes, key_id: str, tree_size: int, root: bytes,
                    last_position: int, issued_at: str | None = None) -> Checkpoint:
    """Sign (tree_size, root, last_position, issued_at, key_id); issued_at defaults to now."""
    if not _is_count(tree_size):
        raise ValueError("tree_size must be a non-negative int")
    if not _is_hash(root):
        raise ValueError(f"root must be {HASH_SIZE} bytes")
    if not isinstance(last_position, int) or isinstance(last_position, bool):
        raise ValueError("last_position must be an int")
    if not _is_line(key_id) or not key_id:
        raise ValueError("key_id must be a non-empty one-line string")
    issued = datetime.now(UTC).isoformat() if issued_at is None else issued_at
    unsigned = Checkpoint(tree_size, bytes(root), last_position, _check_issued_at(issued),
                          key_id, b"")
    key = Ed25519PrivateKey.from_private_bytes(bytes(private_key))
    return Checkpoint(tree_size, bytes(root), last_position, issued, key_id,
                      key.sign(unsigned.message()))


def verify_checkpoint(checkpoint: Checkpoint, public_key: bytes) -> bool:
    """Whether the checkpoint is well formed and signed by the raw Ed25519 `public_key`."""
    cp = checkpoint
    if not (isinstance(cp, Checkpoint) and _is_count(cp.tree_size) and _is_hash(cp.root)
            and isinstance(cp.last_position, int) and not isinstance(cp.last_position, bool)
            and _is_line(cp.issued_at) and _is_line(cp.key_id)
            and isinstance(cp.signature, bytes | bytearray)
            and len(cp.signature) == SIGNATURE_SIZE
            and isinstance(public_key, bytes | bytearray) and len(public_key) == KEY_SIZE):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(
            bytes(cp.signature), cp.message())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


# ---------------------------------------------------------------------------- exports


def _describe(entry: Mapping[str, Any], number: int) -> str:
    parts = [f"entry {number}"]
    if "version" in entry:
        parts.append(f"v{entry['version']!r}")
    if "position" in entry:
        parts.append(f"at position {entry['position']!r}")
    return " ".join(parts)


def _payload(value: object) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("payload is not valid base64") from None
    raise ValueError("payload must be bytes or a base64 string")


def _check_history(entries: Iterable[Mapping[str, Any]], checkpoint: Checkpoint | Mapping[
        str, Any] | str, public_key: bytes) -> tuple[list[str], int, int]:
    """(problems, entries verified, entries newer than the checkpoint and so unverified)."""
    problems: list[str] = []
    try:
        cp = checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint.from_json(
            checkpoint)
    except ValueError as e:
        return [f"checkpoint: {e}"], 0, 0
    if not verify_checkpoint(cp, public_key):
        problems.append("checkpoint: the signature does not verify with the given public key "
                        "(the checkpoint was altered or signed by another key)")
    verified = unproven = 0
    case_ids: set[str] = set()
    previous_version: int | None = None
    count = 0
    for count, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            problems.append(f"entry {count}: not a JSON object")
            continue
        where = _describe(entry, count)
        missing = {"position", "case_id", "version", "type", "payload"} - set(entry)
        if missing:
            problems.append(f"{where}: lacks {', '.join(sorted(missing))}")
            continue
        try:
            case_id = str(uuid.UUID(entry["case_id"]))
            leaf = leaf_hash(entry["position"], case_id, entry["version"], entry["type"],
                             _payload(entry["payload"]))
        except (ValueError, TypeError, AttributeError) as e:
            problems.append(f"{where}: malformed: {e}")
            continue
        case_ids.add(case_id)
        version: int = entry["version"]
        if previous_version is None and version != 1:
            problems.append(f"{where}: the history starts at version {version}, not 1: "
                            "earlier events are missing")
        elif previous_version is not None and version != previous_version + 1:
            problems.append(f"{where}: version {version} follows version {previous_version}: "
                            "events are missing, duplicated or out of order")
        previous_version = version
        index, raw_proof = entry.get("leaf_index"), entry.get("proof")
        if index is None or raw_proof is None:
            if entry["position"] <= cp.last_position:
                problems.append(f"{where}: no inclusion proof, but the checkpoint covers its "
                                f"position (up to {cp.last_position})")
            else:
                unproven += 1
            continue
        try:
            if not isinstance(raw_proof, list):
                raise ValueError("proof must be a list")
            proof = [_unhex(p, HASH_SIZE, "proof element") for p in raw_proof]
        except ValueError as e:
            problems.append(f"{where}: malformed proof: {e}")
            continue
        if verify_inclusion(leaf, index, cp.tree_size, proof, cp.root):
            verified += 1
        else:
            problems.append(
                f"{where}: the event as exported is not in the checkpoint's tree at leaf "
                f"{index!r} of {cp.tree_size}: its position, case, version, type or payload "
                "was altered, or the proof is wrong")
    if count == 0:
        problems.append("the export has no events")
    if len(case_ids) > 1:
        problems.append(f"the export mixes {len(case_ids)} cases: {', '.join(sorted(case_ids))}")
    return problems, verified, unproven


def verify_case_history(entries: Iterable[Mapping[str, Any]],
                        checkpoint: Checkpoint | Mapping[str, Any] | str,
                        public_key: bytes) -> list[str]:
    """Problems found verifying a case's exported events against a signed checkpoint.

    An empty list means: the checkpoint is signed by `public_key`, every event it covers
    (position <= last_position) is included in its tree exactly as exported, the export holds
    one case, and its versions run 1, 2, 3... without gaps. Events newer than the checkpoint
    (no proof, position > last_position) cannot be verified yet and are not problems.
    """
    return _check_history(entries, checkpoint, public_key)[0]


# ---------------------------------------------------------------------------- command line


def _read_export(path: str) -> tuple[Any, list[Any]]:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, Mapping) and "events" in whole:
        events = whole["events"]
        return whole.get("checkpoint"), events if isinstance(events, list) else [events]
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise ValueError("the file is empty")
    records = []
    for n, line in lines:
        try:
            records.append(json.loads(line))
        except ValueError as e:
            raise ValueError(f"line {n} is not JSON: {e}") from None
    return records[0], records[1:]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: `verify-export FILE.jsonl --public-key HEX`; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m casetrail.merkle",
        description="Verify casetrail audit exports offline (RFC 6962 Merkle proofs).")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser(
        "verify-export", help="verify a case history export against its signed checkpoint")
    export.add_argument("file", help="JSON Lines: the checkpoint, then one event per line")
    export.add_argument("--public-key", required=True,
                        help="the log's Ed25519 public key, 64 hex digits, from a trusted source")
    args = parser.parse_args(argv)

    try:
        public_key = _unhex(args.public_key.strip(), KEY_SIZE, "--public-key")
        checkpoint, entries = _read_export(args.file)
    except (OSError, ValueError) as e:
        print(f"NOT VERIFIED: {e}")
        return 1
    problems, verified, unproven = _check_history(entries, checkpoint, public_key)
    if problems:
        print(f"NOT VERIFIED: {len(problems)} problem(s) in {args.file}")
        for problem in problems:
            print(f"- {problem}")
        return 1
    cp = Checkpoint.from_json(checkpoint) if not isinstance(checkpoint, Checkpoint) else (
        checkpoint)
    print(f"VERIFIED: {verified} event(s) included in the checkpoint of {cp.tree_size} "
          f"leaves, root {cp.root.hex()}, issued {cp.issued_at} by key {cp.key_id}")
    if unproven:
        print(f"note: {unproven} event(s) newer than the checkpoint (after position "
              f"{cp.last_position}) have no proof yet and were not verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
