"""The pure part of signing in: password hashing and policy, signed session tokens, API key
format. No database here; `secure.users` stores and checks what these functions make.

AuthenticationError(TerminalError)   the credential is wrong, expired or revoked
└── LockedOut                         too many failures: refused, even with the right password
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from rolodex.exceptions import ConfigError, InputError, TerminalError

TOKEN_PREFIX = "rdt_"
API_KEY_PREFIX = "rdx_"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes any length; a cap keeps requests cheap to refuse
MIN_SECRET_BYTES = 16  # 128 bits: an HMAC key cannot be guessed below that either
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits  # no "_": it separates the parts
_PREFIX_LENGTH = 12
_API_KEY = re.compile(r"rdx_([a-z0-9]{8,32})_([A-Za-z0-9_-]{43})")

# Passwords of 12+ characters that still top the leaked-password lists; compared lowercased.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456123456",
        "111111111111",
        "000000000000",
        "123123123123",
        "password1234",
        "password12345",
        "password123!",
        "password123456",
        "passwordpassword",
        "password1password1",
        "qwertyuiop12",
        "qwertyuiop123",
        "qwertyqwerty",
        "qwerty123456",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "q1w2e3r4t5y6",
        "asdfghjkl123",
        "zxcvbnm12345",
        "iloveyou1234",
        "abc123abc123",
        "abcdefghijkl",
        "abcd1234abcd1234",
        "administrator",
        "administrator1",
        "letmeinletmein",
        "welcome12345",
        "welcome123456",
        "changeme1234",
        "changeme123!",
        "trustno1trustno1",
        "sunshine1234",
        "football1234",
        "baseball1234",
        "princess1234",
        "monkey123456",
        "superman1234",
        "starwars1234",
        "dragon123456",
        "masterkey123",
        "correcthorsebatterystaple",
        "p@ssw0rd1234",
        "p@ssword1234",
        "passw0rd1234",
        "rolodex12345",
        "rolodex123456",
        "rolodexrolodex",
    }
)


class AuthenticationError(TerminalError):
    """The credential does not let anyone in; the message never says which part was wrong."""

    def __init__(self, message: str = "invalid credentials") -> None:
        super().__init__(message)


class LockedOut(AuthenticationError):
    """Too many failed sign-ins for the account or from the address; `retry_after` seconds."""

    def __init__(self, retry_after: int, *, what: str = "account") -> None:
        self.retry_after = max(1, retry_after)
        minutes = math.ceil(self.retry_after / 60)
        super().__init__(
            f"too many failed sign-ins for this {what}; try again in {minutes} minute(s)"
        )


# --- passwords ----------------------------------------------------------------------------


@cache
def _hasher() -> PasswordHasher:
    """The argon2id hasher with the library's defaults (RFC 9106 low-memory profile)."""
    return PasswordHasher()


def hash_password(password: str) -> str:
    """Hash a password with argon2id and a fresh salt (the PHC string keeps the parameters)."""
    return _hasher().hash(password)


def verify_password(hash: str, password: str) -> bool:
    """Tell whether `password` matches `hash`; a malformed hash never matches."""
    try:
        return _hasher().verify(hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(hash: str) -> bool:
    """Tell whether `hash` was made with weaker parameters than today's (rehash on sign-in)."""
    try:
        return _hasher().check_needs_rehash(hash)
    except InvalidHashError:
        return True


@cache
def dummy_hash() -> str:
    """A hash no password matches, verified for unknown users so timing reveals nothing."""
    return hash_password(secrets.token_urlsafe(32))


def check_password_policy(password: str, *, username: str) -> None:
    """Refuse passwords that are short, contain the username or top the leaked lists.

    Length beats composition rules (NIST SP 800-63B): no "one digit, one symbol" rules here.

    Raises:
        InputError: the password is unacceptable; the message says why (never the password).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    name = username.strip().lower()
    if name and name in lowered:
        raise InputError("the password must not contain the username")
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4:
        raise InputError("the password is too common or too repetitive; choose another")


# --- tokens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    """A freshly signed session token; `jti` names it for sign-out."""

    token: str
    jti: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says: who, which token, issued and expiring when (UTC)."""

    username: str
    jti: str
    issued_at: datetime
    expires_at: datetime


def _utc(now: datetime | None) -> datetime:
    """Return `now` (naive taken as UTC) or the current time, in UTC."""
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(f"the token secret must have at least {MIN_SECRET_BYTES} bytes")


def _sign(body: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, (TOKEN_PREFIX + body).encode("ascii"), hashlib.sha256).digest())


def issue_token(
    *, username: str, secret: bytes, ttl: timedelta, now: datetime | None = None
) -> IssuedToken:
    """Sign a short-lived session token: "rdt_<claims>.<signature>", HMAC-SHA256 over the
    base64url JSON claims {sub, jti, iat, exp} (seconds since the epoch).

    Only the signature makes it valid: nothing is stored until sign-out revokes its `jti`.

    Raises:
        ConfigError: the secret is shorter than 16 bytes.
        InputError: the lifetime is not positive.
    """
    _check_secret(secret)
    if ttl <= timedelta(0):
        raise InputError("a token lifetime must be positive")
    issued = _utc(now).replace(microsecond=0)
    expires = issued + ttl
    jti = secrets.token_urlsafe(16)
    claims = {
        "sub": username,
        "jti": jti,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
    }
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    token = f"{TOKEN_PREFIX}{body}.{_sign(body, secret)}"
    return IssuedToken(token=token, jti=jti, expires_at=expires)


def verify_token(
    token: str, *, secret: bytes, now: datetime | None = None, allow_expired: bool = False
) -> TokenClaims:
    """Check a token's signature (in constant time) and expiry, and return its claims.

    `allow_expired` skips the expiry check (sign-out of a token that may have just expired).

    Raises:
        AuthenticationError: malformed, signed with another secret, tampered with or expired.
    """
    _check_secret(secret)
    if not token.startswith(TOKEN_PREFIX) or token.count(".") != 1:
        raise AuthenticationError()
    body, signature = token[len(TOKEN_PREFIX) :].split(".")
    try:
        expected = _sign(body, secret)
    except UnicodeEncodeError as exc:
        raise AuthenticationError() from exc
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise AuthenticationError()
    try:
        claims: Any = json.loads(_unb64(body))
        username, jti, iat, exp = claims["sub"], claims["jti"], claims["iat"], claims["exp"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise AuthenticationError() from exc
    if not (isinstance(username, str) and isinstance(jti, str)):
        raise AuthenticationError()
    if not (isinstance(iat, int) and isinstance(exp, int)):
        raise AuthenticationError()
    if not allow_expired and exp <= _utc(now).timestamp():
        raise AuthenticationError("the token has expired; sign in again")
    return TokenClaims(
        username=username,
        jti=jti,
        issued_at=datetime.fromtimestamp(iat, UTC),
        expires_at=datetime.fromtimestamp(exp, UTC),
    )


# --- API keys -----------------------------------------------------------------------------


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """Make an API key: (plaintext "rdx_<prefix>_<secret>", prefix, key_hash).

    The prefix (12 random lowercase letters and digits) finds the row without a scan and
    names the key in listings. The secret is 32 random bytes, so a plain SHA-256 of the whole
    key is enough to store: nobody can guess 256 bits, which is what argon2's slowness defends
    against for human passwords, and argon2 on every API call would cost ~50 ms of CPU each.
    """
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(_PREFIX_LENGTH))
    key = f"{API_KEY_PREFIX}{prefix}_{_b64(secrets.token_bytes(32))}"
    return key, prefix, _key_hash(key)


def parse_api_key(text: str) -> tuple[str, str]:
    """Split an API key into (prefix, key_hash) for the lookup and the comparison.

    Raises:
        AuthenticationError: the text is not shaped like a Rolodex API key.
    """
    found = _API_KEY.fullmatch(text.strip())
    if found is None:
        raise AuthenticationError()
    return found.group(1), _key_hash(found.group(0))


def looks_like_api_key(text: str) -> bool:
    """Tell an API key ("rdx_...") from a session token ("rdt_...") before checking it."""
    return text.strip().startswith(API_KEY_PREFIX)
