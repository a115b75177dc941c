"""Shared settings: production refuses missing or placeholder secrets; development makes its own.

The autouse fixture in conftest.py hides any CASETRAIL_* variables of the developer's shell.
"""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pydantic
import pytest
from casetrail.clock import SYSTEM_CLOCK, ManualClock, OffsetClock
from casetrail.crypto import CryptoError, MasterKey
from casetrail.security import KeyEntry, Role, hash_key
from casetrail.settings import (
    DEV_PRINCIPALS,
    PLACEHOLDER_SECRETS,
    CommonSettings,
    ensure_dev_secrets,
)

MASTER = MasterKey.generate_b64()
API_KEYS = json.dumps([KeyEntry("ops", hash_key("raw-ops-key"), Role.ADMIN, None).to_json()])


def production(tmp_path: Path, **overrides: object) -> CommonSettings:
    fields: dict[str, object] = {"env": "production", "var_dir": tmp_path / "var",
                                 "master_key": MASTER, "api_keys": API_KEYS}
    fields.update(overrides)
    return CommonSettings(**fields)  # type: ignore[arg-type]


def test_settings_default_to_development() -> None:
    assert CommonSettings().env == "development"


def test_production_with_real_secrets_starts(tmp_path: Path) -> None:
    settings = production(tmp_path)
    assert settings.master.secret == MasterKey.from_b64(MASTER).secret
    assert settings.keyring.authenticate("raw-ops-key").role is Role.ADMIN


def test_production_never_creates_development_secrets(tmp_path: Path) -> None:
    settings = production(tmp_path)
    settings.master  # noqa: B018
    settings.keyring  # noqa: B018
    assert not (tmp_path / "var").exists()


def test_production_refuses_a_missing_master_key(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError, match="CASETRAIL_MASTER_KEY"):
        production(tmp_path, master_key=None)


def test_production_refuses_a_master_key_file_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError, match="CASETRAIL_MASTER_KEY"):
        production(tmp_path, master_key=None, master_key_file=tmp_path / "missing.key")


@pytest.mark.parametrize("placeholder", ["", "changeme", "CHANGEME", "  secret  ", "dev", "todo",
                                         "change-me", "placeholder"])
def test_production_refuses_a_placeholder_master_key(tmp_path: Path, placeholder: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="CASETRAIL_MASTER_KEY"):
        production(tmp_path, master_key=placeholder)


def test_production_refuses_a_malformed_master_key(tmp_path: Path) -> None:
    # Refused at start-up; the CryptoError is not a ValueError, so pydantic lets it through.
    with pytest.raises((pydantic.ValidationError, CryptoError), match="master key"):
        production(tmp_path, master_key="bm90IDMyIGJ5dGVz")


def test_production_refuses_missing_api_keys(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError, match="CASETRAIL_API_KEYS"):
        production(tmp_path, api_keys=None)


def test_production_refuses_an_api_keys_file_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError, match="CASETRAIL_API_KEYS"):
        production(tmp_path, api_keys=None, api_keys_file=tmp_path / "missing.json")


@pytest.mark.parametrize("placeholder", ["", "changeme", "Example", " xxx "])
def test_production_refuses_placeholder_api_keys(tmp_path: Path, placeholder: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="CASETRAIL_API_KEYS"):
        production(tmp_path, api_keys=placeholder)


def test_production_reads_secrets_from_files(tmp_path: Path) -> None:
    (tmp_path / "master.key").write_text(MASTER + "\n")
    (tmp_path / "keys.json").write_text(API_KEYS)
    settings = production(tmp_path, master_key=None, api_keys=None,
                          master_key_file=tmp_path / "master.key",
                          api_keys_file=tmp_path / "keys.json")
    assert settings.master.secret == MasterKey.from_b64(MASTER).secret
    assert len(settings.keyring) == 1


def test_production_mode_is_read_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASETRAIL_ENV", "production")
    monkeypatch.setenv("CASETRAIL_VAR_DIR", str(tmp_path / "var"))
    with pytest.raises(pydantic.ValidationError, match="CASETRAIL_MASTER_KEY"):
        CommonSettings()
    monkeypatch.setenv("CASETRAIL_MASTER_KEY", MASTER)
    monkeypatch.setenv("CASETRAIL_API_KEYS", API_KEYS)
    assert CommonSettings().env == "production"


def test_secrets_do_not_show_in_the_settings_repr(tmp_path: Path) -> None:
    settings = production(tmp_path)
    assert MASTER not in repr(settings)
    assert hash_key("raw-ops-key") not in repr(settings)


def test_the_placeholder_list_covers_the_usual_suspects() -> None:
    assert {"", "changeme", "secret", "test"} <= PLACEHOLDER_SECRETS


def test_development_creates_its_secrets_on_first_use(tmp_path: Path) -> None:
    settings = CommonSettings(var_dir=tmp_path / "var")
    key = settings.master
    assert len(key.secret) == 32
    folder = tmp_path / "var" / "dev"
    assert (folder / "master.key").read_text().strip()
    assert len(settings.keyring) == len(DEV_PRINCIPALS)
    assert {p.name for p in folder.iterdir()} == {"master.key", "api-keys.json",
                                                  "dev-keys.json", "audit-signing.key"}


def test_development_secrets_are_private_files(tmp_path: Path) -> None:
    secrets = ensure_dev_secrets(tmp_path)
    for path in (secrets.master_file, secrets.keys_file, secrets.plain_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_development_keys_authenticate_as_the_development_principals(tmp_path: Path) -> None:
    settings = CommonSettings(var_dir=tmp_path)
    plain = ensure_dev_secrets(tmp_path).plain_keys()
    assert set(plain) == {key_id for key_id, _, _ in DEV_PRINCIPALS}
    for key_id, role, tenant in DEV_PRINCIPALS:
        principal = settings.keyring.authenticate(plain[key_id])
        assert (principal.key_id, principal.role, principal.tenant) == (key_id, role, tenant)


def test_the_keys_file_stores_only_hashes(tmp_path: Path) -> None:
    secrets = ensure_dev_secrets(tmp_path)
    stored = secrets.keys_file.read_text()
    for raw in secrets.plain_keys().values():
        assert raw not in stored
        assert hash_key(raw) in stored


def test_development_secrets_are_made_once_and_then_reused(tmp_path: Path) -> None:
    first = ensure_dev_secrets(tmp_path)
    master, plain = first.master_key, first.plain_keys()
    again = ensure_dev_secrets(tmp_path)
    assert again.master_key == master
    assert again.plain_keys() == plain
    assert CommonSettings(var_dir=tmp_path).master.secret == MasterKey.from_b64(master).secret


def test_lost_development_keys_are_made_again_but_the_master_key_stays(tmp_path: Path) -> None:
    first = ensure_dev_secrets(tmp_path)
    master, plain = first.master_key, first.plain_keys()
    first.plain_file.unlink()
    again = ensure_dev_secrets(tmp_path)
    assert again.master_key == master
    assert again.plain_keys() != plain


def test_development_uses_a_configured_master_key_without_making_one(tmp_path: Path) -> None:
    settings = CommonSettings(var_dir=tmp_path / "var", master_key=MASTER)
    assert settings.master.secret == MasterKey.from_b64(MASTER).secret
    assert not (tmp_path / "var").exists()


def test_development_accepts_placeholder_secrets_being_absent(tmp_path: Path) -> None:
    settings = CommonSettings(var_dir=tmp_path, api_keys=None, master_key=None)
    assert settings.env == "development"


def test_development_makes_an_audit_signing_key_and_production_demands_one(tmp_path: Path
                                                                           ) -> None:
    dev = CommonSettings(var_dir=tmp_path)
    assert len(dev.audit_signing_key_bytes) == 32
    assert CommonSettings(var_dir=tmp_path).audit_signing_key_bytes == \
        dev.audit_signing_key_bytes  # made once, then reused
    assert CommonSettings(audit_signing_key="ab" * 32).audit_signing_key_bytes == b"\xab" * 32
    with pytest.raises(ValueError, match="64 hex digits"):
        _ = CommonSettings(audit_signing_key="not hex").audit_signing_key_bytes
    with pytest.raises(ValueError, match="32 bytes"):
        _ = CommonSettings(audit_signing_key="ab" * 16).audit_signing_key_bytes


def test_a_configuration_error_names_the_problem_without_echoing_secrets(tmp_path: Path
                                                                         ) -> None:
    import os
    import subprocess
    import sys

    master, previous = MasterKey.generate_b64(), MasterKey.generate_b64()
    env = {**os.environ, "CASETRAIL_MASTER_KEY": master, "CASETRAIL_VAR_DIR": str(tmp_path),
           "CASETRAIL_PREVIOUS_MASTER_KEYS": previous}
    result = subprocess.run([sys.executable, "-m", "casetrail.cli", "keys", "rotate-master"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "CASETRAIL_BLIND_INDEX_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    for secret in (master, previous, master[:8], previous[:8]):
        assert secret not in result.stderr + result.stdout


def test_a_clock_offset_moves_now_in_development_and_is_refused_in_production(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert CommonSettings().clock is SYSTEM_CLOCK
    monkeypatch.setenv("CASETRAIL_CLOCK_OFFSET", "P2DT3H")
    settings = CommonSettings()
    assert settings.clock_offset == timedelta(days=2, hours=3)
    ahead = settings.clock.now() - datetime.now(UTC)
    assert timedelta(days=2, hours=3) - timedelta(seconds=5) < ahead \
        <= timedelta(days=2, hours=3)
    monkeypatch.setenv("CASETRAIL_CLOCK_OFFSET", "-PT1H")
    assert CommonSettings().clock_offset == timedelta(hours=-1)
    with pytest.raises(pydantic.ValidationError, match="never production"):
        production(tmp_path, clock_offset=timedelta(days=1))


def test_an_offset_clock_follows_its_base() -> None:
    base = ManualClock(datetime(2026, 6, 1, tzinfo=UTC))
    clock = OffsetClock(timedelta(days=31), base)
    assert clock.now() == datetime(2026, 7, 2, tzinfo=UTC)
    base.advance(timedelta(hours=1))
    assert clock.now() == datetime(2026, 7, 2, 1, tzinfo=UTC)
