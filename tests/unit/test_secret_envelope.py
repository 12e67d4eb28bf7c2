"""Master key rings and the AES-256-GCM envelope of one secret."""

from __future__ import annotations

import base64
import dataclasses
import os

import pytest

from agentfold_core.errors import ConfigurationError, MasterKeyMissing, SecretUndecryptable
from agentfold_core.secrets.envelope import (
    SCHEME,
    Sealed,
    SecretIdentity,
    open_sealed,
    rewrap,
    seal,
)
from agentfold_core.secrets.keyring import KeyRing, format_key_ring, new_entry, parse_key_ring

VALUE = "sk-live-4f9c0e2b7d"
IDENTITY = SecretIdentity("acme", "support", "openai")


def _key() -> bytes:
    return os.urandom(32)


def _ring(*ids: str) -> KeyRing:
    return KeyRing({key_id: _key() for key_id in ids})


def test_ring_parses_entries_with_the_first_current() -> None:
    one, two = _key(), _key()
    text = f"new:{base64.b64encode(one).decode()}, old:{base64.urlsafe_b64encode(two).decode()}"
    ring = parse_key_ring(text, "AGENTFOLD_SECRET_KEYS")
    assert ring.current_id == "new"
    assert ring.ids == ("new", "old")
    assert ring.key("old") == two
    # Newlines separate entries too (the key file), and the format reads back.
    assert parse_key_ring(format_key_ring(ring), "file").keys == ring.keys
    assert parse_key_ring(new_entry(), "x").current_id.startswith("key-")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "holds no master key"),
        ("just-a-key", "entry 1 is not 'id:base64key'"),
        ("k1:" + base64.b64encode(b"short").decode(), "'k1' is not 32 bytes"),
        ("k1:not base64!", "'k1' is not 32 bytes"),
        ("bad id:" + base64.b64encode(bytes(32)).decode(), "a key id is"),
        ("k1:{0},k1:{0}".format(base64.b64encode(bytes(32)).decode()), "'k1' appears twice"),
    ],
)
def test_malformed_rings_are_configuration_errors(text: str, expected: str) -> None:
    with pytest.raises(ConfigurationError, match=expected) as info:
        parse_key_ring(text, "AGENTFOLD_SECRET_KEYS")
    assert info.value.message.startswith("AGENTFOLD_SECRET_KEYS")


def test_no_message_or_repr_shows_key_material() -> None:
    key = _key()
    encoded = base64.b64encode(key).decode()
    ring = KeyRing({"k1": key})
    assert encoded not in repr(ring)
    assert str(key) not in repr(ring)
    with pytest.raises(ConfigurationError) as info:
        parse_key_ring(f"k1:{encoded},k1:{encoded}", "X")
    assert encoded not in str(info.value)
    sealed = seal(ring, IDENTITY, VALUE)
    assert repr(sealed) == f"Sealed(scheme={SCHEME!r}, key_id='k1')"


def test_round_trip_and_fresh_data_key_per_seal() -> None:
    ring = _ring("k1")
    first, second = seal(ring, IDENTITY, VALUE), seal(ring, IDENTITY, VALUE)
    assert first.key_id == "k1"
    assert VALUE not in str(dataclasses.asdict(first))
    assert first.ciphertext != second.ciphertext
    assert first.wrapped_key != second.wrapped_key
    assert open_sealed(ring, IDENTITY, first) == VALUE
    assert open_sealed(ring, IDENTITY, second) == VALUE
    assert open_sealed(ring, IDENTITY, seal(ring, IDENTITY, "é ☃")) == "é ☃"


@pytest.mark.parametrize(
    "elsewhere",
    [
        SecretIdentity("other-tenant", "support", "openai"),
        SecretIdentity("acme", "other-project", "openai"),
        SecretIdentity("acme", "support", "other-secret"),
    ],
    ids=["tenant", "project", "secret"],
)
def test_a_sealed_secret_does_not_open_under_another_identity(elsewhere: SecretIdentity) -> None:
    ring = _ring("k1")
    sealed = seal(ring, IDENTITY, VALUE)
    with pytest.raises(SecretUndecryptable, match="master key 'k1'") as info:
        open_sealed(ring, elsewhere, sealed)
    assert info.value.context["key_id"] == "k1"
    assert VALUE not in str(info.value)


def test_only_the_value_copied_from_another_secret_does_not_open() -> None:
    ring = _ring("k1")
    mine = seal(ring, IDENTITY, VALUE)
    theirs = seal(ring, SecretIdentity("acme", "support", "other"), "their value")
    spliced = dataclasses.replace(mine, nonce=theirs.nonce, ciphertext=theirs.ciphertext)
    with pytest.raises(SecretUndecryptable):
        open_sealed(ring, IDENTITY, spliced)


def test_missing_and_wrong_master_keys_name_the_key_id() -> None:
    sealed = seal(_ring("k1"), IDENTITY, VALUE)
    with pytest.raises(MasterKeyMissing, match="master key 'k1' is not in the key ring") as info:
        open_sealed(_ring("k2"), IDENTITY, sealed)
    assert info.value.context["key_id"] == "k1"
    # Same id, another key: the wrap does not open.
    with pytest.raises(SecretUndecryptable, match="with master key 'k1'") as wrong:
        open_sealed(_ring("k1"), IDENTITY, sealed)
    assert wrong.value.context["key_id"] == "k1"
    # A record relabelled to another key of the ring does not open either.
    ring = KeyRing({"k1": _key(), "k2": _key()})
    relabelled = dataclasses.replace(seal(ring, IDENTITY, VALUE), key_id="k2")
    with pytest.raises(SecretUndecryptable, match="'k2'"):
        open_sealed(ring, IDENTITY, relabelled)
    with pytest.raises(SecretUndecryptable, match="unknown scheme"):
        open_sealed(ring, IDENTITY, dataclasses.replace(sealed, scheme="rot13"))


def test_rewrap_moves_to_the_current_key_and_keeps_the_ciphertext() -> None:
    old = KeyRing({"k1": _key()})
    sealed = seal(old, IDENTITY, VALUE)
    new_key = _key()
    both = KeyRing({"k2": new_key, "k1": old.key("k1")})
    moved = rewrap(both, IDENTITY, sealed)
    assert moved.key_id == "k2"
    assert (moved.nonce, moved.ciphertext) == (sealed.nonce, sealed.ciphertext)
    assert open_sealed(KeyRing({"k2": new_key}), IDENTITY, moved) == VALUE


def test_a_sealed_record_is_what_the_table_stores() -> None:
    fields = {f.name for f in dataclasses.fields(Sealed)}
    assert fields == {"scheme", "key_id", "wrapped_key", "wrap_nonce", "nonce", "ciphertext"}
