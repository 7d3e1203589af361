"""Password hashing and policy, signed tokens and the API key format (no database)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from rolodex.exceptions import ConfigError, InputError, TerminalError
from rolodex.secure.auth import (
    AuthenticationError,
    LockedOut,
    check_password_policy,
    hash_password,
    issue_token,
    needs_rehash,
    new_api_key,
    parse_api_key,
    verify_password,
    verify_token,
)

SECRET = b"s" * 32
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_password_hash_is_salted_argon2id_and_verifies() -> None:
    first, second = hash_password("long enough secret"), hash_password("long enough secret")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert "long enough secret" not in first
    assert verify_password(first, "long enough secret")
    assert not verify_password(first, "long enough secreT")
    assert not verify_password("not a hash", "long enough secret")


def test_needs_rehash_flags_weaker_parameters() -> None:
    assert not needs_rehash(hash_password("long enough secret"))
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("x" * 12)
    assert needs_rehash(weak)
    assert verify_password(weak, "x" * 12)  # old hashes still work until rehashed


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short-pass1", "at least 12"),
        ("my-alice-password", "username"),
        ("MY-ALICE-PASSWORD", "username"),
        ("Password1234", "too common"),
        ("aaaaaaaaaaaaaaa", "repetitive"),
    ],
)
def test_password_policy_refuses(password: str, why: str) -> None:
    with pytest.raises(InputError, match=why) as caught:
        check_password_policy(password, username="Alice")
    assert password not in str(caught.value)


def test_password_policy_accepts_a_long_unusual_password() -> None:
    check_password_policy("violet tram under 7 bridges", username="alice")


def test_token_round_trip_and_expiry() -> None:
    issued = issue_token(username="alice", secret=SECRET, ttl=timedelta(minutes=15), now=NOW)
    assert issued.token.startswith("rdt_")
    assert issued.expires_at == NOW + timedelta(minutes=15)
    claims = verify_token(issued.token, secret=SECRET, now=NOW + timedelta(minutes=14))
    assert (claims.username, claims.jti, claims.issued_at) == ("alice", issued.jti, NOW)
    with pytest.raises(AuthenticationError, match="expired"):
        verify_token(issued.token, secret=SECRET, now=NOW + timedelta(minutes=15))
    late = verify_token(
        issued.token, secret=SECRET, now=NOW + timedelta(days=1), allow_expired=True
    )
    assert late.jti == issued.jti


def test_tokens_differ_even_for_the_same_user_and_time() -> None:
    one = issue_token(username="alice", secret=SECRET, ttl=timedelta(minutes=1), now=NOW)
    two = issue_token(username="alice", secret=SECRET, ttl=timedelta(minutes=1), now=NOW)
    assert one.jti != two.jti
    assert one.token != two.token


def _forge(token: str, **changes: object) -> str:
    body, signature = token[len("rdt_") :].split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims.update(changes)
    new_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"rdt_{new_body}.{signature}"


def test_tampered_token_is_refused() -> None:
    issued = issue_token(username="alice", secret=SECRET, ttl=timedelta(minutes=15), now=NOW)
    for forged in (
        _forge(issued.token, sub="admin"),
        _forge(issued.token, exp=int((NOW + timedelta(days=365)).timestamp())),
    ):
        with pytest.raises(AuthenticationError, match="invalid credentials"):
            verify_token(forged, secret=SECRET, now=NOW)
    flipped = issued.token[:-2] + ("A" if issued.token[-2] != "A" else "B") + issued.token[-1]
    with pytest.raises(AuthenticationError):
        verify_token(flipped, secret=SECRET, now=NOW)


def test_token_signed_with_another_secret_is_refused() -> None:
    issued = issue_token(username="alice", secret=SECRET, ttl=timedelta(minutes=15), now=NOW)
    with pytest.raises(AuthenticationError):
        verify_token(issued.token, secret=b"t" * 32, now=NOW)


@pytest.mark.parametrize(
    "token", ["", "rdt_", "rdt_abc", "rdt_a.b.c", "bearer xyz", "rdt_é.é", "rdx_abc.def"]
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(AuthenticationError):
        verify_token(token, secret=SECRET, now=NOW)


def test_short_secret_and_bad_lifetime_are_configuration_errors() -> None:
    with pytest.raises(ConfigError):
        issue_token(username="alice", secret=b"short", ttl=timedelta(minutes=1))
    with pytest.raises(InputError):
        issue_token(username="alice", secret=SECRET, ttl=timedelta(0))


def test_api_key_format_and_hash() -> None:
    key, prefix, key_hash = new_api_key()
    assert re.fullmatch(r"rdx_[a-z0-9]{12}_[A-Za-z0-9_-]{43}", key)
    assert key.startswith(f"rdx_{prefix}_")
    assert len(prefix) >= 8
    assert key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert parse_api_key(key) == (prefix, key_hash)
    assert parse_api_key(f"  {key}\n") == (prefix, key_hash)
    other, other_prefix, other_hash = new_api_key()
    assert (other, other_prefix, other_hash) != (key, prefix, key_hash)


@pytest.mark.parametrize(
    "text", ["", "rdx_", "rdx_abc_def", "rdt_abcdefgh_" + "a" * 43, "rdx_ABCDEFGH_" + "a" * 43]
)
def test_malformed_api_keys_are_refused(text: str) -> None:
    with pytest.raises(AuthenticationError):
        parse_api_key(text)


def test_errors_are_terminal_and_say_when_to_retry() -> None:
    locked = LockedOut(61)
    assert isinstance(locked, AuthenticationError)
    assert isinstance(locked, TerminalError)
    assert locked.retry_after == 61
    assert "2 minute" in str(locked)
    assert str(AuthenticationError()) == "invalid credentials"
