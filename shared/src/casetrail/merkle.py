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

Checkpoint notes (c2sp.org/tlog-checkpoint over c2sp.org/signed-note)
--------------------------------------------------------------------
The same (tree size, root) is also published as a signed note that transparency tooling
(Go's golang.org/x/mod/sumdb/note, witnesses) verifies unchanged:

    <origin>\n                      e.g. casetrail.example/case-log
    <tree size, decimal>\n
    <base64 root>\n
    \n
    \u2014 <key name> <base64(key hash || Ed25519 signature over the three lines)>\n

The key name is the origin; key hash = SHA-256(key name || 0x0A || 0x01 || public key)[:4]
(0x01: the Ed25519 signature type). The verifier key is published as
`<name>+<key hash, 8 hex digits>+<base64(0x01 || public key)>`.

Export format (`verify-export`)
-------------------------------
JSON Lines: the first line is the checkpoint JSON with a `case_statement` (below), every
following line one event: {"position", "case_id", "version", "type", "payload" (base64),
"leaf_index", "proof" (hex list)}. A single JSON object {"checkpoint": {...},
"case_statement": {...}, "events": [...]}, as served by the case service's audit API, is
accepted too. The public key is never taken from the export.

A case statement, signed by the log's key, says how many events the case has in the
checkpoint's tree (`CaseStatement.message`):

    b"casetrail-case-statement/v1\n" + f"{case_id}\n{tree_size}\n{root.hex()}\n"
        f"{event_count}\n{last_version}\n{last_position}\n{key_id}\n".encode()

Without it an export with its last events cut off would look complete: inclusion proofs
show that each event shown is in the log, never that none is missing.

An export verifies (exit 0, VERIFIED) when the checkpoint and the statement are signed by
the key, every event the checkpoint covers (position <= its last_position) is included in
its tree exactly as exported, versions run 1, 2, 3... with rising positions, and the export
holds exactly the statement's events under the checkpoint. Events after the checkpoint
cannot be proven yet: the result is then PARTIAL (exit 3), never VERIFIED. Anything else is
NOT VERIFIED (exit 1).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import string
import struct
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
    "CASE_STATEMENT_HEADER",
    "CHECKPOINT_HEADER",
    "EMPTY_ROOT",
    "EXIT_NOT_VERIFIED",
    "EXIT_PARTIAL",
    "EXIT_VERIFIED",
    "HASH_SIZE",
    "CaseStatement",
    "Checkpoint",
    "HistoryCheck",
    "NoteError",
    "TreeHead",
    "check_case_history",
    "check_note_name",
    "checkpoint_note_text",
    "consistency_proof",
    "generate_signing_key",
    "inclusion_proof",
    "leaf_data",
    "leaf_hash",
    "main",
    "node_hash",
    "note_key_hash",
    "open_checkpoint_note",
    "open_note",
    "parse_checkpoint_text",
    "parse_public_key",
    "parse_verifier_key",
    "public_key_of",
    "root",
    "sign_case_statement",
    "sign_checkpoint",
    "sign_checkpoint_note",
    "sign_note",
    "verified_tree_head",
    "verifier_key",
    "verify_case_history",
    "verify_case_statement",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
CHECKPOINT_HEADER = b"casetrail-checkpoint/v1\n"
CASE_STATEMENT_HEADER = b"casetrail-case-statement/v1\n"
SIGNATURE_SIZE = 64
KEY_SIZE = 32
NOTE_SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space begin every signature line
ED25519_NOTE_TYPE = 0x01  # the signature type byte of Ed25519 note keys
NOTE_MAX_BYTES = 1_000_000  # as golang.org/x/mod/sumdb/note: a note is small

EXIT_VERIFIED, EXIT_NOT_VERIFIED, EXIT_PARTIAL = 0, 1, 3

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


_LEAF_HEAD = struct.Struct(">cQ16sIH")  # prefix, position, case id, version, type length
_LENGTH = struct.Struct(">I")


def leaf_hash_of(position: int, case_bytes: bytes, version: int, event_type: str,
                 payload: bytes) -> bytes:
    """`leaf_hash` of an event whose case id is given as its 16 bytes, for a verifier that
    hashes every event of the log; the same checks and the same hash."""
    if (type(position) is not int or type(version) is not int
            or type(case_bytes) is not bytes or len(case_bytes) != 16
            or type(payload) is not bytes or type(event_type) is not str
            or not 0 <= position < 1 << 64 or not 0 <= version < 1 << 32):
        return leaf_hash(position, uuid.UUID(bytes=bytes(case_bytes)), version, event_type,
                         payload)  # the checks and errors of the general path
    kind = event_type.encode("utf-8")
    if len(kind) >= 1 << 16 or len(payload) >= 1 << 32:
        return leaf_hash(position, uuid.UUID(bytes=case_bytes), version, event_type, payload)
    return hashlib.sha256(_LEAF_HEAD.pack(_LEAF_PREFIX, position, case_bytes, version,
                                          len(kind)) + kind + _LENGTH.pack(len(payload))
                          + payload).digest()


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


# ---------------------------------------------------------------------------- signed notes


class NoteError(ValueError):
    """A signed note, verifier key or checkpoint note that is malformed or does not verify."""


def check_note_name(name: object) -> str:
    """`name` if it is a valid note key name (non-empty, no spaces or controls, no '+')."""
    if not isinstance(name, str) or not name or "+" in name or any(
            c.isspace() or ord(c) < 0x20 or 0xD800 <= ord(c) <= 0xDFFF for c in name):
        raise NoteError(f"{name!r} is not a valid note key name: it must be non-empty, "
                        "without spaces, control characters or '+'")
    return name


def _public_key(public_key: object) -> bytes:
    if not isinstance(public_key, bytes | bytearray) or len(public_key) != KEY_SIZE:
        raise NoteError(f"an Ed25519 public key is {KEY_SIZE} bytes")
    return bytes(public_key)


def note_key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte hash that names a key in signature lines:
    SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    return hashlib.sha256(check_note_name(name).encode() + b"\n" + bytes([ED25519_NOTE_TYPE])
                          + _public_key(public_key)).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The note verifier key `<name>+<key hash hex>+<base64(0x01 || public key)>`."""
    key = bytes([ED25519_NOTE_TYPE]) + _public_key(public_key)
    return f"{name}+{note_key_hash(name, public_key).hex()}+{base64.b64encode(key).decode()}"


def _b64(text: str, what: str) -> bytes:
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise NoteError(f"{what} is not base64") from None
    if base64.b64encode(data).decode() != text:
        raise NoteError(f"{what} is not canonical base64")
    return data


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    """(name, raw Ed25519 public key) of a verifier key; NoteError if malformed."""
    parts = text.strip().split("+", 2) if isinstance(text, str) else []  # base64 has '+'s
    if len(parts) != 3:
        raise NoteError("a verifier key reads <name>+<key hash>+<base64 key>")
    name, hash_hex, key_b64 = parts
    check_note_name(name)
    key = _b64(key_b64, "the verifier key's key")
    if len(key) != 1 + KEY_SIZE or key[0] != ED25519_NOTE_TYPE:
        raise NoteError("the verifier key is not an Ed25519 key (type 0x01, 32 bytes)")
    if len(hash_hex) != 8 or not _HEX.issuperset(hash_hex) or bytes.fromhex(
            hash_hex) != note_key_hash(name, key[1:]):
        raise NoteError("the verifier key's hash does not match its name and key")
    return name, key[1:]


def parse_public_key(text: str) -> tuple[str | None, bytes]:
    """A key as given by a person: 64 hex digits (no name) or a verifier key (named)."""
    text = text.strip()
    if "+" in text:
        return parse_verifier_key(text)
    try:
        return None, _unhex(text.lower(), KEY_SIZE, "the public key")
    except ValueError as e:
        raise NoteError(f"{e}, or a verifier key <name>+<hash>+<key>") from None


def _has_control(text: str) -> bool:
    """Whether `text` holds what a note may not: a control character other than newline, or
    a lone surrogate (not UTF-8)."""
    return any((ord(c) < 0x20 and c != "\n") or 0xD800 <= ord(c) <= 0xDFFF for c in text)


def _check_note_text(text: object) -> str:
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteError("a note's text is lines each ending in a newline")
    if _has_control(text):
        raise NoteError("a note's text holds a control character")
    return text


def sign_note(text: str, name: str, private_key: bytes) -> str:
    """`text` signed as a note by the raw Ed25519 `private_key` under the key name `name`."""
    _check_note_text(text)
    key = Ed25519PrivateKey.from_private_bytes(bytes(private_key))
    signature = note_key_hash(name, public_key_of(private_key)) + key.sign(text.encode())
    return f"{text}\n{NOTE_SIGNATURE_PREFIX}{name} {base64.b64encode(signature).decode()}\n"


def open_note(note: str | bytes, name: str, public_key: bytes) -> str:
    """The text of a signed note that the key `name` (`public_key`) signed; NoteError if the
    note is malformed, has no signature by that key, or that signature does not verify.
    Signatures by other keys (a witness's cosignature) are allowed and ignored, as in Go's
    golang.org/x/mod/sumdb/note."""
    wanted = note_key_hash(name, public_key)
    if isinstance(note, bytes | bytearray):
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("the note is not UTF-8") from None
    if not isinstance(note, str) or len(note.encode("utf-8", "surrogatepass")) > NOTE_MAX_BYTES:
        raise NoteError("the note is not text of at most 1 MB")
    if _has_control(note):
        raise NoteError("the note holds a control character")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("the note has no blank line before its signatures")
    text, block = note[:split + 1], note[split + 2:]
    if not block.endswith("\n"):
        raise NoteError("the note's signature block does not end with a newline")
    verified = False
    for line in block[:-1].split("\n"):
        if not line.startswith(NOTE_SIGNATURE_PREFIX):
            raise NoteError(f"{line[:40]!r} is not a signature line ('\u2014 name signature')")
        signer, _, encoded = line[len(NOTE_SIGNATURE_PREFIX):].partition(" ")
        check_note_name(signer)
        signature = _b64(encoded, f"the signature of {signer}")
        if len(signature) < 5:
            raise NoteError(f"the signature of {signer} is too short")
        if signer != name or signature[:4] != wanted:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(
                signature[4:], text.encode())
        except (InvalidSignature, ValueError):
            raise NoteError(f"the signature of {name} does not verify: the note was altered "
                            "or signed by another key of that name") from None
        verified = True
    if not verified:
        raise NoteError(f"the note has no signature by the key {verifier_key(name, public_key)}")
    return text


@dataclass(frozen=True)
class TreeHead:
    """A checkpoint note's body: the log `origin` has `tree_size` leaves with root `root`."""

    origin: str
    tree_size: int
    root: bytes


def checkpoint_note_text(origin: str, tree_size: int, root: bytes) -> str:
    """The tlog-checkpoint body: origin, decimal tree size and base64 root, one per line."""
    check_note_name(origin)
    if not _is_count(tree_size) or tree_size >= 1 << 63:
        raise NoteError("the tree size must be an int from 0 to 2**63 - 1")
    if not _is_hash(root):
        raise NoteError(f"the root must be {HASH_SIZE} bytes")
    return f"{origin}\n{tree_size}\n{base64.b64encode(bytes(root)).decode()}\n"


def parse_checkpoint_text(text: str) -> TreeHead:
    """The origin, tree size and root of a tlog-checkpoint body; extension lines (non-empty)
    are allowed and ignored. NoteError if malformed."""
    lines = _check_note_text(text)[:-1].split("\n")
    if len(lines) < 3 or any(line == "" for line in lines):
        raise NoteError("a checkpoint is at least three non-empty lines: origin, size, root")
    origin, size, root_b64 = lines[:3]
    check_note_name(origin)
    if not size.isascii() or not size.isdigit() or size != str(int(size)) or int(
            size) >= 1 << 63:
        raise NoteError(f"the tree size {size[:30]!r} is not a decimal without leading zeros")
    root_hash = _b64(root_b64, "the root")
    if len(root_hash) != HASH_SIZE:
        raise NoteError(f"the root is not {HASH_SIZE} bytes")
    return TreeHead(origin, int(size), root_hash)


def sign_checkpoint_note(private_key: bytes, origin: str, tree_size: int, root: bytes) -> str:
    """A checkpoint note for (tree_size, root), signed under the key name `origin`."""
    return sign_note(checkpoint_note_text(origin, tree_size, root), origin, private_key)


def open_checkpoint_note(note: str | bytes, public_key: bytes, *, origin: str | None = None,
                         key_name: str | None = None) -> TreeHead:
    """The tree head of a checkpoint note signed by `public_key`; NoteError otherwise.

    The key's name defaults to `origin`, else to the note's own origin line (the signer's
    name in a tlog checkpoint is its origin). With `origin`, the note must be that log's.
    """
    if isinstance(note, bytes | bytearray):
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("the note is not UTF-8") from None
    name = key_name or origin or (note.split("\n", 1)[0] if isinstance(note, str) else "")
    head = parse_checkpoint_text(open_note(note, name, public_key))
    if origin is not None and head.origin != origin:
        raise NoteError(f"the checkpoint is of the log {head.origin!r}, not {origin!r}")
    return head


def verified_tree_head(text: str | bytes, public_key: bytes, *, origin: str | None = None
                       ) -> tuple[int, bytes]:
    """(tree size, root) of a checkpoint kept outside the log, signed by `public_key`: a
    checkpoint note, or a checkpoint in JSON (`Checkpoint.to_json`, extra keys allowed).
    NoteError/ValueError saying why if it is malformed or its signature does not verify."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("the checkpoint is not UTF-8") from None
    if text.lstrip().startswith("{"):
        checkpoint = Checkpoint.from_json(text)
        if not verify_checkpoint(checkpoint, public_key):
            raise NoteError("the checkpoint's signature does not verify with the public key: "
                            "it was altered or signed by another key")
        return checkpoint.tree_size, checkpoint.root
    head = open_checkpoint_note(text, public_key, origin=origin)
    return head.tree_size, head.root


# ---------------------------------------------------------------------------- case statements


@dataclass(frozen=True)
class CaseStatement:
    """A signed statement: in the tree of `tree_size` leaves with root `root`, the case has
    exactly `event_count` events, versions 1 to `last_version`, the last at `last_position`
    (0 when it has none yet)."""

    case_id: str
    tree_size: int
    root: bytes
    event_count: int
    last_version: int
    last_position: int
    key_id: str
    signature: bytes

    def message(self) -> bytes:
        """The canonical bytes that the Ed25519 signature covers."""
        return CASE_STATEMENT_HEADER + (
            f"{self.case_id}\n{self.tree_size}\n{bytes(self.root).hex()}\n{self.event_count}\n"
            f"{self.last_version}\n{self.last_position}\n{self.key_id}\n").encode()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, bytes as lowercase hex."""
        return {"case_id": self.case_id, "tree_size": self.tree_size,
                "root": bytes(self.root).hex(), "event_count": self.event_count,
                "last_version": self.last_version, "last_position": self.last_position,
                "key_id": self.key_id, "signature": bytes(self.signature).hex()}

    @classmethod
    def from_json(cls, data: object) -> CaseStatement:
        """Parse `to_json` output; ValueError if malformed."""
        if not isinstance(data, Mapping):
            raise ValueError("the case statement must be a JSON object")
        counts = ("tree_size", "event_count", "last_version", "last_position")
        missing = {"case_id", "root", "key_id", "signature", *counts} - set(data)
        if missing:
            raise ValueError(f"the case statement lacks {', '.join(sorted(missing))}")
        if not all(_is_count(data[k]) for k in counts):
            raise ValueError(f"the case statement's {', '.join(counts)} must be integers >= 0")
        if not _is_line(data["key_id"]):
            raise ValueError("the case statement's key_id must be a one-line string")
        try:
            case_id = str(uuid.UUID(data["case_id"]))
        except (ValueError, TypeError, AttributeError):
            raise ValueError("the case statement's case_id is not a UUID") from None
        return cls(case_id=case_id, tree_size=data["tree_size"],
                   root=_unhex(data["root"], HASH_SIZE, "the statement's root"),
                   event_count=data["event_count"], last_version=data["last_version"],
                   last_position=data["last_position"], key_id=data["key_id"],
                   signature=_unhex(data["signature"], SIGNATURE_SIZE,
                                    "the statement's signature"))


def sign_case_statement(private_key: bytes, key_id: str, case_id: str, checkpoint: Checkpoint,
                        event_count: int, last_version: int, last_position: int
                        ) -> CaseStatement:
    """Sign how many events a case has in a checkpoint's tree."""
    if not all(_is_count(v) for v in (event_count, last_version, last_position)):
        raise ValueError("event_count, last_version and last_position must be ints >= 0")
    if not _is_line(key_id) or not key_id:
        raise ValueError("key_id must be a non-empty one-line string")
    unsigned = CaseStatement(str(uuid.UUID(case_id)), checkpoint.tree_size,
                             bytes(checkpoint.root), event_count, last_version, last_position,
                             key_id, b"")
    key = Ed25519PrivateKey.from_private_bytes(bytes(private_key))
    return dataclasses.replace(unsigned, signature=key.sign(unsigned.message()))


def verify_case_statement(statement: CaseStatement, public_key: bytes) -> bool:
    """Whether the statement is signed by the raw Ed25519 `public_key`."""
    if not (isinstance(statement, CaseStatement) and isinstance(statement.signature, bytes)
            and len(statement.signature) == SIGNATURE_SIZE
            and isinstance(public_key, bytes | bytearray) and len(public_key) == KEY_SIZE):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(
            statement.signature, statement.message())
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


@dataclass(frozen=True)
class HistoryCheck:
    """What verifying one case's exported history found."""

    problems: list[str]
    verified: int  # events proven included in the checkpoint's tree
    unproven: int  # events after the checkpoint: no proof can exist yet
    checkpoint: Checkpoint | None = None
    statement: CaseStatement | None = None

    @property
    def exit_code(self) -> int:
        """EXIT_NOT_VERIFIED on any problem, else EXIT_PARTIAL if events are unproven, else
        EXIT_VERIFIED."""
        if self.problems:
            return EXIT_NOT_VERIFIED
        return EXIT_PARTIAL if self.unproven else EXIT_VERIFIED


def _statement_problems(statement: CaseStatement, checkpoint: Checkpoint, public_key: bytes,
                        case_ids: set[str], covered: list[tuple[int, int]]) -> list[str]:
    """Does the export hold exactly the events the signed statement says the checkpoint's
    tree has for the case? `covered`: (version, position) of the events under it."""
    problems = []
    if not verify_case_statement(statement, public_key):
        problems.append("case statement: the signature does not verify with the given public "
                        "key (the statement was altered or signed by another key)")
    if (statement.tree_size, bytes(statement.root)) != (checkpoint.tree_size,
                                                          bytes(checkpoint.root)):
        problems.append(f"case statement: it is about the tree of {statement.tree_size} "
                        f"leaves, not the export's checkpoint of {checkpoint.tree_size}")
    if case_ids and case_ids != {statement.case_id}:
        problems.append(f"case statement: it is about case {statement.case_id}, not "
                        f"{', '.join(sorted(case_ids))}")
    if statement.last_version != statement.event_count:
        problems.append(f"case statement: {statement.event_count} event(s) cannot end at "
                        f"version {statement.last_version}")
    if len(covered) < statement.event_count:
        problems.append(
            f"the export holds {len(covered)} of the {statement.event_count} event(s) the "
            "checkpoint covers for this case (signed statement): events were left out, or "
            "relabelled as after the checkpoint")
    elif len(covered) > statement.event_count:
        problems.append(f"the export holds {len(covered)} event(s) under the checkpoint, but "
                        f"the signed statement says the case has {statement.event_count}")
    elif covered and covered[-1] != (statement.last_version, statement.last_position):
        problems.append(
            f"the last event under the checkpoint is v{covered[-1][0]} at position "
            f"{covered[-1][1]}, but the signed statement says v{statement.last_version} at "
            f"position {statement.last_position}")
    return problems


def check_case_history(entries: Iterable[Mapping[str, Any]],
                       checkpoint: Checkpoint | Mapping[str, Any] | str, public_key: bytes,
                       statement: CaseStatement | Mapping[str, Any] | None = None
                       ) -> HistoryCheck:
    """Verify a case's exported events against a signed checkpoint and case statement.

    Problems: a checkpoint or statement not signed by `public_key`; an event the checkpoint
    covers (position <= its last_position) without a proof or not in its tree as exported;
    versions not running 1, 2, 3...; positions not rising with version; more than one case;
    and fewer or more events under the checkpoint than the signed statement says (without a
    statement completeness is unproven, which is a problem too). Events after the
    checkpoint are counted as unproven: the result is then partial, never verified.
    """
    problems: list[str] = []
    try:
        cp = checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint.from_json(
            checkpoint)
    except ValueError as e:
        return HistoryCheck([f"checkpoint: {e}"], 0, 0)
    if not verify_checkpoint(cp, public_key):
        problems.append("checkpoint: the signature does not verify with the given public key "
                        "(the checkpoint was altered or signed by another key)")
    said: CaseStatement | None = None
    if statement is None:
        problems.append("the export has no case statement: nothing signed says how many "
                        "events the case has under the checkpoint, so events cut off its end "
                        "would go unnoticed")
    else:
        try:
            said = statement if isinstance(statement, CaseStatement) else (
                CaseStatement.from_json(statement))
        except ValueError as e:
            problems.append(f"case statement: {e}")
    verified = unproven = 0
    case_ids: set[str] = set()
    covered: list[tuple[int, int]] = []
    previous: tuple[int, int] | None = None  # (version, position) of the entry before
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
        position: int = entry["position"]
        if previous is None and version != 1:
            problems.append(f"{where}: the history starts at version {version}, not 1: "
                            "earlier events are missing")
        elif previous is not None and version != previous[0] + 1:
            problems.append(f"{where}: version {version} follows version {previous[0]}: "
                            "events are missing, duplicated or out of order")
        if previous is not None and position <= previous[1]:
            problems.append(f"{where}: position {position} does not follow position "
                            f"{previous[1]} of the event before: positions rise with version "
                            "(an event was moved)")
        previous = (version, position)
        if position <= cp.last_position:
            covered.append((version, position))
        index, raw_proof = entry.get("leaf_index"), entry.get("proof")
        if index is None or raw_proof is None:
            if position <= cp.last_position:
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
    if said is not None:
        problems += _statement_problems(said, cp, public_key, case_ids, covered)
    return HistoryCheck(problems, verified, unproven, cp, said)


def verify_case_history(entries: Iterable[Mapping[str, Any]],
                        checkpoint: Checkpoint | Mapping[str, Any] | str,
                        public_key: bytes,
                        statement: CaseStatement | Mapping[str, Any] | None = None
                        ) -> list[str]:
    """Problems found verifying a case's exported events (`check_case_history`).

    An empty list means: the checkpoint and the case statement are signed by `public_key`,
    every event the checkpoint covers (position <= last_position) is included in its tree
    exactly as exported, the export holds one case with exactly the statement's events under
    the checkpoint, and its versions run 1, 2, 3... at rising positions. Events newer than
    the checkpoint (no proof, position > last_position) cannot be verified yet and are not
    problems: `check_case_history` counts them as unproven.
    """
    return check_case_history(entries, checkpoint, public_key, statement).problems


# ---------------------------------------------------------------------------- command line


def _read_export(path: str) -> tuple[Any, Any, list[Any]]:
    """(checkpoint, case statement or None, events) of an export file."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, Mapping) and "events" in whole:
        events = whole["events"]
        return (whole.get("checkpoint"), whole.get("case_statement"),
                events if isinstance(events, list) else [events])
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise ValueError("the file is empty")
    records = []
    for n, line in lines:
        try:
            records.append(json.loads(line))
        except ValueError as e:
            raise ValueError(f"line {n} is not JSON: {e}") from None
    head = records[0]
    statement = head.get("case_statement") if isinstance(head, Mapping) else None
    return head, statement, records[1:]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: `verify-export FILE.jsonl --public-key HEX`; returns the exit code:
    0 VERIFIED, 3 PARTIAL (events after the checkpoint unproven), 1 NOT VERIFIED."""
    parser = argparse.ArgumentParser(
        prog="python -m casetrail.merkle",
        description="Verify casetrail audit exports offline (RFC 6962 Merkle proofs). Exit "
                    "status: 0 verified, 3 partial (events after the checkpoint are not "
                    "proven yet), 1 not verified.")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser(
        "verify-export", help="verify a case history export against its signed checkpoint")
    export.add_argument("file", help="JSON Lines: the checkpoint, then one event per line")
    export.add_argument("--public-key", required=True,
                        help="the log's Ed25519 public key from a trusted source: 64 hex "
                             "digits, or its note verifier key <name>+<hash>+<key>")
    args = parser.parse_args(argv)

    try:
        public_key = parse_public_key(args.public_key)[1]
        checkpoint, statement, entries = _read_export(args.file)
    except (OSError, ValueError) as e:
        print(f"NOT VERIFIED: {e}")
        return EXIT_NOT_VERIFIED
    result = check_case_history(entries, checkpoint, public_key, statement)
    if result.problems:
        print(f"NOT VERIFIED: {len(result.problems)} problem(s) in {args.file}")
        for problem in result.problems:
            print(f"- {problem}")
        return EXIT_NOT_VERIFIED
    cp, said = result.checkpoint, result.statement
    if cp is None or said is None:  # cannot be: without problems both parsed and verified
        raise AssertionError("a history without problems has a checkpoint and a statement")
    proven = (f"{result.verified} event(s) included in the checkpoint of {cp.tree_size} "
              f"leaves, root {cp.root.hex()}, issued {cp.issued_at} by key {cp.key_id}; the "
              f"signed case statement says case {said.case_id} has exactly "
              f"{said.event_count} event(s) there, and the export holds all of them")
    if result.unproven:
        plural = "s" if result.unproven != 1 else ""
        print(f"PARTIAL ({result.unproven} event{plural} unproven): {proven}. "
              f"{result.unproven} event{plural} after the checkpoint (after position "
              f"{cp.last_position}) cannot be proven yet: verify again against a later "
              "checkpoint")
        return EXIT_PARTIAL
    print(f"VERIFIED: {proven}")
    return EXIT_VERIFIED


if __name__ == "__main__":
    sys.exit(main())
