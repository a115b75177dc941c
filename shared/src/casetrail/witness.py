"""An auditor's witness of the case log, run on the auditor's own machine.

Each run fetches the log's newest checkpoint (a signed note, `GET /v1/audit/checkpoint`)
and, when the log grew, a consistency proof from the last checkpoint it kept
(`GET /v1/audit/consistency`). It checks the note's signature with the log's key and the
proof against the two roots it holds signed, with `casetrail.merkle` alone: nothing the
server says is taken on trust. Only then does it keep the new checkpoint.

The state folder holds:
- `verifier-key`: the log's note verifier key `<origin>+<hash>+<key>`, pinned on the first
  run (given with `--public-key`, or trusted on first use and said so);
- `checkpoint.note`: the newest checkpoint verified;
- `notes/<tree size>.note`: every checkpoint kept, to hand to `casetrail audit verify
  --trusted` later;
- `rejected/<time>-<tree size>.note`: checkpoints that failed. A validly signed note that no
  proof connects to an earlier one is evidence that the log was rewritten or forked.

This module imports no service: the witness needs only HTTP access to the case service.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from casetrail import merkle
from casetrail.merkle import NoteError, TreeHead

KEY_FILE = "verifier-key"
LATEST_FILE = "checkpoint.note"


class WitnessError(Exception):
    """The witness refused the log's newest checkpoint (or could not fetch it): why."""


@dataclass
class WitnessResult:
    """What one run saw and kept."""

    outcome: str  # "first" (trusted on first use), "unchanged" or "grew"
    checkpoint: TreeHead
    previous: TreeHead | None = None
    messages: list[str] = field(default_factory=list)


def _root(head: TreeHead) -> str:
    return base64.b64encode(head.root).decode()


def describe(head: TreeHead) -> str:
    """`origin size N root B64`, as a person checks it against another copy."""
    return f"{head.origin} size {head.tree_size} root {_root(head)}"


def _write(path: Path, text: str) -> None:
    """Write a file whole or not at all (a crash leaves the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


class Witness:
    """Keeps the newest verified checkpoint of one log in a state folder."""

    def __init__(self, client: httpx.Client, state: Path, *, public_key: str | None = None,
                 origin: str | None = None):
        """`client` talks to the case service (base URL and API key set); `public_key` is
        the log's key as 64 hex digits or a verifier key; `origin` the log's expected name."""
        self.client, self.state = client, Path(state)
        self.given = merkle.parse_public_key(public_key) if public_key else None
        self.origin = merkle.check_note_name(origin) if origin is not None else None

    # ------------------------------------------------------------------ http

    def _get(self, path: str, **params: Any) -> httpx.Response:
        try:
            response = self.client.get(path, params=params or None)
        except httpx.HTTPError as e:
            raise WitnessError(f"cannot reach the case service ({path}): {e}") from None
        if response.status_code != 200:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise WitnessError(f"GET {path} answered {response.status_code}: {message}")
        return response

    # ------------------------------------------------------------------ state

    def _pinned_key(self) -> tuple[str, bytes] | None:
        path = self.state / KEY_FILE
        if not path.exists():
            return None
        try:
            return merkle.parse_verifier_key(path.read_text(encoding="utf-8"))
        except NoteError as e:
            raise WitnessError(f"{path} is damaged: {e}") from None

    def _key(self, messages: list[str]) -> tuple[str | None, bytes, bool]:
        """(key name or None, public key, whether to pin it now)."""
        pinned = self._pinned_key()
        if pinned is not None:
            if self.given is not None and (self.given[1] != pinned[1] or self.given[0] not in (
                    None, pinned[0])):
                raise WitnessError(
                    f"the key given differs from the one pinned in {self.state / KEY_FILE} "
                    f"({merkle.verifier_key(*pinned)}): if the log's key really changed, "
                    "start a new state folder")
            return pinned[0], pinned[1], False
        if self.given is not None:
            return self.given[0], self.given[1], True
        body = self._get("/v1/audit/checkpoints").json()
        try:
            name, key = merkle.parse_verifier_key(str(body.get("verifier_key", "")))
        except (NoteError, AttributeError) as e:
            raise WitnessError(f"the server's verifier key is not usable: {e}") from None
        messages.append(
            f"TRUST ON FIRST USE: no key was given, so the log's key is taken from the "
            f"server and pinned: {merkle.verifier_key(name, key)}. Compare it with the key "
            "the operator published out of band, or run again with --public-key")
        return name, key, True

    def _reject(self, note: str, head: TreeHead | None, reason: str) -> WitnessError:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        size = head.tree_size if head is not None else "unparsed"
        evidence = self.state / "rejected" / f"{stamp}-{size}.note"
        _write(evidence, note)
        return WitnessError(f"{reason} (kept as evidence in {evidence}; the state is "
                            "unchanged)")

    # ------------------------------------------------------------------ run

    def run(self) -> WitnessResult:
        """Fetch, verify and keep the newest checkpoint; WitnessError if it fails."""
        messages: list[str] = []
        name, key, pin = self._key(messages)
        latest_path = self.state / LATEST_FILE
        kept: TreeHead | None = None
        expected_origin = self.origin
        if latest_path.exists():
            try:
                kept = merkle.open_checkpoint_note(latest_path.read_text(encoding="utf-8"),
                                                   key, key_name=name, origin=self.origin)
            except NoteError as e:
                raise WitnessError(f"the kept checkpoint {latest_path} does not verify with "
                                   f"the pinned key: {e}") from None
            expected_origin = kept.origin
        note = self._get("/v1/audit/checkpoint").text
        try:
            head = merkle.open_checkpoint_note(note, key, key_name=name, origin=expected_origin)
        except NoteError as e:
            raise self._reject(note, None, f"the server's newest checkpoint does not verify: "
                                            f"{e}") from None
        if kept is None:
            messages.append(f"TRUST ON FIRST USE: nothing kept yet, so this checkpoint is "
                            f"kept without a proof: {describe(head)}")
            outcome = "first"
        elif head.tree_size < kept.tree_size:
            raise self._reject(note, head, f"the log was cut back: its newest checkpoint has "
                                           f"{head.tree_size} leaves, but {describe(kept)} was "
                                           "verified before")
        elif head.tree_size == kept.tree_size:
            if head.root != kept.root:
                raise self._reject(note, head, f"the log was rewritten: two signed checkpoints "
                                               f"of size {head.tree_size} have different roots "
                                               f"({_root(kept)} kept, {_root(head)} now)")
            outcome = "unchanged"
        else:
            self._check_growth(note, kept, head)
            outcome = "grew"
        if pin:
            _write(self.state / KEY_FILE, merkle.verifier_key(name or head.origin, key) + "\n")
        _write(self.state / "notes" / f"{head.tree_size}.note", note)
        _write(latest_path, note)
        return WitnessResult(outcome, head, kept, messages)

    def _check_growth(self, note: str, kept: TreeHead, head: TreeHead) -> None:
        """The server's proof that `head` extends `kept`, checked against the signed roots."""
        body = self._get("/v1/audit/consistency", old_size=kept.tree_size,
                         new_size=head.tree_size).json()
        try:
            proof = [bytes.fromhex(h) for h in body["proof"]]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise self._reject(note, head, "the server's consistency proof is malformed"
                               ) from None
        if not merkle.verify_consistency(kept.tree_size, head.tree_size, kept.root, head.root,
                                         proof):
            raise self._reject(note, head, f"the log was rewritten: no valid proof that "
                                           f"{describe(head)} extends the kept "
                                           f"{describe(kept)}")


def witness(url: str, state: Path, *, api_key: str | None = None,
            public_key: str | None = None, origin: str | None = None,
            timeout: float = 30.0) -> WitnessResult:
    """Run the witness once against the case service at `url`."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=url, headers=headers, timeout=timeout) as client:
        return Witness(client, state, public_key=public_key, origin=origin).run()
