"""Envelope encryption of PII: per-subject data keys wrapped by a master key.

Each debtor gets a random 256-bit data key. The data key is stored only wrapped
(AES-GCM under the master key, bound to the debtor id), and PII fields are sealed
under the data key (AES-GCM, bound to the debtor id). Destroying the wrapped data
key makes that debtor's PII unreadable while every other stored byte stays intact
("crypto-shredding").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_SEALED_PREFIX = "pii1:"


class CryptoError(Exception):
    """A key is missing, malformed or does not open the data."""


class PIIErased(Exception):
    """The subject's data key was destroyed: the PII is gone for good."""


def _key_bytes(value: str, what: str) -> bytes:
    raw = value.strip()
    try:
        secret = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (ValueError, TypeError) as exc:
        raise CryptoError(f"{what} is not valid base64") from exc
    if len(secret) != 32:
        raise CryptoError(f"{what} must be 32 bytes (base64 of 256 bits)")
    return secret


def key_id_of(secret: bytes) -> str:
    """A master key's public id (stored beside each data key it wraps): a fingerprint."""
    return "mk-" + hashlib.sha256(b"casetrail master key id\x1f" + secret).hexdigest()[:16]


@dataclass(frozen=True)
class MasterKey:
    """The key-encryption key ring from configuration; never stored beside the data.

    - `secret` wraps new data keys (AES-256-GCM, bound to the debtor id);
    - `previous` are retired master keys: they still unwrap data keys not yet re-wrapped
      (`casetrail keys rotate-master` re-wraps them under `secret`);
    - `index_secret` keys the blind indexes (debtor ids, contact-point references), which are
      stored in events that never change, so it must outlive rotations: it defaults to
      `secret` and, once the master key has been rotated, is the original master key.
    """

    key_id: str
    secret: bytes = field(repr=False)
    previous: tuple[bytes, ...] = field(default=(), repr=False)
    index_secret: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_b64(cls, value: str, key_id: str | None = None, *,
                 previous: tuple[str, ...] = (), index_key: str | None = None) -> MasterKey:
        """Parse base64 (standard or urlsafe) 32-byte keys."""
        secret = _key_bytes(value, "master key")
        return cls(key_id=key_id or key_id_of(secret), secret=secret,
                   previous=tuple(_key_bytes(v, "previous master key") for v in previous),
                   index_secret=None if index_key is None else _key_bytes(
                       index_key, "blind-index key"))

    @staticmethod
    def generate_b64() -> str:
        """A new random master key, base64-encoded, for `casetrail keys master`."""
        return base64.urlsafe_b64encode(os.urandom(32)).decode()

    def wrap(self, data_key: bytes, subject: str) -> bytes:
        """Encrypt a data key under the current master key, bound to its subject id."""
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data_key, subject.encode())

    def unwrap(self, wrapped: bytes, subject: str) -> bytes:
        """Decrypt a data key under the current or a previous master key; fails if it was
        wrapped for another subject or under a key not in the ring."""
        for aead in self._ring:
            try:
                return aead.decrypt(wrapped[:12], wrapped[12:], subject.encode())
            except InvalidTag:
                continue
        raise CryptoError("data key does not open under this master key (or a previous one)")

    def wrapped_by_current(self, wrapped: bytes, subject: str) -> bool:
        """Whether a wrapped data key opens under the current master key."""
        try:
            self._aead.decrypt(wrapped[:12], wrapped[12:], subject.encode())
        except InvalidTag:
            return False
        return True

    @cached_property
    def _aead(self) -> AESGCM:
        """The cipher under the master key (its key schedule is set up once, not per key)."""
        return AESGCM(self.secret)

    @cached_property
    def _ring(self) -> tuple[AESGCM, ...]:
        return (self._aead, *(AESGCM(p) for p in self.previous))

    @cached_property
    def _blind_index_mac(self) -> hmac.HMAC:
        return hmac.new(self.index_secret or self.secret, b"blind-index", hashlib.sha256)

    def blind_index(self, *parts: str) -> str:
        """A keyed hash for looking up values (like a national id) without storing them."""
        mac = self._blind_index_mac.copy()
        for part in parts:
            mac.update(b"\x1f" + part.encode())
        return mac.hexdigest()


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return AESGCM.generate_key(bit_length=256)


def seal(data_key: bytes, subject: str, plaintext: bytes) -> str:
    """Encrypt PII under a data key; the result is a printable string safe to store in events."""
    nonce = os.urandom(12)
    blob = nonce + AESGCM(data_key).encrypt(nonce, plaintext, subject.encode())
    return _SEALED_PREFIX + base64.b64encode(blob).decode()


def unseal(data_key: bytes, subject: str, sealed: str) -> bytes:
    """Decrypt a value produced by `seal` for the same subject."""
    if not sealed.startswith(_SEALED_PREFIX):
        raise CryptoError("not a sealed value")
    try:
        blob = base64.b64decode(sealed[len(_SEALED_PREFIX) :], validate=True)
    except (ValueError, TypeError) as exc:
        raise CryptoError("sealed value is not valid base64") from exc
    if len(blob) < 12 + 16:  # nonce + GCM tag: anything shorter was truncated
        raise CryptoError("sealed value is truncated")
    try:
        return AESGCM(data_key).decrypt(blob[:12], blob[12:], subject.encode())
    except InvalidTag as exc:
        raise CryptoError("sealed value does not open under this data key") from exc


def mask(value: str, keep: int = 4) -> str:
    """Mask all but the last `keep` characters: 110101199001011234 -> **************1234."""
    if keep <= 0 or len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


def contact_point_ref(master: MasterKey, debtor_id: str, number: str) -> str:
    """An opaque, stable reference to one of a debtor's numbers or addresses.

    Consumers count contacts per number (frequency caps) by this reference without ever
    seeing the number; it cannot be reversed, and it survives crypto-shredding harmlessly.
    """
    normalized = "".join(ch for ch in number.strip().lower() if ch not in " -().")
    return "cp-" + master.blind_index("contact-point", debtor_id, normalized)[:24]
