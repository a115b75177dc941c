"""An independent implementation verifies casetrail's checkpoints: a small Go program
(goverify/) built on Go's own golang.org/x/mod/sumdb/note (signed notes) and
golang.org/x/mod/sumdb/tlog (RFC 6962 proofs), sharing no code with casetrail, checks a
signed checkpoint note the case service serves, a consistency proof from an older note, and
a case history's inclusion proofs (computing the leaves from the events itself). Tampered
inputs must fail it.

Needs `go` on PATH (Go 1.26; golang.org/x/mod is fetched through the module proxy the first
time, pinned by goverify/go.sum). Without it these tests skip, unless CASETRAIL_REQUIRE_GO=1
says they must run.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from case_service.entrypoints.app import create_app
from casetrail import merkle
from casetrail.crypto import MasterKey
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from fastapi.testclient import TestClient

SOURCE = Path(__file__).parent / "goverify"
ORIGIN = "casetrail.example/case-log"
ROLES = {"auditor": (Role.AUDITOR, None), "bank": (Role.CREDITOR, "BANK-GO"),
         "agency": (Role.AGENCY, "AG-GO")}


def _go() -> str:
    found = shutil.which("go")
    if found is None:
        reason = "`go` is not on PATH: the independent Go verifier cannot be built"
        if os.environ.get("CASETRAIL_REQUIRE_GO"):
            pytest.fail(f"CASETRAIL_REQUIRE_GO is set but {reason}")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def goverify(tmp_path_factory: pytest.TempPathFactory) -> Callable[[dict[str, Any]], Any]:
    """Builds goverify outside the source tree; returns a function running it on an input."""
    go = _go()
    out = tmp_path_factory.mktemp("goverify")
    env = {**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false", "CGO_ENABLED": "0"}
    if not env.get("HOME"):  # Go keeps its caches under HOME by default
        env.setdefault("GOCACHE", str(out / "gocache"))
        env.setdefault("GOPATH", str(out / "gopath"))
    built = subprocess.run([go, "build", "-o", str(out / "goverify"), "."], cwd=SOURCE,
                           env=env, capture_output=True, text=True, timeout=600, check=False)
    assert built.returncode == 0, built.stdout + built.stderr

    def run(data: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        path = out / "input.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        return subprocess.run([str(out / "goverify"), str(path)], capture_output=True,
                              text=True, timeout=60, check=False)

    return run


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """What the case service serves an auditor after two checkpoints of a real log."""
    tmp = tmp_path_factory.mktemp("case")
    keys = {name: generate_key(role) for name, (role, _) in ROLES.items()}
    common = CommonSettings(
        api_keys=json.dumps([KeyEntry(name, hash_key(keys[name]), role, tenant).to_json()
                             for name, (role, tenant) in ROLES.items()]),
        master_key=MasterKey.generate_b64(), var_dir=tmp / "var")
    settings = CaseSettings(database_url=f"sqlite:///{tmp}/case.db")
    application = build_application(settings, common)
    try:
        client = TestClient(create_app(settings, common, application))

        def call(who: str, method: str, path: str, **kw: Any) -> Any:
            response = client.request(method, path, headers={
                "Authorization": f"Bearer {keys[who]}"}, **kw)
            assert response.status_code < 300, response.text
            return response

        def place(ref: str, n: int) -> list[str]:
            body = {"placement_ref": ref, "accounts": [{
                "account_ref": f"{ref}-{i}", "agency_id": "AG-GO", "currency": "CNY", "dpd": 40,
                "balances": {"principal": "900.00", "interest": "10.00"},
                "debtor": {"name": "张三", "national_id": f"1101011990010{i:05d}",
                           "phones": ["+86 138 0000 0000"], "timezone": "Asia/Shanghai"}}
                for i in range(n)]}
            return [a["case_id"] for a in call("bank", "POST", "/v1/placements",
                                               json=body).json()["accepted"]]

        first = place("P-GO-1", 3)
        for i, case_id in enumerate(first):
            call("agency", "POST", f"/v1/cases/{case_id}/contacts", json={
                "contact_id": f"go-{i}", "channel": "phone", "party": "debtor",
                "outcome": "conversation", "action_code": "PTP",
                "occurred_at": "2026-01-05T03:00:00+00:00"})
        old = application.audit.checkpoint()
        place("P-GO-2", 4)
        call("agency", "POST", f"/v1/cases/{first[0]}/contacts", json={
            "contact_id": "go-late", "channel": "phone", "party": "debtor",
            "outcome": "conversation", "action_code": "PTP",
            "occurred_at": "2026-01-06T03:00:00+00:00"})
        new = application.audit.checkpoint()
        assert old.tree_size < new.tree_size
        consistency = call("auditor", "GET", "/v1/audit/consistency", params={
            "old_size": old.tree_size, "new_size": new.tree_size}).json()
        yield {
            "input": {
                "verifier_key": call("auditor", "GET", "/v1/audit/checkpoints"
                                     ).json()["verifier_key"],
                "origin": ORIGIN,
                "note": call("auditor", "GET", "/v1/audit/checkpoint").text,
                "old_note": call("auditor", "GET", "/v1/audit/checkpoint",
                                 params={"size": old.tree_size}).text,
                "consistency": consistency["proof"],
                "events": call("auditor", "GET", f"/v1/audit/cases/{first[0]}"
                               ).json()["events"],
            },
            "checkpoint": new,
        }
    finally:
        application.close()


def test_go_verifies_casetrails_checkpoint_note_consistency_and_inclusion_proofs(
        goverify: Callable[[dict[str, Any]], Any], served: dict[str, Any]) -> None:
    data, checkpoint = served["input"], served["checkpoint"]
    assert len(data["events"]) == 3  # placed, contacted, the late contact
    done = goverify(data)
    assert done.returncode == 0, done.stdout + done.stderr
    root = base64.b64encode(checkpoint.root).decode()
    expected = f"OK origin={ORIGIN} size={checkpoint.tree_size} root={root} "
    assert done.stdout.startswith(expected), done.stdout
    assert "consistency from size" in done.stdout
    assert "inclusion of 3 events" in done.stdout
    print(f"\nGo's note and tlog packages accepted: {done.stdout.strip()}")


def _flip_base64_char(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1:]


def _forged_note(data: dict[str, Any]) -> dict[str, Any]:
    head = merkle.parse_checkpoint_text(data["note"].split("\n\n")[0] + "\n")
    forger, _ = merkle.generate_signing_key()
    return {**data, "note": merkle.sign_checkpoint_note(forger, ORIGIN, head.tree_size,
                                                        head.root)}


TAMPERINGS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "root changed": lambda d: {**d, "note": d["note"].replace(
        d["note"].split("\n")[2], _flip_base64_char(d["note"].split("\n")[2], 5))},
    "size changed": lambda d: {**d, "note": d["note"].replace(
        "\n" + d["note"].split("\n")[1] + "\n", f"\n{int(d['note'].split(chr(10))[1]) + 1}\n",
        1)},
    "signature changed": lambda d: {**d, "note": _flip_base64_char(d["note"], -10)},
    "signed by another key": _forged_note,
    "another origin": lambda d: {**d, "origin": "other.example/log"},
    "consistency proof changed": lambda d: {**d, "consistency": [
        "00" * 32, *d["consistency"][1:]]},
    "old note from another tree": lambda d: {**d, "old_note": d["note"]} | {
        "consistency": ["00" * 32]},
    "event payload changed": lambda d: {**d, "events": [
        {**d["events"][0], "payload": base64.b64encode(b'{"forged": 1}').decode()},
        *d["events"][1:]]},
    "event moved": lambda d: {**d, "events": [
        {**d["events"][1], "position": d["events"][1]["position"] + 1}]},
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_go_refuses_a_tampered_checkpoint_or_proof(
        goverify: Callable[[dict[str, Any]], Any], served: dict[str, Any], tampering: str
        ) -> None:
    tampered = TAMPERINGS[tampering](served["input"])
    assert tampered != served["input"]
    done = goverify(tampered)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("FAILED:"), done.stdout
