"""API keys, roles and tenants: who is calling and what they may do."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from casetrail.security import (
    AuthenticationError,
    Capacity,
    KeyEntry,
    KeyRing,
    Principal,
    Role,
    generate_key,
    hash_key,
)
from casetrail.web import ApiError, acting_collector

RAW = {
    "admin": "ct_admin_raw-admin-key",
    "auditor": "ct_auditor_raw-auditor-key",
    "bank1": "ct_creditor_raw-bank1-key",
    "agency_a": "ct_agency_raw-agency-a-key",
}


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing([
        KeyEntry("k-admin", hash_key(RAW["admin"]), Role.ADMIN, None),
        KeyEntry("k-audit", hash_key(RAW["auditor"]), Role.AUDITOR, None),
        KeyEntry("k-bank1", hash_key(RAW["bank1"]), Role.CREDITOR, "BANK1"),
        KeyEntry("k-ag-a", hash_key(RAW["agency_a"]), Role.AGENCY, "AG-A"),
    ])


def test_a_key_hash_is_its_sha256_hex() -> None:
    assert hash_key("abc") == hashlib.sha256(b"abc").hexdigest()
    assert hash_key("abc") != hash_key("abd")


@pytest.mark.parametrize("role", list(Role))
def test_generated_keys_are_random_and_name_their_role(role: Role) -> None:
    first, second = generate_key(role), generate_key(role)
    assert first.startswith(f"ct_{role.value}_")
    assert first != second
    assert len(first) > len(f"ct_{role.value}_") + 30


def test_a_known_key_authenticates_as_its_principal(ring: KeyRing) -> None:
    principal = ring.authenticate(RAW["bank1"])
    assert principal == Principal(key_id="k-bank1", role=Role.CREDITOR, tenant="BANK1")
    assert principal.actor == "creditor:BANK1:k-bank1"


def test_a_principal_without_tenant_is_named_with_a_wildcard(ring: KeyRing) -> None:
    assert ring.authenticate(RAW["admin"]).actor == "admin:*:k-admin"


def test_an_unknown_key_is_refused(ring: KeyRing) -> None:
    with pytest.raises(AuthenticationError, match="unknown"):
        ring.authenticate("ct_admin_not-a-key-we-know")


def test_a_key_hash_presented_as_the_key_is_refused(ring: KeyRing) -> None:
    with pytest.raises(AuthenticationError):
        ring.authenticate(hash_key(RAW["admin"]))


@pytest.mark.parametrize("raw", [None, ""])
def test_a_missing_key_is_refused(ring: KeyRing, raw: str | None) -> None:
    with pytest.raises(AuthenticationError, match="missing"):
        ring.authenticate(raw)


@pytest.mark.parametrize("role", [Role.CREDITOR, Role.AGENCY])
@pytest.mark.parametrize("tenant", [None, ""])
def test_a_creditor_or_agency_key_without_a_tenant_is_refused(
        role: Role, tenant: str | None) -> None:
    with pytest.raises(ValueError, match="needs a tenant"):
        KeyRing([KeyEntry("k1", hash_key("x"), role, tenant)])


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR])
def test_admin_and_auditor_keys_need_no_tenant(role: Role) -> None:
    assert len(KeyRing([KeyEntry("k1", hash_key("x"), role, None)])) == 1


def test_an_auditor_reads_everything_and_writes_nothing(ring: KeyRing) -> None:
    auditor = ring.authenticate(RAW["auditor"])
    assert auditor.role is Role.AUDITOR
    assert auditor.can_write is False
    assert auditor.sees_pii_unmasked is True


@pytest.mark.parametrize("name", ["admin", "bank1", "agency_a"])
def test_other_roles_write_and_see_pii_masked(ring: KeyRing, name: str) -> None:
    principal = ring.authenticate(RAW[name])
    assert principal.can_write is True
    assert principal.sees_pii_unmasked is False


def test_a_keyring_parses_from_json_with_upper_case_hashes() -> None:
    text = json.dumps([
        {"id": "k1", "sha256": hash_key("raw-1").upper(), "role": "agency", "tenant": "AG-A"},
        {"id": "k2", "sha256": hash_key("raw-2"), "role": "auditor"},
    ])
    ring = KeyRing.from_json(text)
    assert len(ring) == 2
    assert ring.authenticate("raw-1") == Principal("k1", Role.AGENCY, "AG-A")
    assert ring.authenticate("raw-2") == Principal("k2", Role.AUDITOR, None)


def test_key_entries_survive_their_file_form() -> None:
    entry = KeyEntry("k1", hash_key("raw-1"), Role.CREDITOR, "BANK1")
    assert entry.to_json() == {"id": "k1", "sha256": hash_key("raw-1"), "role": "creditor",
                               "tenant": "BANK1"}
    ring = KeyRing.from_json(json.dumps([entry.to_json()]))
    assert ring.authenticate("raw-1").tenant == "BANK1"


@pytest.mark.parametrize("text", ['{"id": "k1"}', '"keys"', "42"])
def test_keys_that_are_not_a_json_list_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="JSON list"):
        KeyRing.from_json(text)


def test_a_key_with_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="root"):
        KeyRing.from_json(json.dumps([{"id": "k1", "sha256": "ab", "role": "root"}]))


def test_a_creditor_key_in_json_without_tenant_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a tenant"):
        KeyRing.from_json(json.dumps([{"id": "k1", "sha256": "ab", "role": "creditor"}]))


def test_an_empty_keyring_authenticates_nobody() -> None:
    ring = KeyRing.from_json("[]")
    assert len(ring) == 0
    with pytest.raises(AuthenticationError):
        ring.authenticate("anything")


def test_a_keyring_loads_from_a_keys_file(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"
    path.write_text(json.dumps([KeyEntry("k1", hash_key("raw"), Role.ADMIN, None).to_json()]))
    assert KeyRing.from_file(path).authenticate("raw").role is Role.ADMIN


def test_a_collector_key_may_be_bound_to_one_collector() -> None:
    entry = KeyEntry("k-col", hash_key("raw-col"), Role.AGENCY, "AG-A", Capacity.COLLECTOR,
                     "COL-1")
    assert entry.to_json()["collector_id"] == "COL-1"
    ring = KeyRing.from_json(json.dumps([entry.to_json()]))
    caller = ring.authenticate("raw-col")
    assert (caller.capacity, caller.collector_id) == (Capacity.COLLECTOR, "COL-1")
    assert acting_collector(caller, None, "body.agent_id") == "COL-1"
    assert acting_collector(caller, "COL-1", "body.agent_id") == "COL-1"
    with pytest.raises(ApiError) as refused:
        acting_collector(caller, "COL-2", "body.agent_id")
    assert (refused.value.status, refused.value.code) == (403, "not_your_collector")
    supervisor = Principal("k-sup", Role.AGENCY, "AG-A")
    assert acting_collector(supervisor, "COL-2", "body.agent_id") == "COL-2"
    assert acting_collector(supervisor, None, "body.agent_id") is None
    with pytest.raises(ValueError, match="only collector keys"):
        KeyRing([KeyEntry("k-sup", hash_key("raw"), Role.AGENCY, "AG-A", None, "COL-1")])
