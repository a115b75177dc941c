"""Rotating the master key: data keys are re-wrapped under the new key while the services keep
working, debtor ids and contact-point references stay the same, erasures stay erased, and the
audit chain is untouched."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from case_service.application import CaseApplication, pii, placement
from case_service.application.placement import AccountInput, DebtorInput, PlacementBatch
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from casetrail.crypto import CryptoError, MasterKey
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, fresh_database

OLD, NEW, NEWER = (MasterKey.generate_b64() for _ in range(3))
AT = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    with fresh_database(request.param, tmp_path, "rotation") as database_url:
        yield database_url  # type: ignore[misc]


def app(url: str, tmp_path: Path, **keys: str) -> CaseApplication:
    common = CommonSettings(var_dir=tmp_path / "var", audit_signing_key="11" * 32, **keys)
    return build_application(CaseSettings(database_url=url), common)


def place(application: CaseApplication, ref: str, national_ids: list[str]) -> list[UUID]:
    receipt, _ = placement.place(application, PlacementBatch(
        creditor_id="BANK1", placement_ref=ref, received_at=AT, request_sha256=ref,
        accounts=[AccountInput(
            index=i, account_ref=f"{ref}-{i}", currency="CNY", dpd=40, agency_id="AG-A",
            balances={"principal": Decimal("10.00")},
            debtor=DebtorInput(name=f"name {n}", national_id=n, phones=("+8613800000000",),
                               address=None, email=None, timezone="Asia/Shanghai"))
            for i, n in enumerate(national_ids)]), actor="creditor")
    return [UUID(a["case_id"]) for a in receipt["accepted"]]


def names(application: CaseApplication, case_ids: list[UUID]) -> list[str | None]:
    result = []
    for case_id in case_ids:
        case = application.get_case(case_id)
        pii = application.vault.open(case.debtor_id, case.debtor_pii)
        result.append(None if pii is None else pii["name"])
    return result


def test_rotation_rewraps_every_key_and_keeps_ids(url: str, tmp_path: Path) -> None:
    before = app(url, tmp_path, master_key=OLD)
    first = place(before, "P1", [f"N{i}" for i in range(25)])
    debtor_ids = [before.get_case(c).debtor_id for c in first]
    erased = debtor_ids[3]
    assert before.vault.erase(erased)
    point = pii.contact_point(before, before.get_case(first[0]), "+8613800000000").ref
    before.audit.checkpoint()
    before.close()

    # Step 1: every service runs with the new key, the old one as previous, and the old one as
    # the blind-index key. Nothing is re-wrapped yet and everything still opens.
    during = app(url, tmp_path, master_key=NEW, previous_master_keys=OLD, blind_index_key=OLD)
    expected = [f"name N{i}" if i != 3 else None for i in range(25)]
    assert names(during, first) == expected
    second = place(during, "P2", ["N0", "N99"])  # N0 is a known debtor: same id
    assert during.get_case(second[0]).debtor_id == debtor_ids[0]
    assert pii.contact_point(during, during.get_case(first[0]), "+8613800000000").ref == point

    # Step 2: re-wrap. Only the 24 live keys wrapped under the old key move (N99 was wrapped
    # under the new one; the erased key stays erased); a second run has nothing to do.
    seen: list[int] = []
    assert during.vault.rotate_master(seen.append, batch=10) == 24
    assert sum(seen) == 24
    assert during.vault.rotate_master() == 0
    assert during.audit.verify().ok
    during.close()

    # Step 3: the old key is gone from the ring (kept only as the blind-index key).
    after = app(url, tmp_path, master_key=NEW, blind_index_key=OLD)
    after.vault._cache.clear()
    assert names(after, first) == expected
    assert names(after, second) == ["name N0", "name N99"]
    assert after.vault.erase(debtor_ids[5])
    after.vault._cache.clear()
    assert names(after, first[5:6]) == [None]
    after.close()

    # Without the ring, a key wrapped under OLD no longer opens: the re-wrap really happened,
    # and nothing opens under a key that never wrapped it.
    stranger = app(url, tmp_path, master_key=NEWER, blind_index_key=OLD)
    with pytest.raises(CryptoError):
        names(stranger, first[:1])
    stranger.close()


def test_previous_keys_without_a_blind_index_key_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CASETRAIL_BLIND_INDEX_KEY"):
        CommonSettings(var_dir=tmp_path, master_key=NEW, previous_master_keys=OLD)


def test_the_ring_opens_under_current_and_previous_keys_only() -> None:
    ring = MasterKey.from_b64(NEW, previous=(OLD,), index_key=OLD)
    old = MasterKey.from_b64(OLD)
    wrapped_old = old.wrap(b"k" * 32, "d-1")
    assert ring.unwrap(wrapped_old, "d-1") == b"k" * 32
    assert not ring.wrapped_by_current(wrapped_old, "d-1")
    assert ring.wrapped_by_current(ring.wrap(b"k" * 32, "d-1"), "d-1")
    with pytest.raises(CryptoError):
        ring.unwrap(wrapped_old, "d-2")  # bound to its debtor
    assert ring.blind_index("BANK1", "N0") == old.blind_index("BANK1", "N0")
    assert ring.key_id != old.key_id
    assert OLD not in repr(ring)
    assert "secret" not in json.dumps(repr(ring))
