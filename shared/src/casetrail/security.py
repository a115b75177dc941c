"""API keys, roles and tenants: who is calling and what they may see."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class Role(StrEnum):
    """What a caller is: each role sees a different slice of the data."""

    CREDITOR = "creditor"
    AGENCY = "agency"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Capacity(StrEnum):
    """Within an agency, who holds a key: collectors work cases, supervisors approve."""

    SUPERVISOR = "supervisor"
    COLLECTOR = "collector"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a role and, for creditors and agencies, the tenant it acts for;
    for agencies also the capacity it acts in (a collector or a supervisor)."""

    key_id: str
    role: Role
    tenant: str | None = None
    capacity: Capacity | None = None  # agency keys only; None: a supervisor's key
    collector_id: str | None = None  # a collector's key bound to one registered collector

    @property
    def supervises(self) -> bool:
        """May approve what an agency's supervisor approves (field visits): an agency key
        that is not a collector's, or an admin."""
        return (self.role is Role.ADMIN
                or (self.role is Role.AGENCY and self.capacity is not Capacity.COLLECTOR))

    @property
    def actor(self) -> str:
        """How this caller is named in the events it causes."""
        return f"{self.role.value}:{self.tenant or '*'}:{self.key_id}"

    @property
    def can_write(self) -> bool:
        """Auditors read everything and write nothing."""
        return self.role is not Role.AUDITOR

    def tenant_scope(self) -> dict[str, str]:
        """Column filters that confine a query to this caller's tenant (none for auditors and
        admins): a creditor sees its creditor_id, an agency its agency_id."""
        if self.tenant is None:
            return {}
        if self.role is Role.CREDITOR:
            return {"creditor_id": self.tenant}
        if self.role is Role.AGENCY:
            return {"agency_id": self.tenant}
        return {}

    @property
    def sees_pii_unmasked(self) -> bool:
        """Only auditors see national ids in clear."""
        return self.role is Role.AUDITOR

    @property
    def sees_pii_masked(self) -> bool:
        """Collectors see a debtor's name partly and numbers only as references and hints,
        until they reveal them for a stated reason (an audited fact on the case)."""
        return self.role is Role.AGENCY and self.capacity is Capacity.COLLECTOR


class AuthenticationError(Exception):
    """The request carried no key, or a key we do not know."""


def hash_key(raw_key: str) -> str:
    """The SHA-256 of an API key: only hashes are configured or stored."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def generate_key(role: Role) -> str:
    """A new random API key with a recognisable prefix."""
    return f"ct_{role.value}_{secrets.token_urlsafe(24)}"


@dataclass(frozen=True)
class KeyEntry:
    """One configured key: its public id, hash, role and tenant."""

    key_id: str
    sha256: str
    role: Role
    tenant: str | None
    capacity: Capacity | None = None
    collector_id: str | None = None  # collector keys only: the collector it acts as

    def to_json(self) -> dict[str, Any]:
        """The form used in the keys file (`capacity`, `collector_id` only when set)."""
        return {"id": self.key_id, "sha256": self.sha256, "role": self.role.value,
                "tenant": self.tenant,
                **({"capacity": self.capacity.value} if self.capacity else {}),
                **({"collector_id": self.collector_id} if self.collector_id else {})}


class KeyRing:
    """Maps key hashes to principals; built from configuration, shared by every service."""

    def __init__(self, entries: list[KeyEntry]):
        for entry in entries:
            if entry.role in (Role.CREDITOR, Role.AGENCY) and not entry.tenant:
                raise ValueError(f"key {entry.key_id}: role {entry.role} needs a tenant")
            if entry.capacity is not None and entry.role is not Role.AGENCY:
                raise ValueError(f"key {entry.key_id}: only agency keys have a capacity")
            if entry.collector_id is not None and entry.capacity is not Capacity.COLLECTOR:
                raise ValueError(f"key {entry.key_id}: only collector keys name a collector")
        self._by_hash = {e.sha256: e for e in entries}

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        """Parse a JSON list of {id, sha256, role, tenant}."""
        rows = json.loads(text)
        if not isinstance(rows, list):
            raise ValueError("API keys must be a JSON list")
        return cls([
            KeyEntry(key_id=str(r["id"]), sha256=str(r["sha256"]).lower(), role=Role(r["role"]),
                     tenant=r.get("tenant"),
                     capacity=Capacity(r["capacity"]) if r.get("capacity") else None,
                     collector_id=r.get("collector_id"))
            for r in rows
        ])

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        """Load the keys file."""
        return cls.from_json(path.read_text())

    def __len__(self) -> int:
        return len(self._by_hash)

    def authenticate(self, raw_key: str | None) -> Principal:
        """Return the principal for a presented key, or raise AuthenticationError."""
        if not raw_key:
            raise AuthenticationError("missing API key")
        entry = self._by_hash.get(hash_key(raw_key))
        if entry is None:
            raise AuthenticationError("unknown API key")
        return Principal(key_id=entry.key_id, role=entry.role, tenant=entry.tenant,
                         capacity=entry.capacity, collector_id=entry.collector_id)
