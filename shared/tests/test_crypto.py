"""Envelope encryption of PII: data keys sealed per subject, wrapped by the master key."""

from __future__ import annotations

import base64
import os

import pytest
from casetrail.crypto import CryptoError, MasterKey, mask, new_data_key, seal, unseal

MASTER_SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))


@pytest.fixture
def master() -> MasterKey:
    return MasterKey(key_id="k1", secret=MASTER_SECRET)


@pytest.fixture
def data_key() -> bytes:
    return new_data_key()


def test_a_data_key_is_256_random_bits() -> None:
    first, second = new_data_key(), new_data_key()
    assert len(first) == len(second) == 32
    assert first != second


@pytest.mark.parametrize("plaintext", [
    b"", b"x", '{"name": "\u5f20\u4e09", "national_id": "110101199001011234"}'.encode(),
    os.urandom(4096),
])
def test_sealed_pii_opens_for_the_same_subject(data_key: bytes, plaintext: bytes) -> None:
    sealed = seal(data_key, "debtor-1", plaintext)
    assert unseal(data_key, "debtor-1", sealed) == plaintext


def test_a_sealed_value_is_printable_and_hides_the_plaintext(data_key: bytes) -> None:
    sealed = seal(data_key, "debtor-1", b"110101199001011234")
    assert sealed.startswith("pii1:")
    assert sealed.isascii()
    assert sealed.isprintable()
    assert "110101199001011234" not in sealed


def test_sealing_the_same_value_twice_gives_different_ciphertexts(data_key: bytes) -> None:
    assert seal(data_key, "debtor-1", b"same") != seal(data_key, "debtor-1", b"same")


def test_sealed_pii_does_not_open_for_another_subject(data_key: bytes) -> None:
    sealed = seal(data_key, "debtor-1", b"secret")
    with pytest.raises(CryptoError):
        unseal(data_key, "debtor-2", sealed)


def test_sealed_pii_does_not_open_under_another_key(data_key: bytes) -> None:
    sealed = seal(data_key, "debtor-1", b"secret")
    with pytest.raises(CryptoError):
        unseal(new_data_key(), "debtor-1", sealed)


def test_tampered_ciphertext_does_not_open(data_key: bytes) -> None:
    sealed = seal(data_key, "debtor-1", b"secret value")
    blob = bytearray(base64.b64decode(sealed[len("pii1:"):]))
    blob[-1] ^= 0x01
    tampered = "pii1:" + base64.b64encode(bytes(blob)).decode()
    with pytest.raises(CryptoError):
        unseal(data_key, "debtor-1", tampered)


@pytest.mark.parametrize("value", ["plain text", "", "pii2:AAAA"])
def test_a_value_that_was_never_sealed_is_refused(data_key: bytes, value: str) -> None:
    with pytest.raises(CryptoError, match="not a sealed value"):
        unseal(data_key, "debtor-1", value)


def test_a_wrapped_data_key_unwraps_for_its_subject(master: MasterKey, data_key: bytes) -> None:
    wrapped = master.wrap(data_key, "debtor-1")
    assert data_key not in wrapped
    assert master.unwrap(wrapped, "debtor-1") == data_key


def test_a_wrapped_data_key_is_bound_to_its_subject(master: MasterKey, data_key: bytes) -> None:
    wrapped = master.wrap(data_key, "debtor-1")
    with pytest.raises(CryptoError):
        master.unwrap(wrapped, "debtor-2")


def test_a_wrapped_data_key_does_not_unwrap_under_another_master_key(
        master: MasterKey, data_key: bytes) -> None:
    wrapped = master.wrap(data_key, "debtor-1")
    with pytest.raises(CryptoError):
        MasterKey(key_id="k2", secret=OTHER_SECRET).unwrap(wrapped, "debtor-1")


def test_envelope_round_trip_from_master_key_to_pii(master: MasterKey) -> None:
    data_key = new_data_key()
    stored_key = master.wrap(data_key, "debtor-9")
    stored_pii = seal(data_key, "debtor-9", b'{"phone": "+86 138 0000 0000"}')
    reopened = master.unwrap(stored_key, "debtor-9")
    assert unseal(reopened, "debtor-9", stored_pii) == b'{"phone": "+86 138 0000 0000"}'


def test_a_generated_master_key_parses_back_to_32_bytes() -> None:
    text = MasterKey.generate_b64()
    key = MasterKey.from_b64(text, key_id="k7")
    assert key.key_id == "k7"
    assert len(key.secret) == 32
    assert MasterKey.generate_b64() != text


@pytest.mark.parametrize("encode", [
    base64.b64encode, base64.urlsafe_b64encode,
    lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"="),
])
def test_a_master_key_parses_from_standard_urlsafe_or_unpadded_base64(encode: object) -> None:
    secret = bytes([0xFB, 0xFF, 0xBE] * 10 + [0xFF, 0xFE])  # yields + / - _ characters
    text = encode(secret).decode()  # type: ignore[operator]
    assert MasterKey.from_b64(f"  {text}\n").secret == secret


@pytest.mark.parametrize("text", [
    base64.b64encode(bytes(16)).decode(), base64.b64encode(bytes(33)).decode(), "", "changeme",
])
def test_a_master_key_of_the_wrong_size_is_refused(text: str) -> None:
    with pytest.raises(CryptoError, match="32 bytes"):
        MasterKey.from_b64(text)


def test_a_master_key_that_is_not_base64_is_refused() -> None:
    with pytest.raises(CryptoError):
        MasterKey.from_b64("A")


def test_a_blind_index_is_stable_for_the_same_key_and_value(master: MasterKey) -> None:
    again = MasterKey(key_id="other-id", secret=MASTER_SECRET)
    index = master.blind_index("BANK1", "110101199001011234")
    assert index == master.blind_index("BANK1", "110101199001011234")
    assert index == again.blind_index("BANK1", "110101199001011234")
    assert len(index) == 64
    int(index, 16)


def test_a_blind_index_depends_on_the_key(master: MasterKey) -> None:
    other = MasterKey(key_id="k1", secret=OTHER_SECRET)
    assert master.blind_index("110101199001011234") != other.blind_index("110101199001011234")


def test_a_blind_index_depends_on_every_part_and_its_boundaries(master: MasterKey) -> None:
    indexes = {
        master.blind_index("BANK1", "123"),
        master.blind_index("BANK2", "123"),
        master.blind_index("BANK1", "124"),
        master.blind_index("BANK11", "23"),
        master.blind_index("BANK1123"),
        master.blind_index("123", "BANK1"),
    }
    assert len(indexes) == 6


def test_a_blind_index_does_not_reveal_the_value(master: MasterKey) -> None:
    assert "110101199001011234" not in master.blind_index("110101199001011234")


@pytest.mark.parametrize(("value", "keep", "expected"), [
    ("110101199001011234", 4, "**************1234"),
    ("13800000000", 4, "*******0000"),
    ("1234", 4, "****"),
    ("12", 4, "**"),
    ("", 4, ""),
    ("abcdef", 2, "****ef"),
])
def test_masking_keeps_only_the_last_characters(value: str, keep: int, expected: str) -> None:
    masked = mask(value, keep)
    assert masked == expected
    assert len(masked) == len(value)


def test_masking_with_nothing_kept_hides_everything() -> None:
    assert mask("110101199001011234", keep=0) == "*" * 18


@pytest.mark.parametrize("value", ["pii1:", "pii1:AAAA", "pii1:abc"])
def test_a_truncated_sealed_value_is_refused_as_a_crypto_error(
        data_key: bytes, value: str) -> None:
    with pytest.raises(CryptoError):
        unseal(data_key, "debtor-1", value)
