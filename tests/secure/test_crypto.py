"""Encryption at rest: tokens round-trip, bind their column, resist tampering and survive rotation.

Blind indexes and suppression hashes must stay put when keys rotate (lookups depend on it),
keys must load strictly and never show up in text, and a deleted subject key must leave data
that no key in the keyring can open.
"""

from __future__ import annotations

import base64
import os
import pickle
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rolodex.exceptions import ConfigError, InputError, TerminalError
from rolodex.secure import crypto
from rolodex.secure.crypto import (
    BLIND_INDEX_CHARS,
    Cipher,
    DecryptionError,
    Keyring,
    SubjectKeys,
    UnknownKeyError,
    is_encrypted,
)

EMAIL = "contact.email"
TEXTS = ["ada@example.org", "", "Zoë Ødegård-Łukasiewicz 日本 🙂", "x" * 5000, "a:b,c\n#d"]


def key_text(material: bytes) -> str:
    """Encode key bytes as the key formats do."""
    return base64.b64encode(material).decode()


def make_keyring(*ids: str) -> Keyring:
    """Build a keyring with fixed keys (current first) and no dedicated index key."""
    return Keyring([(key_id, bytes([number]) * 32) for number, key_id in enumerate(ids, 1)])


def flip(token: str, position: int) -> str:
    """Flip one bit of the raw bytes behind a token, keeping its shape."""
    head, _, encoded = token.rpartition(":")
    raw = bytearray(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    raw[position] ^= 0x01
    return f"{head}:{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


# Field encryption


@pytest.mark.parametrize("text", TEXTS)
def test_text_round_trips(text: str) -> None:
    cipher = Cipher(Keyring.generate())
    token = cipher.encrypt(text, context=EMAIL)
    assert token.startswith("enc1:k1:")
    assert token.isascii()
    assert is_encrypted(token)
    assert cipher.decrypt(token, context=EMAIL) == text


def test_bytes_round_trip() -> None:
    cipher = Cipher(Keyring.generate())
    data = bytes(range(256))
    assert cipher.decrypt_bytes(cipher.encrypt_bytes(data, context="blob"), context="blob") == data


def test_bytes_that_are_not_text_refuse_to_decrypt_as_text() -> None:
    cipher = Cipher(Keyring.generate())
    token = cipher.encrypt_bytes(b"\xff\xfe", context="blob")
    with pytest.raises(DecryptionError, match="bytes, not text"):
        cipher.decrypt(token, context="blob")


def test_ciphertext_does_not_contain_the_plaintext() -> None:
    cipher = Cipher(Keyring.generate())
    plain = "ada.lovelace@example.org"
    token = cipher.encrypt(plain, context=EMAIL)
    encoded = token.rpartition(":")[2]
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    assert plain not in token
    assert plain.encode() not in raw
    assert b"lovelace" not in raw


def test_same_plaintext_gives_different_tokens() -> None:
    cipher = Cipher(Keyring.generate())
    tokens = {cipher.encrypt("ada@example.org", context=EMAIL) for _ in range(50)}
    tokens |= set(cipher.encrypt_many(["ada@example.org"] * 50, context=EMAIL))
    assert len(tokens) == 100
    nonces = {base64.urlsafe_b64decode(token[8:] + "==")[:12] for token in tokens}
    assert len(nonces) == 100


def test_context_is_bound() -> None:
    cipher = Cipher(Keyring.generate())
    token = cipher.encrypt("ada@example.org", context=EMAIL)
    with pytest.raises(DecryptionError, match="another column"):
        cipher.decrypt(token, context="contact.phone")


def test_empty_context_is_refused() -> None:
    cipher = Cipher(Keyring.generate())
    with pytest.raises(InputError, match="context"):
        cipher.encrypt("x", context="")


@pytest.mark.parametrize("position", [0, 11, 12, -1])
def test_tampering_is_detected(position: int) -> None:
    cipher = Cipher(Keyring.generate())
    token = cipher.encrypt("ada@example.org", context=EMAIL)
    tampered = flip(token, position)
    assert tampered != token
    with pytest.raises(DecryptionError, match="altered"):
        cipher.decrypt(tampered, context=EMAIL)


def test_swapping_the_key_id_is_detected() -> None:
    old = make_keyring("k1")
    cipher = Cipher(old.rotated())
    token = cipher.encrypt("ada@example.org", context=EMAIL)
    with pytest.raises(DecryptionError):
        cipher.decrypt(token.replace(":k2:", ":k1:"), context=EMAIL)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "ada@example.org",
        "enc1:k1",
        "enc1:k1:",
        "enc1:k1:%%%",
        "enc1:k1:AAAA",
        "sub1:k1:AAAA",
        "enc1:k1:" + "é" * 40,
    ],
)
def test_malformed_tokens_raise_decryption_error(token: str) -> None:
    cipher = Cipher(Keyring.generate())
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, context=EMAIL)
    assert issubclass(DecryptionError, TerminalError)


def test_unknown_key_id_says_which_key() -> None:
    token = Cipher(make_keyring("k9")).encrypt("ada@example.org", context=EMAIL)
    with pytest.raises(UnknownKeyError, match="'k9'") as caught:
        Cipher(make_keyring("k1")).decrypt(token, context=EMAIL)
    assert caught.value.key_id == "k9"


def test_a_keyring_with_another_key_under_the_same_id_cannot_decrypt() -> None:
    token = Cipher(Keyring.generate()).encrypt("ada@example.org", context=EMAIL)
    with pytest.raises(DecryptionError):
        Cipher(Keyring.generate()).decrypt(token, context=EMAIL)


def test_is_encrypted() -> None:
    cipher = Cipher(Keyring.generate())
    subject_key = SubjectKeys.new_subject_key()
    assert is_encrypted(cipher.encrypt("", context=EMAIL))
    assert is_encrypted(SubjectKeys(cipher.keyring).wrap(subject_key, subject="c1"))
    subject = SubjectKeys.new_subject_ids(1)[0]
    token = SubjectKeys.encrypt_for_subject(
        "x", subject=subject, subject_key=subject_key, context=EMAIL
    )
    assert is_encrypted(token)
    for value in [
        None,
        42,
        b"enc1:k1:",
        "",
        "ada@example.org",
        "enc1:k1:short",
        "enc1::" + "A" * 40,
    ]:
        assert not is_encrypted(value)


# Batches


def test_many_round_trip_with_none() -> None:
    cipher = Cipher(Keyring.generate())
    values = [*TEXTS, None, "ada@example.org", None]
    tokens = cipher.encrypt_many(values, context=EMAIL)
    assert [token is None for token in tokens] == [value is None for value in values]
    assert cipher.decrypt_many(tokens, context=EMAIL) == values
    assert [
        None if token is None else cipher.decrypt(token, context=EMAIL) for token in tokens
    ] == values
    assert cipher.encrypt_many([], context=EMAIL) == []


def test_decrypt_many_names_the_bad_position() -> None:
    cipher = Cipher(Keyring.generate())
    tokens = cipher.encrypt_many(["a", "b", "c"], context=EMAIL)
    assert tokens[2] is not None
    tokens[2] = flip(tokens[2], 5)
    with pytest.raises(DecryptionError, match="value 2 of the batch"):
        cipher.decrypt_many(tokens, context=EMAIL)


def test_decrypt_many_reads_tokens_of_several_keys() -> None:
    old = make_keyring("k1")
    new = old.rotated()
    first = Cipher(old).encrypt_many(["a", "b"], context=EMAIL)
    second = Cipher(new).encrypt_many(["c", None], context=EMAIL)
    assert Cipher(new).decrypt_many(first + second, context=EMAIL) == [
        "a",
        "b",
        "c",
        None,
    ]


def test_decrypt_many_unknown_key_keeps_its_kind() -> None:
    tokens = Cipher(make_keyring("k7")).encrypt_many(["a"], context=EMAIL)
    with pytest.raises(UnknownKeyError, match="value 1 of the batch") as caught:
        Cipher(make_keyring("k1")).decrypt_many([None, *tokens], context=EMAIL)
    assert caught.value.key_id == "k7"


# Rotation


def test_rotation_keeps_old_tokens_readable_and_encrypts_with_the_new_key() -> None:
    old = Keyring.generate()
    old_token = Cipher(old).encrypt("ada@example.org", context=EMAIL)
    new = old.rotated()
    assert new.current_id == "k2"
    assert new.key_ids == ("k2", "k1")
    cipher = Cipher(new)
    assert cipher.decrypt(old_token, context=EMAIL) == "ada@example.org"
    new_token = cipher.encrypt("grace@example.org", context=EMAIL)
    assert new_token.startswith("enc1:k2:")
    with pytest.raises(UnknownKeyError):
        Cipher(old).decrypt(new_token, context=EMAIL)


def test_rotation_picks_a_free_id_or_the_given_one() -> None:
    keyring = make_keyring("k3", "legacy")
    assert keyring.rotated().current_id == "k4"
    assert make_keyring("legacy").rotated().current_id == "k1"
    assert keyring.rotated(key_id="2025-06").current_id == "2025-06"
    with pytest.raises(ConfigError, match="already"):
        keyring.rotated(key_id="legacy")


def test_needs_rotation_and_reencrypt() -> None:
    old = make_keyring("k1")
    old_token = Cipher(old).encrypt("ada@example.org", context=EMAIL)
    cipher = Cipher(old.rotated())
    assert cipher.needs_rotation(old_token)
    fresh = cipher.reencrypt(old_token, context=EMAIL)
    assert fresh.startswith("enc1:k2:")
    assert not cipher.needs_rotation(fresh)
    assert cipher.decrypt(fresh, context=EMAIL) == "ada@example.org"
    assert cipher.reencrypt(fresh, context=EMAIL) == fresh
    with pytest.raises(DecryptionError):
        cipher.reencrypt(old_token, context="contact.phone")
    with pytest.raises(DecryptionError):
        cipher.needs_rotation("ada@example.org")


def test_reencrypt_many() -> None:
    old = make_keyring("k1")
    old_tokens = Cipher(old).encrypt_many(["a", None, "b"], context=EMAIL)
    cipher = Cipher(old.rotated())
    current = cipher.encrypt("c", context=EMAIL)
    result = cipher.reencrypt_many([*old_tokens, current], context=EMAIL)
    assert result[1] is None
    assert result[3] == current
    assert all(token is None or not cipher.needs_rotation(token) for token in result)
    assert cipher.decrypt_many(result, context=EMAIL) == ["a", None, "b", "c"]
    with pytest.raises(DecryptionError, match="value 0 of the batch"):
        cipher.reencrypt_many(old_tokens, context="contact.phone")


# Blind indexes and suppression hashes


def test_blind_index_is_stable_and_distinguishes_values_and_fields() -> None:
    cipher = Cipher(Keyring.generate())
    index = cipher.blind_index("ada@example.org", field=EMAIL)
    assert len(index) == BLIND_INDEX_CHARS
    assert int(index, 16) >= 0
    assert cipher.blind_index("ada@example.org", field=EMAIL) == index
    assert Cipher(cipher.keyring).blind_index("ada@example.org", field=EMAIL) == index
    assert cipher.blind_index("ada@example.com", field=EMAIL) != index
    assert cipher.blind_index("ada@example.org", field="contact.secondary_email") != index
    assert Cipher(Keyring.generate()).blind_index("ada@example.org", field=EMAIL) != index
    assert cipher.blind_index_many(["ada@example.org", None, ""], field=EMAIL) == [
        index,
        None,
        cipher.blind_index("", field=EMAIL),
    ]


@pytest.mark.parametrize("keyring", [Keyring.generate(), make_keyring("k1")])
def test_blind_index_and_suppression_hash_survive_rotation(keyring: Keyring) -> None:
    before = Cipher(keyring)
    rotated = keyring.rotated().rotated()
    after = Cipher(rotated)
    assert after.blind_index("ada@example.org", field=EMAIL) == before.blind_index(
        "ada@example.org", field=EMAIL
    )
    assert after.hash_for_suppression("ada@example.org", kind="email") == (
        before.hash_for_suppression("ada@example.org", kind="email")
    )
    # The index key was pinned: retiring every old master key moves nothing.
    retired = Keyring.from_text(rotated.to_text().replace(f"\n{keyring.current_id}:", "\n#"))
    assert keyring.current_id not in retired.key_ids
    assert Cipher(retired).blind_index("ada@example.org", field=EMAIL) == before.blind_index(
        "ada@example.org", field=EMAIL
    )


def test_without_an_index_entry_the_oldest_key_indexes() -> None:
    ring = Keyring([("k2", bytes([2]) * 32), ("k1", bytes([1]) * 32)])
    assert not ring.has_index_key
    assert "oldest (k1)" in repr(ring)
    index = Cipher(ring).blind_index("x", field="f")
    assert Cipher(Keyring([("k1", bytes([1]) * 32)])).blind_index("x", field="f") == index
    assert Cipher(Keyring([("k2", bytes([2]) * 32)])).blind_index("x", field="f") != index
    assert ring.rotated().has_index_key


def test_suppression_hash() -> None:
    cipher = Cipher(Keyring.generate())
    digest = cipher.hash_for_suppression("ada@example.org", kind="email")
    assert len(digest) == 64
    assert all(c in "0123456789abcdef" for c in digest)  # hex only: no "@", no "example"
    assert cipher.hash_for_suppression("ada@example.org", kind="email") == digest
    assert cipher.hash_for_suppression("ada@example.org", kind="phone") != digest
    assert cipher.hash_for_suppression("bob@example.org", kind="email") != digest
    assert not digest.startswith(cipher.blind_index("ada@example.org", field="email"))
    with pytest.raises(InputError):
        cipher.hash_for_suppression("x", kind="")


# Keys: loading, serialising, never shown


def test_from_env_inline_first_is_current() -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    keyring = Keyring.from_env({"ROLODEX_KEYS": f" k2:{key_text(k2)} , k1:{key_text(k1)},"})
    assert keyring.current_id == "k2"
    assert keyring.key_ids == ("k2", "k1")
    token = Cipher(Keyring([("k1", k1)])).encrypt("a", context=EMAIL)
    assert Cipher(keyring).decrypt(token, context=EMAIL) == "a"


def test_from_env_accepts_url_safe_base64_without_padding() -> None:
    material = b"\xfb\xff" * 16
    encoded = base64.urlsafe_b64encode(material).decode().rstrip("=")
    assert "-" in encoded or "_" in encoded
    keyring = Keyring.from_env({"ROLODEX_KEYS": f"k1:{encoded}"})
    assert keyring.to_text() == Keyring([("k1", material)]).to_text()


def test_text_round_trips_through_env_and_file(tmp_path: Path) -> None:
    keyring = Keyring.generate().rotated()
    assert Keyring.from_text(keyring.to_text()).to_text() == keyring.to_text()
    again = Keyring.from_env({"ROLODEX_KEYS": keyring.to_env_value()})
    assert again.to_text() == keyring.to_text()
    path = tmp_path / "keys.txt"
    keyring.write(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = Keyring.from_env({"ROLODEX_KEY_FILE": str(path)})
    assert loaded.to_text() == keyring.to_text()
    token = Cipher(keyring).encrypt("a", context=EMAIL)
    assert Cipher(loaded).decrypt(token, context=EMAIL) == "a"
    with pytest.raises(ConfigError, match="already there"):
        keyring.write(path)


def test_key_file_comments_and_blank_lines(tmp_path: Path) -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    path = tmp_path / "keys"
    path.write_text(f"# keys\n\n   # indented comment\nk2:{key_text(k2)}\nk1:{key_text(k1)}\n")
    path.chmod(0o600)
    keyring = Keyring.from_file(path)
    assert keyring.key_ids == ("k2", "k1")


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_key_file_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(Keyring.generate().to_text())
    path.chmod(mode)
    with pytest.raises(ConfigError, match="chmod 600"):
        Keyring.from_env({"ROLODEX_KEY_FILE": str(path)})
    path.chmod(0o400)
    assert Keyring.from_file(path).current_id == "k1"


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        Keyring.from_env({"ROLODEX_KEY_FILE": str(tmp_path / "nope")})


def test_no_keys_or_both_sources() -> None:
    with pytest.raises(ConfigError, match="ROLODEX_KEYS or ROLODEX_KEY_FILE"):
        Keyring.from_env({})
    with pytest.raises(ConfigError, match="not both"):
        Keyring.from_env({"ROLODEX_KEYS": "k1:x", "ROLODEX_KEY_FILE": "/x"})


GOOD = key_text(bytes(32))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("k1:not*base64!", "entry 1: key 'k1' is not valid base64"),
        (f"k1:{GOOD},k2:{key_text(bytes(16))}", "entry 2: key 'k2' is 16 bytes; keys are 32"),
        (f"k1:{GOOD},k1:{GOOD}", "'k1' appears twice"),
        (f"k1:{GOOD},{GOOD}", "entry 2: expected id:base64"),
        (f":{GOOD}", "expected id:base64"),
        (f"k 1:{GOOD}", "must be 1-32 letters"),
        (f"index:{GOOD}", "no master key"),
        (f"k1:{GOOD},index:{GOOD},index:{GOOD}", "'index' appears twice"),
        ("   ", "no encryption keys"),
    ],
)
def test_malformed_inline_keys(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        Keyring.from_env({"ROLODEX_KEYS": value})
    assert GOOD not in str(caught.value)


def test_malformed_key_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# current first\nk2:{GOOD}\nk1:{GOOD[:-8]}\n")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match=r"keys, line 3: key 'k1' is \d+ bytes"):
        Keyring.from_file(path)


def test_keyring_constructor_checks() -> None:
    with pytest.raises(ConfigError, match="no master key"):
        Keyring([])
    with pytest.raises(ConfigError, match="reserved"):
        Keyring([("index", bytes(32))])
    with pytest.raises(ConfigError, match="31 bytes"):
        Keyring([("k1", bytes(31))])
    with pytest.raises(ConfigError, match="index"):
        Keyring([("k1", bytes(32))], index_key=bytes(8))


def test_no_key_material_in_text_forms() -> None:
    keyring = Keyring.generate().rotated()
    secrets_in_text = [line.partition(":")[2] for line in keyring.to_text().splitlines()[2:]]
    assert len(secrets_in_text) == 3
    shown = " ".join(
        [
            repr(keyring),
            str(keyring),
            repr(Cipher(keyring)),
            str(Cipher(keyring)),
            repr(SubjectKeys(keyring)),
            f"{keyring}",
        ]
    )
    assert "k2" in shown
    for secret in secrets_in_text:
        assert secret not in shown
        assert secret[:12] not in shown
        raw = base64.b64decode(secret)
        assert raw.hex()[:16] not in shown
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(keyring)


# Subject keys and crypto-shredding


def test_subject_key_wrap_round_trip_and_binding() -> None:
    keyring = Keyring.generate()
    subjects = SubjectKeys(keyring)
    subject_key = subjects.new_subject_key()
    assert len(subject_key) == 32
    assert subject_key != subjects.new_subject_key()
    wrapped = subjects.wrap(subject_key, subject="contact:17")
    assert wrapped.startswith("wk1:k1:")
    assert subject_key.hex() not in wrapped
    assert subjects.unwrap(wrapped, subject="contact:17") == subject_key
    with pytest.raises(DecryptionError, match="another column or subject"):
        subjects.unwrap(wrapped, subject="contact:18")
    with pytest.raises(DecryptionError):
        Cipher(keyring).decrypt_bytes(wrapped, context="subject\x00contact:17")
    with pytest.raises(InputError):
        subjects.wrap(subject_key[:16], subject="contact:17")


def test_subject_key_rotation() -> None:
    old = make_keyring("k1")
    subject_key = SubjectKeys.new_subject_key()
    wrapped = SubjectKeys(old).wrap(subject_key, subject="c1")
    subjects = SubjectKeys(old.rotated())
    assert subjects.needs_rotation(wrapped)
    rewrapped = subjects.rewrap(wrapped, subject="c1")
    assert rewrapped.startswith("wk1:k2:")
    assert not subjects.needs_rotation(rewrapped)
    assert subjects.rewrap(rewrapped, subject="c1") == rewrapped
    assert subjects.unwrap(rewrapped, subject="c1") == subject_key


def test_subject_encryption_round_trip_and_context() -> None:
    subject_key = SubjectKeys.new_subject_key()
    subject, other = SubjectKeys.new_subject_ids(2)
    assert subject != other
    assert len(subject) == 24
    for text in TEXTS:
        token = SubjectKeys.encrypt_for_subject(
            text, subject=subject, subject_key=subject_key, context=EMAIL
        )
        assert token.startswith(f"sub1:{subject}:")
        assert SubjectKeys.subject_of(token) == subject
        assert SubjectKeys.decrypt_for_subject(token, subject_key=subject_key, context=EMAIL) == (
            text
        )
    token = SubjectKeys.encrypt_for_subject(
        "ada", subject=subject, subject_key=subject_key, context=EMAIL
    )
    with pytest.raises(DecryptionError):
        SubjectKeys.decrypt_for_subject(token, subject_key=subject_key, context="contact.phone")
    with pytest.raises(DecryptionError):
        SubjectKeys.decrypt_for_subject(flip(token, 20), subject_key=subject_key, context=EMAIL)
    with pytest.raises(DecryptionError):
        SubjectKeys.decrypt_for_subject(
            token, subject_key=SubjectKeys.new_subject_key(), context=EMAIL
        )
    # Filed under another subject, the blob meets that subject's key, and does not open.
    moved = token.replace(subject, other)
    with pytest.raises(DecryptionError):
        SubjectKeys.open_many(
            [moved], aeads={other: AESGCM(SubjectKeys.new_subject_key())}, context=EMAIL
        )


def test_subject_batches_open_shredded_values_as_none() -> None:
    ids = SubjectKeys.new_subject_ids(3)
    keys = {s: AESGCM(SubjectKeys.new_subject_key()) for s in ids}
    values = ["ada@example.org", None, "bob@example.org", "cy@example.org"]
    subjects = [ids[0], None, ids[1], ids[2]]
    tokens = SubjectKeys.seal_many(values, subjects=subjects, aeads=keys, context=EMAIL)
    assert SubjectKeys.open_many(tokens, aeads=keys, context=EMAIL) == values
    shredded = {**keys, ids[1]: None}
    assert SubjectKeys.open_many(tokens, aeads=shredded, context=EMAIL) == [
        "ada@example.org",
        None,
        None,
        "cy@example.org",
    ]
    with pytest.raises(DecryptionError, match="value 2 of the batch"):
        SubjectKeys.open_many(tokens, aeads={ids[0]: keys[ids[0]]}, context=EMAIL)
    with pytest.raises(InputError):
        SubjectKeys.seal_many(["x"], subjects=[None], aeads=keys, context=EMAIL)


def test_shredding_the_subject_key_leaves_unreadable_data() -> None:
    keyring = Keyring.generate().rotated()
    subjects = SubjectKeys(keyring)
    cipher = Cipher(keyring)
    subject = SubjectKeys.new_subject_ids(1)[0]
    stored = {"wrapped": subjects.wrap(subjects.new_subject_key(), subject=subject)}
    subject_key = subjects.unwrap(stored["wrapped"], subject=subject)
    token = SubjectKeys.encrypt_for_subject(
        "ada@example.org", subject=subject, subject_key=subject_key, context=EMAIL
    )
    assert SubjectKeys.decrypt_for_subject(token, subject_key=subject_key, context=EMAIL) == (
        "ada@example.org"
    )

    del stored["wrapped"], subject_key  # erasure: the only copy of the subject key is gone

    encoded = token.rsplit(":", 1)[1]
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    nonce, body = raw[:12], raw[12:]
    candidates: list[bytes] = []
    for key_id in keyring.key_ids:
        master = keyring._material(key_id)
        assert master is not None
        candidates += [master] + [
            crypto._derive(master, purpose=purpose) for purpose in ("field", "subject-key")
        ]
    candidates.append(keyring._index_material())
    for candidate in candidates:
        with pytest.raises(DecryptionError):
            SubjectKeys.decrypt_for_subject(token, subject_key=candidate, context=EMAIL)
        for aad in (f"sub1\x00{EMAIL}".encode(), f"sub1\x00{subject}\x00{EMAIL}".encode(), None):
            with pytest.raises(InvalidTag):
                AESGCM(candidate).decrypt(nonce, body, aad)
    for context in (EMAIL, f"subject\x00{subject}"):
        with pytest.raises(DecryptionError):
            cipher.decrypt(token, context=context)
