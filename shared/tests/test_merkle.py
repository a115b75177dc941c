"""The tamper-evident log's Merkle tree (RFC 6962), its proofs, checkpoints and offline audit."""

from __future__ import annotations

import ast
import base64
import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from casetrail import merkle
from casetrail.merkle import (
    EMPTY_ROOT,
    Checkpoint,
    consistency_proof,
    generate_signing_key,
    inclusion_proof,
    leaf_hash,
    node_hash,
    public_key_of,
    root,
    sign_checkpoint,
    verify_case_history,
    verify_checkpoint,
    verify_consistency,
    verify_inclusion,
)
from hypothesis import given, settings
from hypothesis import strategies as st

CASE = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
OTHER_CASE = "00000000-0000-4000-8000-000000000001"
ISSUED_AT = "2025-01-02T03:04:05+00:00"
PRIVATE_KEY = bytes(range(32))
PUBLIC_KEY = public_key_of(PRIVATE_KEY)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


POOL = [leaf_hash(i, CASE, i + 1, "CaseOpened", i.to_bytes(4, "big")) for i in range(2048)]


def leaves(n: int) -> list[bytes]:
    return POOL[:n]


# ------------------------------------------------------------- the RFC 6962 definitions


def split(n: int) -> int:
    """Largest power of two smaller than n, by counting."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, recursively, over leaf hashes."""
    if not d:
        return sha256(b"")
    if len(d) == 1:
        return d[0]
    k = split(len(d))
    return sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(m, D[n])."""
    if len(d) == 1:
        return []
    k = split(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """RFC 6962 §2.1.2 SUBPROOF(m, D[n], b)."""
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = split(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def path_shape(m: int, n: int) -> tuple[str, ...]:
    """Which side each sibling of PATH(m, D[n]) joins on: the whole of what a verifier does."""
    if n == 1:
        return ()
    k = split(n)
    if m < k:
        return (*path_shape(m, k), "right")
    return (*path_shape(m - k, n - k), "left")


def proof_shape(m: int, n: int) -> tuple[Any, Any]:
    """How PROOF(m, D[n])'s elements (and the old root) combine into the old and new roots."""
    count = 0

    def sub(m: int, n: int, b: bool) -> tuple[Any, Any]:
        nonlocal count
        if m == n:
            if b:
                return "OLD", "OLD"
            count += 1
            return count - 1, count - 1
        k = split(n)
        if m <= k:
            old, new = sub(m, k, b)
            count += 1
            return old, (new, count - 1)
        old, new = sub(m - k, n - k, False)
        count += 1
        return (count - 1, old), (count - 1, new)

    return sub(m, n, True)


def flip(data: bytes, byte: int, bit: int) -> bytes:
    changed = bytearray(data)
    changed[byte] ^= 1 << bit
    return bytes(changed)


def every_bit_flip(data: bytes) -> list[bytes]:
    return [flip(data, i, bit) for i in range(len(data)) for bit in range(8)]


# ------------------------------------------------------------- leaf encoding, roots


def test_leaf_hash_is_sha256_of_zero_byte_and_the_documented_encoding() -> None:
    leaf_data = (
        (7).to_bytes(8, "big")
        + bytes.fromhex("6f1c2a9e3b4d4e5f8a7b9c0d1e2f3a4b")
        + (3).to_bytes(4, "big")
        + b"\x00\x0aCaseOpened"
        + b"\x00\x00\x00\x0d" + b'{"amount": 1}'
    )
    assert merkle.leaf_data(7, CASE, 3, "CaseOpened", b'{"amount": 1}') == leaf_data
    assert leaf_hash(7, CASE, 3, "CaseOpened", b'{"amount": 1}') == sha256(b"\x00" + leaf_data)


def test_leaf_hash_known_answer_pins_the_encoding_for_reimplementers() -> None:
    assert leaf_hash(0, "00000000-0000-0000-0000-000000000000", 1, "Opened", b"{}").hex() == (
        sha256(b"\x00" + bytes(8) + bytes(16) + b"\x00\x00\x00\x01" + b"\x00\x06Opened"
               + b"\x00\x00\x00\x02{}").hex())
    assert leaf_hash(0, "00000000-0000-0000-0000-000000000000", 1, "Opened", b"{}").hex() == (
        "602514782f9023bf0fa5b0b83b0a72f226c5471af4b5eea427645569eb301a2f")


def test_leaf_hash_encodes_non_ascii_types_and_long_payloads_by_byte_length() -> None:
    payload = bytes(300)
    expected = sha256(b"\x00" + (2**64 - 1).to_bytes(8, "big") + bytes.fromhex(CASE.replace(
        "-", "")) + (2**32 - 1).to_bytes(4, "big") + b"\x00\x06" + "Zahlé".encode()
        + b"\x00\x00\x01\x2c" + payload)
    assert leaf_hash(2**64 - 1, CASE, 2**32 - 1, "Zahlé", payload) == expected


def test_leaf_hash_fields_cannot_be_shifted_into_each_other() -> None:
    assert leaf_hash(1, CASE, 1, "ab", b"c") != leaf_hash(1, CASE, 1, "a", b"bc")
    assert leaf_hash(1, CASE, 1, "a", b"") != leaf_hash(1, CASE, 1, "", b"a")


def test_leaf_hash_reads_any_spelling_of_the_same_case_uuid() -> None:
    spellings = [CASE, CASE.upper(), CASE.replace("-", ""), f"{{{CASE}}}", f"urn:uuid:{CASE}"]
    assert len({leaf_hash(1, s, 1, "T", b"") for s in spellings}) == 1


@pytest.mark.parametrize(("position", "case_id", "version", "event_type"), [
    (-1, CASE, 1, "T"), (2**64, CASE, 1, "T"), (0, CASE, -1, "T"), (0, CASE, 2**32, "T"),
    (0, "not-a-uuid", 1, "T"), (0, CASE, 1, "x" * 65536),
])
def test_leaf_hash_refuses_values_that_do_not_fit_the_encoding(
        position: int, case_id: str, version: int, event_type: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        leaf_hash(position, case_id, version, event_type, b"")


@settings(max_examples=300, deadline=None)
@given(position=st.integers(-2, 2**64 + 2), case=st.uuids(), version=st.integers(-2, 2**32 + 2),
       event_type=st.text(max_size=40), payload=st.binary(max_size=600))
def test_the_verifiers_leaf_hash_from_case_bytes_is_leaf_hash(
        position: int, case: Any, version: int, event_type: str, payload: bytes) -> None:
    try:
        expected: bytes | type[Exception] = leaf_hash(position, case, version, event_type,
                                                      payload)
    except (ValueError, TypeError) as exc:
        expected = type(exc)
    try:
        got: bytes | type[Exception] = merkle.leaf_hash_of(position, case.bytes, version,
                                                           event_type, payload)
    except (ValueError, TypeError) as exc:
        got = type(exc)
    assert got == expected


@pytest.mark.parametrize(("position", "version", "event_type", "payload"), [
    (True, 1, "T", b""), (0, True, "T", b""), (0, 1, b"T", b""), (0, 1, "T", "text"),
    (0, 1, "x" * 65536, b""),
])
def test_the_verifiers_leaf_hash_refuses_what_leaf_hash_refuses(
        position: Any, version: Any, event_type: Any, payload: Any) -> None:
    with pytest.raises((TypeError, ValueError)) as general:
        leaf_hash(position, CASE, version, event_type, payload)
    with pytest.raises(general.type):
        merkle.leaf_hash_of(position, uuid.UUID(CASE).bytes, version, event_type, payload)


def test_node_hash_is_sha256_of_one_byte_left_and_right() -> None:
    assert node_hash(b"L" * 32, b"R" * 32) == sha256(b"\x01" + b"L" * 32 + b"R" * 32)


def test_known_roots_computed_by_hand() -> None:
    d = leaves(5)

    def h(a: bytes, b: bytes) -> bytes:
        return sha256(b"\x01" + a + b)

    assert root([]) == EMPTY_ROOT == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert root(d[:1]) == d[0]
    assert root(d[:2]) == h(d[0], d[1])
    assert root(d[:3]) == h(h(d[0], d[1]), d[2])
    assert root(d[:4]) == h(h(d[0], d[1]), h(d[2], d[3]))
    assert root(d[:5]) == h(h(h(d[0], d[1]), h(d[2], d[3])), d[4])


def test_known_root_of_three_event_leaves_for_reimplementers() -> None:
    three = [leaf_hash(p, "00000000-0000-0000-0000-000000000000", p, "Opened", b"{}")
             for p in (1, 2, 3)]
    assert root(three).hex() == (
        "b1125963bb6004b40e9794208508b368088e6a81ed713481eee0b906f0ccf7dc")


@pytest.mark.parametrize("n", range(71))
def test_root_equals_the_recursive_rfc6962_definition(n: int) -> None:
    assert root(leaves(n)) == ref_mth(leaves(n))


def test_root_accepts_any_sequence_and_returns_bytes() -> None:
    assert root(tuple(leaves(9))) == root(leaves(9))
    assert type(root([bytearray(POOL[0])])) is bytes


def test_root_of_200000_leaves_completes_and_splits_at_the_largest_power_of_two() -> None:
    many = [sha256(i.to_bytes(4, "big")) for i in range(200_000)]
    assert root(many) == node_hash(root(many[:131_072]), root(many[131_072:]))


# ------------------------------------------------------------- inclusion proofs


@pytest.mark.parametrize("n", range(1, 41))
def test_every_inclusion_proof_is_the_rfc_path_and_verifies(n: int) -> None:
    d, r = leaves(n), root(leaves(n))
    for i in range(n):
        proof = inclusion_proof(d, i)
        assert proof == ref_path(i, d)
        assert verify_inclusion(d[i], i, n, proof, r)


@pytest.mark.parametrize("index", [-1, 5, 6, True, 1.0, None])
def test_no_inclusion_proof_for_an_index_outside_the_tree(index: Any) -> None:
    with pytest.raises(ValueError, match="leaf index"):
        inclusion_proof(leaves(5), index)


INCLUSION_CASES = [(n, i) for n in range(1, 10) for i in range(n)] + [
    (n, i) for n in (13, 16, 17, 31, 32, 33) for i in sorted({0, 1, n // 2, n - 2, n - 1})]


@pytest.mark.parametrize(("n", "i"), INCLUSION_CASES)
def test_inclusion_rejects_any_flipped_bit_in_proof_leaf_or_root(n: int, i: int) -> None:
    d, r = leaves(n), root(leaves(n))
    proof = inclusion_proof(d, i)
    for j, element in enumerate(proof):
        for bad in every_bit_flip(element):
            assert not verify_inclusion(d[i], i, n, [*proof[:j], bad, *proof[j + 1:]], r)
    assert not any(verify_inclusion(bad, i, n, proof, r) for bad in every_bit_flip(d[i]))
    assert not any(verify_inclusion(d[i], i, n, proof, bad) for bad in every_bit_flip(r))


@pytest.mark.parametrize(("n", "i"), INCLUSION_CASES)
def test_inclusion_rejects_truncated_extended_and_reordered_paths(n: int, i: int) -> None:
    d, r = leaves(n), root(leaves(n))
    proof = inclusion_proof(d, i)
    for extra in (POOL[-1], r, d[i], *proof[-1:]):
        assert not verify_inclusion(d[i], i, n, [*proof, extra], r)
        assert not verify_inclusion(d[i], i, n, [extra, *proof], r)
    if proof:
        assert not verify_inclusion(d[i], i, n, proof[:-1], r)
        assert not verify_inclusion(d[i], i, n, proof[1:], r)
        assert not verify_inclusion(d[i], i, n, [], r)
    if len(set(proof)) > 1:
        assert not verify_inclusion(d[i], i, n, proof[::-1], r)
    if i + 1 < n:
        assert not verify_inclusion(d[i + 1], i, n, proof, r)
        assert not verify_inclusion(d[i], i + 1, n, proof, r)


@pytest.mark.parametrize(("n", "i"), INCLUSION_CASES)
def test_inclusion_under_a_wrong_tree_size_verifies_only_if_the_path_has_the_same_shape(
        n: int, i: int) -> None:
    d, r = leaves(n), root(leaves(n))
    proof = inclusion_proof(d, i)
    for size in (n - 1, n + 1, n + 2, 2 * n):
        same_shape = i < size and path_shape(i, size) == path_shape(i, n)
        assert verify_inclusion(d[i], i, size, proof, r) == same_shape


def test_a_root_does_not_commit_to_the_tree_size_which_is_why_checkpoints_sign_it() -> None:
    d = leaves(5)
    assert verify_inclusion(d[0], 0, 6, inclusion_proof(d, 0), root(d))
    checkpoint = sign_checkpoint(PRIVATE_KEY, "k1", 5, root(d), 5, ISSUED_AT)
    assert not verify_checkpoint(dataclasses.replace(checkpoint, tree_size=6), PUBLIC_KEY)


@pytest.mark.parametrize(("index", "size"), [
    (5, 5), (6, 5), (0, 0), (-1, 5), (0, -1), (True, 5), (0, True), (1.0, 5), (None, 5),
    ("0", 5),
])
def test_inclusion_rejects_impossible_indices_and_sizes(index: Any, size: Any) -> None:
    d, r = leaves(5), root(leaves(5))
    assert not verify_inclusion(d[0], index, size, inclusion_proof(d, 0), r)


def test_inclusion_rejects_malformed_hashes_and_paths_without_raising() -> None:
    d, r = leaves(7), root(leaves(7))
    proof = inclusion_proof(d, 3)
    malformed_paths: list[Any] = [
        [*proof[:-1], proof[-1] + b"\x00"], [*proof[:-1], proof[-1][:31]], [*proof[:-1], b""],
        [p.hex() for p in proof], [*proof[:-1], None], b"".join(proof), "", None, 7,
        iter(proof),
    ]
    for bad in malformed_paths:
        assert not verify_inclusion(d[3], 3, 7, bad, r)
    for bad_hash in (d[3] + b"\x00", d[3][:31], b"", d[3].hex(), None):
        assert not verify_inclusion(bad_hash, 3, 7, proof, r)
        assert not verify_inclusion(d[3], 3, 7, proof, bad_hash)


def test_inclusion_accepts_tuples_and_bytearrays() -> None:
    d, r = leaves(7), root(leaves(7))
    proof = tuple(bytearray(p) for p in inclusion_proof(d, 6))
    assert verify_inclusion(bytearray(d[6]), 6, 7, proof, bytearray(r))


# ------------------------------------------------------------- consistency proofs


@pytest.mark.parametrize("n", range(1, 41))
def test_every_consistency_proof_is_the_rfc_proof_and_verifies(n: int) -> None:
    d, new = leaves(n), root(leaves(n))
    for m in range(1, n + 1):
        proof = consistency_proof(d, m)
        assert proof == (ref_subproof(m, d, True) if m < n else [])
        assert verify_consistency(m, n, root(d[:m]), new, proof)


def test_every_tree_extends_the_empty_tree_with_an_empty_proof() -> None:
    for n in range(41):
        assert consistency_proof(leaves(n), 0) == []
        assert verify_consistency(0, n, EMPTY_ROOT, root(leaves(n)), [])
    assert not verify_consistency(0, 3, EMPTY_ROOT, root(leaves(3)), [POOL[0]])
    assert not verify_consistency(0, 3, POOL[0], root(leaves(3)), [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, POOL[0], [])


def test_equal_sizes_are_consistent_only_with_equal_roots_and_an_empty_proof() -> None:
    r = root(leaves(6))
    assert verify_consistency(6, 6, r, r, [])
    assert not verify_consistency(6, 6, r, root(leaves(5)), [])
    assert not verify_consistency(6, 6, r, r, [r])


@pytest.mark.parametrize("old_size", [-1, 6, True, 1.5, None])
def test_no_consistency_proof_for_an_old_size_outside_the_tree(old_size: Any) -> None:
    with pytest.raises(ValueError, match="old size"):
        consistency_proof(leaves(5), old_size)


CONSISTENCY_CASES = [(m, n) for n in range(2, 10) for m in range(1, n)] + [
    (m, n) for n in (13, 16, 17, 31, 32, 33) for m in sorted({1, 2, n // 2, 8, n - 1})]


@pytest.mark.parametrize(("m", "n"), CONSISTENCY_CASES)
def test_consistency_rejects_any_flipped_bit_in_proof_or_roots(m: int, n: int) -> None:
    d = leaves(n)
    old, new = root(d[:m]), root(d)
    proof = consistency_proof(d, m)
    for j, element in enumerate(proof):
        for bad in every_bit_flip(element):
            assert not verify_consistency(m, n, old, new, [*proof[:j], bad, *proof[j + 1:]])
    assert not any(verify_consistency(m, n, bad, new, proof) for bad in every_bit_flip(old))
    assert not any(verify_consistency(m, n, old, bad, proof) for bad in every_bit_flip(new))


@pytest.mark.parametrize(("m", "n"), CONSISTENCY_CASES)
def test_consistency_rejects_truncated_extended_and_swapped_proofs(m: int, n: int) -> None:
    d = leaves(n)
    old, new = root(d[:m]), root(d)
    proof = consistency_proof(d, m)
    for extra in (POOL[-1], old, new, proof[-1], proof[0]):
        assert not verify_consistency(m, n, old, new, [*proof, extra])
        assert not verify_consistency(m, n, old, new, [extra, *proof])
    assert not verify_consistency(m, n, old, new, proof[:-1])
    assert not verify_consistency(m, n, old, new, proof[1:])
    assert not verify_consistency(m, n, old, new, [])
    if len(set(proof)) > 1:
        assert not verify_consistency(m, n, old, new, proof[::-1])
    assert not verify_consistency(m, n, new, old, proof)
    assert not verify_consistency(n, m, new, old, proof)
    assert not verify_consistency(n, m, old, new, proof)


@pytest.mark.parametrize(("m", "n"), CONSISTENCY_CASES)
def test_consistency_under_wrong_sizes_verifies_only_if_the_proof_has_the_same_shape(
        m: int, n: int) -> None:
    d = leaves(n)
    old, new = root(d[:m]), root(d)
    proof = consistency_proof(d, m)
    for m2, n2 in ((m - 1, n), (m + 1, n), (m, n - 1), (m, n + 1), (m + 1, n + 1),
                   (m - 1, n - 1), (2 * m, 2 * n)):
        same_shape = 0 < m2 <= n2 and proof_shape(m2, n2) == proof_shape(m, n)
        assert verify_consistency(m2, n2, old, new, proof) == same_shape, (m2, n2)


def test_a_power_of_two_old_tree_is_not_repeated_in_the_proof() -> None:
    d = leaves(11)
    proof = consistency_proof(d, 8)
    assert proof == [root(d[8:])]
    assert not verify_consistency(8, 11, root(d[:8]), root(d), [root(d[:8]), *proof])


def test_consistency_rejects_malformed_input_without_raising() -> None:
    d = leaves(7)
    old, new = root(d[:3]), root(d)
    proof = consistency_proof(d, 3)
    malformed_paths: list[Any] = [
        [*proof[:-1], proof[-1] + b"\x00"], [*proof[:-1], proof[-1][:31]],
        [p.hex() for p in proof], [*proof[:-1], None], b"".join(proof), "", None, 3,
    ]
    for bad in malformed_paths:
        assert not verify_consistency(3, 7, old, new, bad)
    for bad_hash in (old + b"\x00", old[:31], b"", old.hex(), None):
        assert not verify_consistency(3, 7, bad_hash, new, proof)
        assert not verify_consistency(3, 7, old, bad_hash, proof)
    for m2, n2 in ((-1, 7), (3, -1), (True, 7), (3.0, 7), (None, 7), (3, "7"), (8, 7)):
        assert not verify_consistency(m2, n2, old, new, proof)  # type: ignore[arg-type]


# ------------------------------------------------------------- properties


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_property_inclusion_proofs_verify_and_no_single_bit_flip_passes(data: st.DataObject
                                                                        ) -> None:
    n = data.draw(st.integers(1, len(POOL)), label="size")
    i = data.draw(st.integers(0, n - 1), label="index")
    d = leaves(n)
    r = root(d)
    proof = inclusion_proof(d, i)
    assert verify_inclusion(d[i], i, n, proof, r)
    if proof:
        j = data.draw(st.integers(0, len(proof) - 1), label="element")
        byte, bit = data.draw(st.integers(0, 31), label="byte"), data.draw(st.integers(0, 7))
        tampered = [*proof[:j], flip(proof[j], byte, bit), *proof[j + 1:]]
        assert not verify_inclusion(d[i], i, n, tampered, r)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_property_consistency_proofs_verify_and_no_single_bit_flip_passes(
        data: st.DataObject) -> None:
    n = data.draw(st.integers(2, len(POOL)), label="new size")
    m = data.draw(st.integers(1, n - 1), label="old size")
    d = leaves(n)
    old, new = root(d[:m]), root(d)
    proof = consistency_proof(d, m)
    assert verify_consistency(m, n, old, new, proof)
    j = data.draw(st.integers(0, len(proof) - 1), label="element")
    byte, bit = data.draw(st.integers(0, 31), label="byte"), data.draw(st.integers(0, 7))
    tampered = [*proof[:j], flip(proof[j], byte, bit), *proof[j + 1:]]
    assert not verify_consistency(m, n, old, new, tampered)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), max_size=300))
def test_property_root_equals_the_recursive_definition_for_any_leaves(d: list[bytes]) -> None:
    assert root(d) == ref_mth(d)


# ------------------------------------------------------------- checkpoints


@pytest.fixture
def checkpoint() -> Checkpoint:
    return sign_checkpoint(PRIVATE_KEY, "audit-1", 5, root(leaves(5)), 42, ISSUED_AT)


def test_a_signed_checkpoint_verifies_with_its_public_key(checkpoint: Checkpoint) -> None:
    assert verify_checkpoint(checkpoint, PUBLIC_KEY)
    assert (checkpoint.tree_size, checkpoint.root, checkpoint.last_position) == (
        5, root(leaves(5)), 42)
    assert len(checkpoint.signature) == 64


def test_the_checkpoint_message_is_the_documented_canonical_text(checkpoint: Checkpoint
                                                                 ) -> None:
    assert checkpoint.message() == (
        b"casetrail-checkpoint/v1\n5\n" + root(leaves(5)).hex().encode()
        + b"\n42\n2025-01-02T03:04:05+00:00\naudit-1\n")


@pytest.mark.parametrize("change", [
    {"tree_size": 6}, {"tree_size": 4}, {"root": root(leaves(6))},
    {"root": flip(root(leaves(5)), 31, 0)}, {"last_position": 43},
    {"issued_at": "2025-01-02T03:04:06+00:00"}, {"key_id": "audit-2"},
])
def test_a_checkpoint_with_a_tampered_field_fails(checkpoint: Checkpoint,
                                                 change: dict[str, Any]) -> None:
    assert not verify_checkpoint(dataclasses.replace(checkpoint, **change), PUBLIC_KEY)


def test_a_checkpoint_fails_with_a_flipped_signature_bit(checkpoint: Checkpoint) -> None:
    for bad in every_bit_flip(checkpoint.signature):
        assert not verify_checkpoint(dataclasses.replace(checkpoint, signature=bad), PUBLIC_KEY)


def test_a_checkpoint_fails_with_another_or_a_malformed_public_key(checkpoint: Checkpoint
                                                                   ) -> None:
    _, other_public = generate_signing_key()
    for key in (other_public, PUBLIC_KEY[:31], PUBLIC_KEY + b"\x00", b"", PUBLIC_KEY.hex(),
                bytes(32), b"\xff" * 32, None):
        assert not verify_checkpoint(checkpoint, key)  # type: ignore[arg-type]


def test_a_malformed_checkpoint_fails_without_raising(checkpoint: Checkpoint) -> None:
    for change in ({"signature": b""}, {"signature": checkpoint.signature.hex()},
                   {"root": checkpoint.root.hex()}, {"tree_size": -1}, {"tree_size": True},
                   {"key_id": "audit-1\n5"}, {"issued_at": None}):
        assert not verify_checkpoint(dataclasses.replace(checkpoint, **change), PUBLIC_KEY)
    assert not verify_checkpoint(checkpoint.to_json(), PUBLIC_KEY)  # type: ignore[arg-type]


def test_a_checkpoint_round_trips_through_json(checkpoint: Checkpoint) -> None:
    as_json = checkpoint.to_json()
    assert as_json["root"] == checkpoint.root.hex()
    assert as_json["signature"] == checkpoint.signature.hex()
    assert Checkpoint.from_json(as_json) == checkpoint
    assert Checkpoint.from_json(json.dumps(as_json)) == checkpoint
    assert verify_checkpoint(Checkpoint.from_json(json.dumps(as_json).encode()), PUBLIC_KEY)


@pytest.mark.parametrize("change", [
    {"root": "00"}, {"root": "zz" * 32}, {"signature": "ab" * 63}, {"tree_size": "5"},
    {"tree_size": -1}, {"last_position": None}, {"key_id": 1}, {"issued_at": "a\nb"},
    {"root": None},
])
def test_malformed_checkpoint_json_is_refused(checkpoint: Checkpoint,
                                             change: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"checkpoint|root|signature"):
        Checkpoint.from_json({**checkpoint.to_json(), **change})


def test_checkpoint_json_missing_a_field_or_not_an_object_is_refused(checkpoint: Checkpoint
                                                                     ) -> None:
    incomplete = {k: v for k, v in checkpoint.to_json().items() if k != "key_id"}
    with pytest.raises(ValueError, match="lacks key_id"):
        Checkpoint.from_json(incomplete)
    for text in ("[]", "not json", "5"):
        with pytest.raises(ValueError, match="checkpoint"):
            Checkpoint.from_json(text)


@pytest.mark.parametrize(("args", "message"), [
    ({"issued_at": "2025-01-02T03:04:05+01:00"}, "UTC"),
    ({"issued_at": "2025-01-02T03:04:05"}, "UTC"),
    ({"issued_at": "yesterday"}, "ISO"),
    ({"key_id": "a\nb"}, "key_id"), ({"key_id": ""}, "key_id"),
    ({"root": b"short"}, "root"), ({"tree_size": -1}, "tree_size"),
])
def test_sign_checkpoint_refuses_fields_that_would_be_ambiguous(args: dict[str, Any],
                                                                message: str) -> None:
    fields: dict[str, Any] = {"private_key": PRIVATE_KEY, "key_id": "k", "tree_size": 1,
                              "root": POOL[0], "last_position": 1, "issued_at": ISSUED_AT}
    with pytest.raises(ValueError, match=message):
        sign_checkpoint(**{**fields, **args})


def test_sign_checkpoint_stamps_the_current_utc_time_by_default() -> None:
    checkpoint = sign_checkpoint(PRIVATE_KEY, "k", 0, EMPTY_ROOT, 0)
    assert checkpoint.issued_at.endswith("+00:00")
    assert verify_checkpoint(checkpoint, PUBLIC_KEY)


def test_generated_keys_are_raw_ed25519_pairs() -> None:
    private, public = generate_signing_key()
    assert len(private) == len(public) == 32
    assert public_key_of(private) == public
    assert generate_signing_key()[0] != private
    signed = sign_checkpoint(private, "k", 1, POOL[0], 1, ISSUED_AT)
    assert verify_checkpoint(signed, public)
    assert not verify_checkpoint(signed, PUBLIC_KEY)


# ------------------------------------------------------------- signed notes (c2sp.org)

ORIGIN = "casetrail.example/case-log"
# Produced by Go's golang.org/x/mod/sumdb/note v0.43.0 (NewEd25519VerifierKey, Sign) for
# the Ed25519 key whose seed is bytes 0..31, over the body "<ORIGIN>\n5\n<32 zero bytes>\n".
GO_VERIFIER_KEY = f"{ORIGIN}+0699c859+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
GO_NOTE = (f"{ORIGIN}\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u2014 {ORIGIN} "
           "BpnIWZ278kyGS/NtF6r4imefUeFeiU5FD7WMPmbsoNqOpnIrknc5wahZCd1bZIgf9iKmwQ6NtQ1gjnpy"
           "T/I6ZFqYjgU=\n")


def test_the_key_hash_is_sha256_of_name_newline_type_and_key() -> None:
    expected = sha256(ORIGIN.encode() + b"\n\x01" + PUBLIC_KEY)[:4]
    assert merkle.note_key_hash(ORIGIN, PUBLIC_KEY) == expected
    assert expected.hex() == "0699c859"


def test_the_verifier_key_and_note_are_byte_for_byte_those_of_gos_note_package() -> None:
    assert merkle.verifier_key(ORIGIN, PUBLIC_KEY) == GO_VERIFIER_KEY
    assert merkle.sign_checkpoint_note(PRIVATE_KEY, ORIGIN, 5, bytes(32)) == GO_NOTE
    assert merkle.parse_verifier_key(GO_VERIFIER_KEY) == (ORIGIN, PUBLIC_KEY)


def test_a_checkpoint_note_is_origin_size_and_base64_root_then_a_signature_line() -> None:
    r = root(leaves(7))
    note = merkle.sign_checkpoint_note(PRIVATE_KEY, ORIGIN, 7, r)
    body, _, signatures = note.partition("\n\n")
    assert body == f"{ORIGIN}\n7\n{base64.b64encode(r).decode()}"
    name, encoded = signatures.removeprefix("\u2014 ").removesuffix("\n").split(" ")
    assert name == ORIGIN
    signed = base64.b64decode(encoded)
    assert signed[:4] == merkle.note_key_hash(ORIGIN, PUBLIC_KEY)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    Ed25519PublicKey.from_public_bytes(PUBLIC_KEY).verify(signed[4:], (body + "\n").encode())
    assert merkle.open_checkpoint_note(note, PUBLIC_KEY) == merkle.TreeHead(ORIGIN, 7, r)
    assert merkle.open_checkpoint_note(note.encode(), PUBLIC_KEY, origin=ORIGIN).tree_size == 7


def test_a_note_with_another_signature_beside_ours_still_opens() -> None:
    witness_key, _ = generate_signing_key()
    note = merkle.sign_checkpoint_note(PRIVATE_KEY, ORIGIN, 3, root(leaves(3)))
    cosigned = note + merkle.sign_note("x\n", "witness.example", witness_key).split("\n\n")[1]
    assert merkle.open_checkpoint_note(cosigned, PUBLIC_KEY).tree_size == 3


@pytest.mark.parametrize("tamper", [
    lambda n: n.replace("\n7\n", "\n8\n"),
    lambda n: n.replace(ORIGIN, "evil.example/case-log", 1),
    lambda n: n[:-3] + ("A" if n[-3] != "A" else "B") + n[-2:],
    lambda n: n.replace("\n\n", "\n"),
    lambda n: n.rstrip("\n"),
    lambda n: n.replace("\u2014", "-"),
    lambda n: n.replace("\n7\n", "\n07\n"),
    lambda n: n.replace("\n7\n", "\n7\x01\n"),
    lambda n: "",
])
def test_a_tampered_or_malformed_checkpoint_note_is_refused(tamper: Any) -> None:
    note = merkle.sign_checkpoint_note(PRIVATE_KEY, ORIGIN, 7, root(leaves(7)))
    with pytest.raises(merkle.NoteError):
        merkle.open_checkpoint_note(tamper(note), PUBLIC_KEY, origin=ORIGIN)


def test_a_note_signed_by_another_key_or_of_another_origin_is_refused() -> None:
    other, other_public = generate_signing_key()
    forged = merkle.sign_checkpoint_note(other, ORIGIN, 7, root(leaves(7)))
    with pytest.raises(merkle.NoteError, match="no signature by the key"):
        merkle.open_checkpoint_note(forged, PUBLIC_KEY)
    theirs = merkle.sign_checkpoint_note(PRIVATE_KEY, "other.example/log", 7, root(leaves(7)))
    with pytest.raises(merkle.NoteError):
        merkle.open_checkpoint_note(theirs, PUBLIC_KEY, origin=ORIGIN)
    assert merkle.open_checkpoint_note(forged, other_public).tree_size == 7


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "new\nline", 5])
def test_note_key_names_without_spaces_or_plus(name: Any) -> None:
    with pytest.raises(merkle.NoteError):
        merkle.check_note_name(name)


@pytest.mark.parametrize("text", [
    GO_VERIFIER_KEY.replace("0699c859", "0699c85a"), GO_VERIFIER_KEY.replace("+AQ", "+Ag"),
    f"{ORIGIN}+0699c859", "no-plus", GO_VERIFIER_KEY[:-4],
])
def test_a_malformed_verifier_key_is_refused(text: str) -> None:
    with pytest.raises(merkle.NoteError):
        merkle.parse_verifier_key(text)


def test_a_public_key_is_given_as_hex_or_as_a_verifier_key() -> None:
    assert merkle.parse_public_key(PUBLIC_KEY.hex()) == (None, PUBLIC_KEY)
    assert merkle.parse_public_key(f" {GO_VERIFIER_KEY}\n") == (ORIGIN, PUBLIC_KEY)
    with pytest.raises(merkle.NoteError):
        merkle.parse_public_key("abc")


def test_a_trusted_checkpoint_is_a_note_or_a_json_checkpoint_signed_by_the_key(
        checkpoint: Checkpoint) -> None:
    note = merkle.sign_checkpoint_note(PRIVATE_KEY, ORIGIN, 5, root(leaves(5)))
    assert merkle.verified_tree_head(note, PUBLIC_KEY, origin=ORIGIN) == (5, root(leaves(5)))
    as_file = json.dumps({**checkpoint.to_json(), "public_key": PUBLIC_KEY.hex()})
    assert merkle.verified_tree_head(as_file, PUBLIC_KEY) == (5, root(leaves(5)))
    _, other = generate_signing_key()
    for text in (note, as_file):
        with pytest.raises(ValueError, match="signature"):
            merkle.verified_tree_head(text, other)
    with pytest.raises(ValueError, match="tree_size"):
        merkle.verified_tree_head(json.dumps({**checkpoint.to_json(), "tree_size": "5"}),
                                  PUBLIC_KEY)


# ------------------------------------------------------------- offline audit of an export


@dataclasses.dataclass
class Log:
    events: list[dict[str, Any]]
    leaves: list[bytes]
    checkpoint: Checkpoint

    def export(self, case_id: str) -> list[dict[str, Any]]:
        """What the case service's audit API serves for one case."""
        entries = []
        for index, event in enumerate(self.events):
            if event["case_id"] != case_id:
                continue
            covered = index < self.checkpoint.tree_size
            entries.append({
                **event, "payload": base64.b64encode(event["payload"]).decode(),
                "leaf_index": index if covered else None,
                "proof": [p.hex() for p in inclusion_proof(
                    self.leaves[:self.checkpoint.tree_size], index)] if covered else None})
        return entries

    def statement(self, case_id: str, key: bytes = PRIVATE_KEY) -> dict[str, Any]:
        """The signed count of the case's events under the checkpoint, as the service
        signs it."""
        covered = [e for e in self.export(case_id)
                   if e["position"] <= self.checkpoint.last_position]
        return merkle.sign_case_statement(
            key, "audit-1", case_id, self.checkpoint, len(covered),
            covered[-1]["version"] if covered else 0,
            covered[-1]["position"] if covered else 0).to_json()

    def verify(self, entries: list[dict[str, Any]], case_id: str = CASE) -> list[str]:
        return verify_case_history(entries, self.checkpoint, PUBLIC_KEY, self.statement(case_id))


@pytest.fixture
def log() -> Log:
    """Two interleaved cases at positions 1..9 (case A v1-v4, case B v1-v5), checkpoint at 8."""
    events, versions = [], {CASE: 0, OTHER_CASE: 0}
    for position in range(1, 10):
        case_id = CASE if position in (1, 3, 4, 7) else OTHER_CASE
        versions[case_id] += 1
        events.append({"position": position, "case_id": case_id,
                       "version": versions[case_id], "type": f"Event{position}",
                       "payload": json.dumps({"n": position}).encode()})
    all_leaves = [leaf_hash(e["position"], e["case_id"], e["version"], e["type"], e["payload"])
                  for e in events]
    checkpoint = sign_checkpoint(PRIVATE_KEY, "audit-1", 8, root(all_leaves[:8]), 8, ISSUED_AT)
    return Log(events, all_leaves, checkpoint)


def test_an_untouched_case_history_verifies(log: Log) -> None:
    statement = log.statement(CASE)
    assert verify_case_history(log.export(CASE), log.checkpoint, PUBLIC_KEY, statement) == []
    assert verify_case_history(log.export(CASE), log.checkpoint.to_json(), PUBLIC_KEY,
                               merkle.CaseStatement.from_json(statement)) == []
    result = merkle.check_case_history(log.export(CASE), log.checkpoint, PUBLIC_KEY, statement)
    assert (result.verified, result.unproven, result.exit_code) == (4, 0, merkle.EXIT_VERIFIED)


def test_events_newer_than_the_checkpoint_are_unproven_not_problems(log: Log) -> None:
    entries = log.export(OTHER_CASE)
    assert entries[-1]["proof"] is None
    assert log.verify(entries, OTHER_CASE) == []
    result = merkle.check_case_history(entries, log.checkpoint, PUBLIC_KEY,
                                       log.statement(OTHER_CASE))
    assert (result.verified, result.unproven, result.exit_code) == (4, 1, merkle.EXIT_PARTIAL)


def test_payloads_may_be_given_as_bytes(log: Log) -> None:
    entries = [{**e, "payload": base64.b64decode(e["payload"])} for e in log.export(CASE)]
    assert log.verify(entries) == []


@pytest.mark.parametrize(("field", "value"), [
    ("payload", base64.b64encode(b'{"n": 4, "paid": true}').decode()),
    ("type", "EventX"), ("position", 5), ("case_id", OTHER_CASE),
    ("leaf_index", 0), ("proof", []),
])
def test_a_modified_event_is_reported(log: Log, field: str, value: Any) -> None:
    entries = log.export(CASE)
    entries[2] = {**entries[2], field: value}
    problems = log.verify(entries)
    assert problems
    assert any("entry 3" in p for p in problems)


def test_a_flipped_bit_in_a_stored_payload_is_reported(log: Log) -> None:
    entries = log.export(CASE)
    payload = flip(base64.b64decode(entries[1]["payload"]), 0, 0)
    entries[1]["payload"] = base64.b64encode(payload).decode()
    assert log.verify(entries) != []


def test_a_removed_or_reordered_event_is_reported(log: Log) -> None:
    entries = log.export(CASE)
    assert any("version 3 follows version 1" in p
               for p in log.verify([entries[0], *entries[2:]]))
    assert any("starts at version 2" in p for p in log.verify(entries[1:]))
    assert log.verify(entries[::-1]) != []


def test_a_stripped_proof_of_a_covered_event_is_reported(log: Log) -> None:
    entries = log.export(CASE)
    entries[1] = {**entries[1], "proof": None, "leaf_index": None}
    assert any("no inclusion proof" in p for p in log.verify(entries))


def test_an_export_mixing_cases_is_reported(log: Log) -> None:
    entries = log.export(CASE) + log.export(OTHER_CASE)[:1]
    assert any("mixes 2 cases" in p for p in log.verify(entries))


def test_a_history_against_a_forged_checkpoint_is_reported(log: Log) -> None:
    forger_key, _ = generate_signing_key()
    forged = sign_checkpoint(forger_key, "audit-1", 8, log.checkpoint.root, 8, ISSUED_AT)
    problems = verify_case_history(log.export(CASE), forged, PUBLIC_KEY, log.statement(CASE))
    assert any("signature does not verify" in p for p in problems)


def test_malformed_exports_are_reported_not_raised(log: Log) -> None:
    good = log.export(CASE)
    broken: list[Any] = [
        [{**good[0], "payload": "not base64!"}, *good[1:]],
        [{**good[0], "proof": ["zz"]}, *good[1:]],
        [{**good[0], "proof": "ab" * 32}, *good[1:]],
        [{**good[0], "version": "1"}, *good[1:]],
        [{**good[0], "payload": None}, *good[1:]],
        [{k: v for k, v in good[0].items() if k != "type"}, *good[1:]],
        ["not an object", *good],
        [],
    ]
    for entries in broken:
        assert log.verify(entries) != []
    assert verify_case_history(good, {"tree_size": 8}, PUBLIC_KEY, log.statement(CASE)) != []
    for statement in ({}, {**log.statement(CASE), "event_count": "4"}, "text",
                      {**log.statement(CASE), "case_id": "nope"}):
        assert verify_case_history(good, log.checkpoint, PUBLIC_KEY, statement) != []


# ------------------------------------------------------------- completeness of an export


def test_an_export_without_a_case_statement_proves_nothing_about_completeness(log: Log
                                                                              ) -> None:
    problems = verify_case_history(log.export(CASE), log.checkpoint, PUBLIC_KEY)
    assert any("no case statement" in p for p in problems)


def test_an_export_with_its_last_proven_events_dropped_is_reported(log: Log) -> None:
    entries = log.export(CASE)
    for kept in (3, 2, 1):
        assert any(f"holds {kept} of the 4 event(s)" in p for p in log.verify(entries[:kept]))


def test_an_event_moved_after_the_checkpoint_is_reported_even_without_a_proof(log: Log
                                                                              ) -> None:
    entries = log.export(CASE)  # positions 1, 3, 4, 7; the checkpoint covers up to 8
    altered = {**entries[2], "payload": base64.b64encode(b'{"n": 0}').decode(),
               "position": 100, "leaf_index": None, "proof": None}
    assert any("positions rise with version" in p
               for p in log.verify([*entries[:2], altered, entries[3]]))
    last = {**entries[3], "payload": base64.b64encode(b'{"n": 0}').decode(),
            "position": 100, "leaf_index": None, "proof": None}
    assert any("holds 3 of the 4 event(s)" in p for p in log.verify([*entries[:3], last]))


def test_a_forged_or_foreign_case_statement_is_reported(log: Log) -> None:
    entries = log.export(CASE)
    forger, _ = generate_signing_key()
    assert any("statement: the signature does not verify" in p for p in verify_case_history(
        entries[:3], log.checkpoint, PUBLIC_KEY, log.statement(CASE, key=forger)))
    lowered = {**log.statement(CASE), "event_count": 3, "last_version": 3,
               "last_position": 4}
    assert any("statement: the signature does not verify" in p
               for p in verify_case_history(entries[:3], log.checkpoint, PUBLIC_KEY, lowered))
    assert any("about case" in p for p in verify_case_history(
        entries, log.checkpoint, PUBLIC_KEY, log.statement(OTHER_CASE)))
    older = sign_checkpoint(PRIVATE_KEY, "audit-1", 7, root(log.leaves[:7]), 7, ISSUED_AT)
    other_tree = merkle.sign_case_statement(PRIVATE_KEY, "audit-1", CASE, older, 4, 4, 7)
    assert any("tree of 7 leaves" in p for p in verify_case_history(
        entries, log.checkpoint, PUBLIC_KEY, other_tree))


def test_a_case_statement_binds_every_field_with_its_signature(log: Log) -> None:
    statement = merkle.CaseStatement.from_json(log.statement(CASE))
    assert merkle.verify_case_statement(statement, PUBLIC_KEY)
    assert statement.message().startswith(merkle.CASE_STATEMENT_HEADER)
    for change in ({"event_count": 3}, {"last_version": 3}, {"last_position": 4},
                   {"tree_size": 9}, {"root": POOL[0]}, {"case_id": OTHER_CASE},
                   {"key_id": "audit-2"}):
        assert not merkle.verify_case_statement(dataclasses.replace(statement, **change),
                                                PUBLIC_KEY)


# ------------------------------------------------------------- command line, standalone


def write_export(path: Path, checkpoint: Checkpoint, entries: list[dict[str, Any]],
                 statement: dict[str, Any] | None = None) -> Path:
    head = {**checkpoint.to_json(), "public_key": PUBLIC_KEY.hex()}
    if statement is not None:
        head["case_statement"] = statement
    lines = [json.dumps(head), *(json.dumps(e) for e in entries)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def verify_export(path: Path) -> int:
    return merkle.main(["verify-export", str(path), "--public-key", PUBLIC_KEY.hex()])


def test_the_command_line_verifies_a_good_export(log: Log, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    export = write_export(tmp_path / "case.jsonl", log.checkpoint, log.export(CASE),
                          log.statement(CASE))
    assert verify_export(export) == 0
    assert "VERIFIED: 4 event(s)" in capsys.readouterr().out
    assert merkle.main(["verify-export", str(export), "--public-key", GO_VERIFIER_KEY]) == 0


def test_the_command_line_fails_a_tampered_export(log: Log, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    entries = log.export(CASE)
    entries[0]["payload"] = base64.b64encode(b'{"n": 100}').decode()
    export = write_export(tmp_path / "case.jsonl", log.checkpoint, entries, log.statement(CASE))
    assert verify_export(export) == 1
    out = capsys.readouterr().out
    assert "NOT VERIFIED" in out
    assert "entry 1" in out


def test_the_command_line_fails_an_altered_event_relabelled_after_the_checkpoint(
        log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = log.export(CASE)
    for index in (2, 3):  # one in the middle, then the last event
        relabelled = [*entries]
        relabelled[index] = {**entries[index], "position": 100 + index, "leaf_index": None,
                             "proof": None,
                             "payload": base64.b64encode(b'{"n": "altered"}').decode()}
        export = write_export(tmp_path / f"relabelled-{index}.jsonl", log.checkpoint,
                              relabelled, log.statement(CASE))
        assert verify_export(export) == 1
        out = capsys.readouterr().out
        assert out.startswith("NOT VERIFIED")


def test_the_command_line_fails_an_export_with_the_last_events_dropped(
        log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = write_export(tmp_path / "short.jsonl", log.checkpoint, log.export(CASE)[:2],
                          log.statement(CASE))
    assert verify_export(export) == 1
    assert "holds 2 of the 4 event(s)" in capsys.readouterr().out


def test_the_command_line_fails_an_export_without_a_case_statement(
        log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = write_export(tmp_path / "old.jsonl", log.checkpoint, log.export(CASE))
    assert verify_export(export) == 1
    assert "no case statement" in capsys.readouterr().out


def test_the_command_line_fails_with_the_wrong_key_or_an_unreadable_file(
        log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = write_export(tmp_path / "case.jsonl", log.checkpoint, log.export(CASE),
                          log.statement(CASE))
    _, other = generate_signing_key()
    assert merkle.main(["verify-export", str(export), "--public-key", other.hex()]) == 1
    assert merkle.main(["verify-export", str(export), "--public-key", "abc"]) == 1
    assert verify_export(tmp_path / "missing.jsonl") == 1
    (tmp_path / "garbage.jsonl").write_text("{\nnot json\n", encoding="utf-8")
    assert verify_export(tmp_path / "garbage.jsonl") == 1
    assert capsys.readouterr().out.count("NOT VERIFIED") == 4


def test_the_command_line_accepts_the_audit_api_response_as_is(
        log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    response = {"case_id": CASE, "checkpoint": log.checkpoint.to_json(),
                "case_statement": log.statement(CASE), "public_key": PUBLIC_KEY.hex(),
                "events": log.export(CASE)}
    export = tmp_path / "case.json"
    export.write_text(json.dumps(response, indent=2), encoding="utf-8")
    assert verify_export(export) == 0
    assert "VERIFIED" in capsys.readouterr().out


def test_the_command_line_says_partial_never_verified_for_events_after_the_checkpoint(
        log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = write_export(tmp_path / "case.jsonl", log.checkpoint, log.export(OTHER_CASE),
                          log.statement(OTHER_CASE))
    assert verify_export(export) == merkle.EXIT_PARTIAL == 3
    out = capsys.readouterr().out
    assert out.startswith("PARTIAL (1 event unproven)")
    assert "VERIFIED" not in out


def test_the_module_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(Path(merkle.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - set(sys.stdlib_module_names) == {"cryptography"}


def test_a_copy_of_the_single_file_verifies_an_export_as_a_script(log: Log,
                                                                   tmp_path: Path) -> None:
    shutil.copy(merkle.__file__, tmp_path / "merkle.py")
    good = write_export(tmp_path / "good.jsonl", log.checkpoint, log.export(CASE),
                        log.statement(CASE))
    entries = log.export(CASE)
    entries[3]["version"] = 5
    bad = write_export(tmp_path / "bad.jsonl", log.checkpoint, entries, log.statement(CASE))
    partial = write_export(tmp_path / "partial.jsonl", log.checkpoint,
                           log.export(OTHER_CASE), log.statement(OTHER_CASE))
    for export, code in ((good, 0), (bad, 1), (partial, 3)):
        done = subprocess.run(
            [sys.executable, "-I", "merkle.py", "verify-export", export.name,
             "--public-key", PUBLIC_KEY.hex()],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == code, done.stdout + done.stderr


def test_python_dash_m_casetrail_merkle_runs_the_command_line(log: Log, tmp_path: Path) -> None:
    export = write_export(tmp_path / "case.jsonl", log.checkpoint, log.export(CASE),
                          log.statement(CASE))
    done = subprocess.run(
        [sys.executable, "-m", "casetrail.merkle", "verify-export", str(export),
         "--public-key", PUBLIC_KEY.hex()],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("VERIFIED")
