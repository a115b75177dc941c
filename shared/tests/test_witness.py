"""The auditor's witness keeps a checkpoint only when it verified it itself: the signature with
the log's key, and a consistency proof from the checkpoint it kept before. The server here is
a fake log over HTTP (httpx.MockTransport) that an insider can rewrite, cut back or re-sign."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from casetrail import merkle
from casetrail.witness import Witness, WitnessError

ORIGIN = "casetrail.example/case-log"
KEY = bytes(range(32))
PUBLIC_KEY = merkle.public_key_of(KEY)


def leaf(n: int) -> bytes:
    return hashlib.sha256(b"\x00" + n.to_bytes(8, "big")).digest()


class FakeLog:
    """The three audit routes the witness reads, over a list of leaves."""

    def __init__(self) -> None:
        self.leaves = [leaf(i) for i in range(5)]
        self.key = KEY
        self.signed: tuple[int, bytes] | None = None
        self.broken: int | None = None  # answer every request with this status
        self.proof_override: list[str] | None = None
        self.requests: list[str] = []
        self.checkpoint()

    def checkpoint(self) -> None:
        self.signed = (len(self.leaves), merkle.root(self.leaves))

    def grow(self, n: int) -> None:
        self.leaves += [leaf(1000 + len(self.leaves) + i) for i in range(n)]
        self.checkpoint()

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if self.broken is not None:
            return httpx.Response(self.broken, json={"error": {"code": "x", "message": "down"}})
        if request.headers.get("authorization") != "Bearer auditor-key":
            return httpx.Response(401, json={"error": {"code": "unauthenticated",
                                                       "message": "no key"}})
        if request.url.path == "/v1/audit/checkpoints":
            return httpx.Response(200, json={
                "verifier_key": merkle.verifier_key(ORIGIN, merkle.public_key_of(self.key))})
        if request.url.path == "/v1/audit/checkpoint":
            assert self.signed is not None
            size, root = self.signed
            return httpx.Response(200, text=merkle.sign_checkpoint_note(self.key, ORIGIN, size,
                                                                        root))
        if request.url.path == "/v1/audit/consistency":
            old, new = (int(request.url.params[k]) for k in ("old_size", "new_size"))
            if new > len(self.leaves):
                return httpx.Response(404, json={"error": {"code": "size_not_in_log",
                                                           "message": "too big"}})
            proof = [h.hex() for h in merkle.consistency_proof(self.leaves[:new], old)]
            return httpx.Response(200, json={
                "proof": proof if self.proof_override is None else self.proof_override})
        return httpx.Response(404)


@pytest.fixture
def server() -> FakeLog:
    return FakeLog()


@pytest.fixture
def client(server: FakeLog) -> Iterator[httpx.Client]:
    with httpx.Client(base_url="https://case.example", transport=httpx.MockTransport(
            server.handle), headers={"Authorization": "Bearer auditor-key"}) as c:
        yield c


def snapshot(state: Path) -> dict[str, bytes]:
    return {str(p.relative_to(state)): p.read_bytes() for p in sorted(state.rglob("*"))
            if p.is_file() and not str(p.relative_to(state)).startswith("rejected")}


def test_the_first_run_trusts_the_key_and_checkpoint_on_first_use_and_says_so(
        client: httpx.Client, tmp_path: Path) -> None:
    result = Witness(client, tmp_path).run()
    assert result.outcome == "first"
    assert (result.checkpoint.origin, result.checkpoint.tree_size) == (ORIGIN, 5)
    assert len(result.messages) == 2
    assert all(m.startswith("TRUST ON FIRST USE") for m in result.messages)
    assert (tmp_path / "verifier-key").read_text().strip() == merkle.verifier_key(
        ORIGIN, PUBLIC_KEY)
    assert merkle.open_checkpoint_note((tmp_path / "checkpoint.note").read_text(),
                                       PUBLIC_KEY).tree_size == 5
    assert (tmp_path / "notes" / "5.note").exists()


def test_a_key_given_on_the_first_run_is_pinned_without_asking_the_server(
        server: FakeLog, client: httpx.Client, tmp_path: Path) -> None:
    result = Witness(client, tmp_path, public_key=PUBLIC_KEY.hex()).run()
    assert "/v1/audit/checkpoints" not in server.requests
    assert [m for m in result.messages if "key" in m] == []
    assert (tmp_path / "verifier-key").read_text().strip() == merkle.verifier_key(
        ORIGIN, PUBLIC_KEY)


def test_a_grown_log_is_kept_only_with_a_valid_consistency_proof(
        server: FakeLog, client: httpx.Client, tmp_path: Path) -> None:
    Witness(client, tmp_path).run()
    server.grow(6)
    result = Witness(client, tmp_path).run()
    assert result.outcome == "grew"
    assert result.previous is not None
    assert (result.previous.tree_size, result.checkpoint.tree_size) == (5, 11)
    assert result.messages == []
    assert {p.name for p in (tmp_path / "notes").iterdir()} == {"5.note", "11.note"}
    assert Witness(client, tmp_path).run().outcome == "unchanged"


def test_a_rewritten_log_is_refused_even_when_the_insider_re_signs_it(
        server: FakeLog, client: httpx.Client, tmp_path: Path) -> None:
    Witness(client, tmp_path).run()
    before = snapshot(tmp_path)
    server.leaves[2] = leaf(999)  # events and leaves rewritten, checkpoint signed anew
    server.grow(3)
    with pytest.raises(WitnessError, match="rewritten: no valid proof"):
        Witness(client, tmp_path).run()
    assert snapshot(tmp_path) == before
    evidence = list((tmp_path / "rejected").iterdir())
    assert len(evidence) == 1
    assert merkle.open_checkpoint_note(evidence[0].read_text(), PUBLIC_KEY).tree_size == 8


def test_a_log_cut_back_is_refused(server: FakeLog, client: httpx.Client,
                                   tmp_path: Path) -> None:
    server.grow(4)
    Witness(client, tmp_path).run()
    before = snapshot(tmp_path)
    del server.leaves[6:]
    server.checkpoint()
    with pytest.raises(WitnessError, match="cut back: its newest checkpoint has 6 leaves"):
        Witness(client, tmp_path).run()
    assert snapshot(tmp_path) == before


def test_two_signed_roots_for_one_size_are_refused(server: FakeLog, client: httpx.Client,
                                                   tmp_path: Path) -> None:
    Witness(client, tmp_path).run()
    server.leaves[4] = leaf(999)
    server.checkpoint()
    with pytest.raises(WitnessError, match="two signed checkpoints of size 5"):
        Witness(client, tmp_path).run()


def test_a_proof_the_server_made_up_is_refused(server: FakeLog, client: httpx.Client,
                                               tmp_path: Path) -> None:
    Witness(client, tmp_path).run()
    server.grow(2)
    for fake in (["00" * 32], ["zz"], []):
        server.proof_override = fake
        with pytest.raises(WitnessError, match=r"rewritten|malformed"):
            Witness(client, tmp_path).run()
    server.proof_override = None
    assert Witness(client, tmp_path).run().outcome == "grew"


def test_a_checkpoint_signed_by_another_key_is_refused(server: FakeLog, client: httpx.Client,
                                                       tmp_path: Path) -> None:
    Witness(client, tmp_path).run()
    server.key, _ = merkle.generate_signing_key()  # the server now signs with a key of its own
    server.grow(1)
    with pytest.raises(WitnessError, match="does not verify"):
        Witness(client, tmp_path).run()
    other = merkle.public_key_of(server.key).hex()
    with pytest.raises(WitnessError, match="differs from the one pinned"):
        Witness(client, tmp_path, public_key=other).run()


def test_a_checkpoint_of_another_origin_is_refused(client: httpx.Client, tmp_path: Path
                                                   ) -> None:
    with pytest.raises(WitnessError, match="does not verify"):
        Witness(client, tmp_path, public_key=PUBLIC_KEY.hex(), origin="other.example/log").run()


def test_a_tampered_kept_checkpoint_is_noticed(server: FakeLog, client: httpx.Client,
                                               tmp_path: Path) -> None:
    Witness(client, tmp_path).run()
    kept = tmp_path / "checkpoint.note"
    kept.write_text(kept.read_text().replace("\n5\n", "\n4\n"))
    with pytest.raises(WitnessError, match="kept checkpoint"):
        Witness(client, tmp_path).run()


@pytest.mark.parametrize("status", [401, 409, 500, 503])
def test_an_error_answer_fails_the_run_and_keeps_the_state(
        server: FakeLog, client: httpx.Client, tmp_path: Path, status: int) -> None:
    Witness(client, tmp_path).run()
    before = snapshot(tmp_path)
    server.grow(1)
    server.broken = status
    with pytest.raises(WitnessError, match=f"answered {status}"):
        Witness(client, tmp_path).run()
    assert snapshot(tmp_path) == before


def test_an_unreachable_server_fails_the_run(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> Any:
        raise httpx.ConnectError("connection refused", request=request)

    with httpx.Client(base_url="https://case.example",
                      transport=httpx.MockTransport(refuse)) as c, pytest.raises(
            WitnessError, match="cannot reach"):
        Witness(c, tmp_path, public_key=PUBLIC_KEY.hex()).run()
    assert not (tmp_path / "checkpoint.note").exists()


def test_the_witness_imports_no_service() -> None:
    import ast

    from casetrail import witness

    tree = ast.parse(Path(witness.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert not {m for m in imported if m.split(".")[0].endswith("_service")}
