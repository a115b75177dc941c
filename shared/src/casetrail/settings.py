"""Settings every service shares (prefix CASETRAIL_) and the development secrets of `make run`."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from casetrail.clock import DEFAULT_TIMEZONE, SYSTEM_CLOCK, Clock, OffsetClock, check_zone
from casetrail.crypto import MasterKey
from casetrail.security import Capacity, KeyEntry, KeyRing, Role, generate_key, hash_key

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "placeholder", "dev", "test",
                       "xxx", "todo", "example"}


class CommonSettings(BaseSettings):
    """Deployment mode, secrets and shared paths."""

    model_config = SettingsConfigDict(env_prefix="CASETRAIL_", extra="ignore",
                                      hide_input_in_errors=True)  # URLs and keys are secrets

    env: Literal["development", "production"] = "development"
    var_dir: Path = Path("var")
    api_keys: SecretStr | None = None
    api_keys_file: Path | None = None
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    # Master-key rotation (docs/operations.md): retired master keys, comma-separated, that
    # still unwrap data keys until `casetrail keys rotate-master` has re-wrapped them; and the
    # key the blind indexes (debtor ids, contact-point refs) were made with, which outlives
    # rotations (default: the master key, as before any rotation).
    previous_master_keys: SecretStr | None = None
    blind_index_key: SecretStr | None = None
    log_level: str = "INFO"
    log_json: bool = True
    audit_signing_key: SecretStr | None = None  # hex of a 32-byte Ed25519 private key
    audit_signing_key_file: Path | None = None
    metrics_port: int | None = None  # workers serve /healthz /readyz /metrics here
    # Freeze a process's start-up heap once it is built (casetrail.heap); false keeps
    # CPython's collector as it is (to compare, or should a process need it).
    gc_freeze: bool = True
    ready_max_lag: int = 10_000  # a relay or consumer further behind than this is not ready
    max_body_bytes: int = 64 * 1024 * 1024  # every API answers 413 above this (web.py)
    # The zone of every day a user sees when no creditor, contract or agency states its own
    # (docs/time.md). UTC days are a choice: set "UTC".
    default_timezone: str = DEFAULT_TIMEZONE
    # A rehearsal environment's clock ahead of (or behind) the machine's, e.g. "P2D" or
    # "-PT3H" (ISO 8601 durations; docs/time.md); never in production.
    clock_offset: timedelta = timedelta(0)

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_zone(value)

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> CommonSettings:
        if self.previous_master_keys is not None and self.blind_index_key is None:
            raise ValueError(
                "CASETRAIL_PREVIOUS_MASTER_KEYS is set, so the master key was rotated: set "
                "CASETRAIL_BLIND_INDEX_KEY to the key the debtor ids were made with (the "
                "master key before the first rotation), or the same debtor would get a new id")
        if self.env != "production":
            return self
        if self.clock_offset:
            raise ValueError("CASETRAIL_CLOCK_OFFSET moves every service's clock: it is for "
                             "rehearsal environments, never production")
        master = self._master_key_text()
        if master is None or master.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("production mode needs CASETRAIL_MASTER_KEY (or _FILE); "
                             "generate one with `casetrail keys master`")
        # Refuses malformed keys at start-up, not at first use.
        MasterKey.from_b64(master, previous=self._previous_master_keys(),
                           index_key=self._blind_index_key())
        keys = self._api_keys_text()
        if keys is None or keys.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("production mode needs CASETRAIL_API_KEYS (or _FILE)")
        return self

    def _master_key_text(self) -> str | None:
        if self.master_key is not None:
            return self.master_key.get_secret_value()
        if self.master_key_file is not None and self.master_key_file.exists():
            return self.master_key_file.read_text().strip()
        return None

    def _api_keys_text(self) -> str | None:
        if self.api_keys is not None:
            return self.api_keys.get_secret_value()
        if self.api_keys_file is not None and self.api_keys_file.exists():
            return self.api_keys_file.read_text()
        return None

    @cached_property
    def clock(self) -> Clock:
        """Where "now" comes from: the machine's clock, moved by CASETRAIL_CLOCK_OFFSET."""
        return OffsetClock(self.clock_offset) if self.clock_offset else SYSTEM_CLOCK

    @cached_property
    def master(self) -> MasterKey:
        """The master key; in development a key under var/dev is made on first use."""
        text = self._master_key_text()
        if text is None:
            if self.env == "production":
                raise ValueError("no master key configured")
            text = ensure_dev_secrets(self.var_dir).master_key
        return MasterKey.from_b64(text, previous=self._previous_master_keys(),
                                  index_key=self._blind_index_key())

    def _previous_master_keys(self) -> tuple[str, ...]:
        text = "" if self.previous_master_keys is None else \
            self.previous_master_keys.get_secret_value()
        return tuple(k.strip() for k in text.split(",") if k.strip())

    def _blind_index_key(self) -> str | None:
        return None if self.blind_index_key is None else self.blind_index_key.get_secret_value()

    @cached_property
    def audit_signing_key_bytes(self) -> bytes:
        """The Ed25519 key that signs audit checkpoints; in development one under var/dev."""
        text = None
        if self.audit_signing_key is not None:
            text = self.audit_signing_key.get_secret_value()
        elif self.audit_signing_key_file is not None and self.audit_signing_key_file.exists():
            text = self.audit_signing_key_file.read_text()
        if text is None:
            if self.env == "production":
                raise ValueError("no audit signing key: set CASETRAIL_AUDIT_SIGNING_KEY (or "
                                 "_FILE); make one with `casetrail keys audit`")
            text = ensure_dev_secrets(self.var_dir).audit_file.read_text()
        try:
            key = bytes.fromhex(text.strip())
        except ValueError as exc:
            raise ValueError("the audit signing key must be 64 hex digits") from exc
        if len(key) != 32:
            raise ValueError("the audit signing key must be 32 bytes (64 hex digits)")
        return key

    @cached_property
    def keyring(self) -> KeyRing:
        """The API keys; in development the keys under var/dev are made on first use."""
        text = self._api_keys_text()
        if text is None:
            if self.env == "production":
                raise ValueError("no API keys configured")
            text = ensure_dev_secrets(self.var_dir).keys_file.read_text()
        return KeyRing.from_json(text)


class DevSecrets:
    """Locally generated secrets for the embedded default; never used in production mode."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.keys_file = folder / "api-keys.json"
        self.plain_file = folder / "dev-keys.json"
        self.master_file = folder / "master.key"
        self.audit_file = folder / "audit-signing.key"

    @property
    def master_key(self) -> str:
        """The development master key."""
        return self.master_file.read_text().strip()

    def plain_keys(self) -> dict[str, str]:
        """The development API keys in clear, by key id, to print for the developer."""
        result: dict[str, str] = json.loads(self.plain_file.read_text())
        return result


DEV_PRINCIPALS: list[tuple[str, Role, str | None]] = [
    ("dev-admin", Role.ADMIN, None),
    ("dev-auditor", Role.AUDITOR, None),
    ("dev-creditor", Role.CREDITOR, "BANK-DEMO"),
    ("dev-agency", Role.AGENCY, "AGENCY-A"),
    ("dev-collector", Role.AGENCY, "AGENCY-A"),  # a collector's key (capacity collector)
]
DEV_CAPACITIES = {"dev-collector": Capacity.COLLECTOR}


def ensure_dev_secrets(var_dir: Path) -> DevSecrets:
    """Create development keys and a master key under var/dev if they are missing."""
    secrets_ = DevSecrets(var_dir / "dev")
    secrets_.folder.mkdir(parents=True, exist_ok=True)
    if not secrets_.master_file.exists():
        _write_private(secrets_.master_file, MasterKey.generate_b64())
    if not secrets_.audit_file.exists():
        _write_private(secrets_.audit_file, os.urandom(32).hex())
    if not secrets_.keys_file.exists() or not secrets_.plain_file.exists():
        plain: dict[str, str] = {}
        entries = []
        for key_id, role, tenant in DEV_PRINCIPALS:
            raw = generate_key(role)
            plain[key_id] = raw
            entries.append(KeyEntry(key_id, hash_key(raw), role, tenant,
                                    DEV_CAPACITIES.get(key_id)).to_json())
        _write_private(secrets_.plain_file, json.dumps(plain, indent=2))
        _write_private(secrets_.keys_file, json.dumps(entries, indent=2))
    return secrets_


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    tmp.replace(path)
