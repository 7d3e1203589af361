"""Encryption at rest of personal data: field tokens, blind indexes and crypto-shredding keys.

A library only, with no database access: the store encrypts on the way in, decrypts on the way
out, and looks rows up by blind index. It protects data against a leaked database file, dump
or backup; it cannot protect against someone who holds the keys or runs inside the process.

Keys. A `Keyring` holds 256-bit master keys by short id ("k1", "k2"). The first is current and
encrypts; the others only decrypt, so rotation never makes old rows unreadable. Master keys
never touch data: each use derives its own key with HKDF-SHA256 (info
``rolodex/<purpose>/v1``), so field encryption, key wrapping, blind indexes and suppression
hashes stay independent although one secret feeds them.

The index key feeds blind indexes and suppression hashes and must never change, or exact
lookups and the suppression list stop matching. It is the entry with the reserved id
``index`` when there is one, else the oldest (last-listed) master key. `Keyring.generate`
makes a dedicated one, and `Keyring.rotated` pins the one in use as an ``index`` entry, so
retiring old master keys later never moves a blind index.

Tokens are ASCII text that fits a VARCHAR or TEXT column:

    enc1:<kid>:<b64url(nonce || ciphertext || tag)>   a field under master key <kid>
    wk1:<kid>:<b64url(...)>                           a subject key wrapped under <kid>
    sub1:<subject>:<b64url(...)>                      a field under a subject's own key

AES-256-GCM with 96-bit random nonces (about 2**32 encryptions per key are safe: rotate well
before). The associated data binds the format, the key id and the context ("contact.email",
or the subject id for wrapped keys), so a token copied to another column or subject fails; a
``sub1`` token binds the format and the context, and its subject through its key (each subject
has a key of its own, random, kept in the key vault: `rolodex.secure.vault`).

DecryptionError (TerminalError)   tampered, truncated, malformed, or from another context
└── UnknownKeyError               the token names a key id the keyring does not hold
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import secrets
import stat
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from rolodex.exceptions import ConfigError, InputError, TerminalError

__all__ = [
    "BLIND_INDEX_CHARS",
    "INDEX_KEY_ID",
    "KEY_BYTES",
    "Cipher",
    "DecryptionError",
    "Keyring",
    "SubjectKeys",
    "UnknownKeyError",
    "is_encrypted",
]

KEY_BYTES = 32
"""Master keys and subject keys are 256-bit."""

INDEX_KEY_ID = "index"
"""Reserved key id of the dedicated blind-index key."""

BLIND_INDEX_CHARS = 32
"""Hex characters of a blind index: 128 bits (see `Cipher.blind_index`)."""

ENV_KEYS = "ROLODEX_KEYS"
ENV_KEY_FILE = "ROLODEX_KEY_FILE"

_BLIND_INDEX_BYTES = BLIND_INDEX_CHARS // 2
_NONCE_BYTES = 12
_TAG_BYTES = 16
_FIELD = "enc1"
_WRAPPED = "wk1"
_SUBJECT = "sub1"
_SUBJECT_HEAD = _SUBJECT + ":"
_SUBJECT_AAD = f"{_SUBJECT}\x00".encode()
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_MIN_BLOB_CHARS = -(-(_NONCE_BYTES + _TAG_BYTES) * 4 // 3)
_TOKEN = re.compile(
    rf"(?:{_FIELD}|{_WRAPPED}|{_SUBJECT}):{_KEY_ID.pattern}:[A-Za-z0-9_-]{{{_MIN_BLOB_CHARS},}}"
)
_TO_STANDARD_B64 = str.maketrans("-_", "+/")
_URLSAFE_BYTES = bytes.maketrans(b"-_", b"+/")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_GENERATE_HINT = (
    'python -c "from rolodex.secure.crypto import Keyring; print(Keyring.generate().to_text())"'
)


class DecryptionError(TerminalError):
    """A token cannot be decrypted: altered, truncated, malformed, or from another context."""


class UnknownKeyError(DecryptionError):
    """A token names a master key the keyring does not hold (a retired or missing key)."""

    def __init__(self, message: str, *, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(message)


def is_encrypted(value: object) -> bool:
    """Tell whether `value` has the shape of a Rolodex token (no key needed, nothing checked).

    A plaintext that happens to look like a token (``enc1:k1:`` and 38+ base64url characters)
    is reported as encrypted; personal data does not look like that.
    """
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


class Keyring:
    """Master keys by id, the first current, plus the index key; the keys never show in repr.

    Args:
        keys: ``(key id, 32 key bytes)`` pairs, the current key first.
        index_key: The dedicated blind-index key, or None to use the oldest (last) master key.

    Raises:
        ConfigError: No key, a bad or duplicate id, or a key that is not 32 bytes.
    """

    __slots__ = ("_index", "_keys")

    def __init__(
        self, keys: Sequence[tuple[str, bytes]], *, index_key: bytes | None = None
    ) -> None:
        if not keys:
            raise ConfigError(f"the keyring holds no master key; make one with {_GENERATE_HINT}")
        by_id: dict[str, bytes] = {}
        for key_id, material in keys:
            _check_key_id(key_id, where="keyring")
            if key_id in by_id:
                raise ConfigError(f"keyring: key id {key_id!r} appears twice")
            _check_length(material, key_id=key_id, where="keyring")
            by_id[key_id] = bytes(material)
        if index_key is not None:
            _check_length(index_key, key_id=INDEX_KEY_ID, where="keyring")
        self._keys = by_id
        self._index = None if index_key is None else bytes(index_key)

    @classmethod
    def generate(cls, *, key_id: str = "k1") -> Keyring:
        """Make a keyring with one fresh master key and a dedicated index key."""
        return cls([(key_id, secrets.token_bytes(KEY_BYTES))], index_key=_fresh_key())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Keyring:
        """Load the keyring from ``ROLODEX_KEYS`` or ``ROLODEX_KEY_FILE`` (one, not both).

        ``ROLODEX_KEYS`` is ``k2:BASE64,k1:BASE64[,index:BASE64]``, current first;
        ``ROLODEX_KEY_FILE`` names a file in the `to_text` format, readable by its owner only.

        Args:
            environ: The variables to read; `os.environ` when None.

        Raises:
            ConfigError: Neither or both are set, or the keys are malformed (the message says
                which entry; it never repeats key material).
        """
        env = os.environ if environ is None else environ
        inline = env.get(ENV_KEYS, "").strip()
        path = env.get(ENV_KEY_FILE, "").strip()
        if inline and path:
            raise ConfigError(f"set {ENV_KEYS} or {ENV_KEY_FILE}, not both")
        if inline:
            entries = [
                (f"{ENV_KEYS} entry {number}", entry.strip())
                for number, entry in enumerate(inline.split(","), start=1)
                if entry.strip()
            ]
            return cls._from_entries(entries, source=ENV_KEYS)
        if path:
            return cls.from_file(Path(path))
        raise ConfigError(
            f"no encryption keys: set {ENV_KEYS} or {ENV_KEY_FILE}; make a key file with "
            f"{_GENERATE_HINT} > keys.txt && chmod 600 keys.txt"
        )

    @classmethod
    def from_file(cls, path: Path) -> Keyring:
        """Load a key file (`to_text` format), refusing one that group or others can access.

        Raises:
            ConfigError: The file is missing, open to group/others on POSIX, or malformed.
        """
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the key file ({exc.strerror})") from None
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"{path}: the key file is open to group or others "
                f"(mode {stat.filemode(mode)}); run chmod 600 {path}"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the key file ({exc})") from None
        return cls.from_text(text, source=str(path))

    @classmethod
    def from_text(cls, text: str, *, source: str = "key text") -> Keyring:
        """Parse the key-file format: ``id:base64`` per line, ``#`` comments, current first."""
        entries = [
            (f"{source}, line {number}", line.strip())
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("#")
        ]
        return cls._from_entries(entries, source=source)

    @classmethod
    def _from_entries(cls, entries: Sequence[tuple[str, str]], *, source: str) -> Keyring:
        """Build a keyring from labelled ``id:base64`` entries, current first."""
        keys: list[tuple[str, bytes]] = []
        index_key: bytes | None = None
        seen: set[str] = set()
        for where, entry in entries:
            key_id, colon, encoded = entry.partition(":")
            key_id = key_id.strip()
            if not colon or not key_id:
                raise ConfigError(f"{where}: expected id:base64 (for example k1:...)")
            if key_id in seen:
                raise ConfigError(f"{where}: key id {key_id!r} appears twice")
            seen.add(key_id)
            if key_id != INDEX_KEY_ID:
                _check_key_id(key_id, where=where)
            material = _decode_key(encoded.strip(), key_id=key_id, where=where)
            if key_id == INDEX_KEY_ID:
                index_key = material
            else:
                keys.append((key_id, material))
        if not keys:
            raise ConfigError(
                f"{source}: no master key (only an {INDEX_KEY_ID!r} entry, or nothing); "
                f"make one with {_GENERATE_HINT}"
            )
        return cls(keys, index_key=index_key)

    @property
    def current_id(self) -> str:
        """Id of the key new tokens are encrypted with."""
        return next(iter(self._keys))

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Ids of the master keys, current first (without the index key)."""
        return tuple(self._keys)

    @property
    def has_index_key(self) -> bool:
        """Whether a dedicated ``index`` key is set (else the oldest master key serves)."""
        return self._index is not None

    def rotated(self, *, key_id: str | None = None) -> Keyring:
        """Return a keyring with a fresh current key; old keys stay for decryption.

        The index key in use is pinned as a dedicated ``index`` entry, so blind indexes and
        suppression hashes stay the same now and after old master keys are retired.

        Args:
            key_id: Id of the new key; ``k<n+1>`` after the highest ``k<n>`` by default.
        """
        new_id = key_id if key_id is not None else self._next_id()
        if new_id in self._keys:
            raise ConfigError(f"key id {new_id!r} is already in the keyring")
        return Keyring(
            [(new_id, _fresh_key()), *self._keys.items()], index_key=self._index_material()
        )

    def to_text(self) -> str:
        """Serialise in the key-file format (`from_text`, ``ROLODEX_KEY_FILE``): a secret."""
        lines = [
            "# Rolodex master keys, id:base64, the first is current. Keep this file chmod 600.",
            f"# {INDEX_KEY_ID!r} is the blind-index key: never change or drop it.",
            *(f"{key_id}:{_b64(material)}" for key_id, material in self._keys.items()),
        ]
        if self._index is not None:
            lines.append(f"{INDEX_KEY_ID}:{_b64(self._index)}")
        return "\n".join(lines) + "\n"

    def to_env_value(self) -> str:
        """Serialise as a ``ROLODEX_KEYS`` value: a secret."""
        return ",".join(line for line in self.to_text().splitlines() if not line.startswith("#"))

    def write(self, path: Path) -> None:
        """Write `to_text` to a new file created with mode 600 (never overwrites a file)."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ConfigError(
                f"{path}: a file is already there; keys are never overwritten"
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(self.to_text())

    def __repr__(self) -> str:
        index = INDEX_KEY_ID if self._index is not None else f"oldest ({self.key_ids[-1]})"
        return f"Keyring(current={self.current_id!r}, keys={self.key_ids!r}, index={index!r})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Keyring is not pickled: it would write key material out")

    def _material(self, key_id: str) -> bytes | None:
        """Return a master key's bytes, None when the id is unknown."""
        return self._keys.get(key_id)

    def _index_material(self) -> bytes:
        """Return the key behind blind indexes and suppression hashes."""
        return self._index if self._index is not None else next(reversed(self._keys.values()))

    def _next_id(self) -> str:
        """Return ``k<n+1>`` for the highest ``k<n>`` id (``k1`` when there is none)."""
        numbers = [int(key_id[1:]) for key_id in self._keys if re.fullmatch(r"k\d{1,9}", key_id)]
        return f"k{max(numbers, default=0) + 1}"


class _Sealer:
    """Seal and open ``<format>:<kid>:<blob>`` tokens under one purpose's derived keys."""

    __slots__ = ("_aeads", "_format", "_keyring", "_purpose")

    def __init__(self, keyring: Keyring, *, token_format: str, purpose: str) -> None:
        self._keyring = keyring
        self._format = token_format
        self._purpose = purpose
        self._aeads: dict[str, AESGCM] = {}

    def aead(self, key_id: str) -> AESGCM:
        """Return the AES-GCM object of a key id, built once per key."""
        aead = self._aeads.get(key_id)
        if aead is None:
            material = self._keyring._material(key_id)
            if material is None:
                raise UnknownKeyError(
                    f"the token was encrypted with key {key_id!r}, which is not in the keyring "
                    f"(which holds {', '.join(self._keyring.key_ids)}); add the old key back",
                    key_id=key_id,
                )
            aead = AESGCM(_derive(material, purpose=self._purpose))
            self._aeads[key_id] = aead
        return aead

    def associated_data(self, key_id: str, context: str) -> bytes:
        """Bind the token format, the key id and the context."""
        return f"{self._format}\x00{key_id}\x00{context}".encode()

    def seal_one(self, value: bytes, *, context: str) -> str:
        """Encrypt one value under the current key."""
        key_id = self._keyring.current_id
        aad = self.associated_data(key_id, _checked_context(context))
        nonce = os.urandom(_NONCE_BYTES)
        blob = nonce + self.aead(key_id).encrypt(nonce, value, aad)
        return f"{self._format}:{key_id}:{_b64url(blob)}"

    def seal_many(self, values: Sequence[bytes | None], *, context: str) -> list[str | None]:
        """Encrypt each value under the current key; None passes through."""
        key_id = self._keyring.current_id
        encrypt = self.aead(key_id).encrypt
        aad = self.associated_data(key_id, _checked_context(context))
        head = f"{self._format}:{key_id}:"
        nonces = os.urandom(_NONCE_BYTES * len(values))
        out: list[str | None] = []
        append = out.append
        for position, value in enumerate(values):
            if value is None:
                append(None)
                continue
            nonce = nonces[position * _NONCE_BYTES : (position + 1) * _NONCE_BYTES]
            append(head + _b64url(nonce + encrypt(nonce, value, aad)))
        return out

    def open_one(self, token: str, *, context: str) -> bytes:
        """Decrypt one token under the key it names."""
        context = _checked_context(context)
        key_id, blob = self.split(token)
        aad = self.associated_data(key_id, context)
        return _open(self.aead(key_id), blob, aad, key_id=key_id, context=context)

    def open_many(self, tokens: Sequence[str | None], *, context: str) -> list[bytes | None]:
        """Decrypt each token under the key it names; None passes through."""
        context = _checked_context(context)
        keys: dict[str, tuple[AESGCM, bytes]] = {}
        out: list[bytes | None] = []
        append = out.append
        for position, token in enumerate(tokens):
            if token is None:
                append(None)
                continue
            try:
                key_id, blob = self.split(token)
                found = keys.get(key_id)
                if found is None:
                    aad = self.associated_data(key_id, context)
                    found = keys[key_id] = (self.aead(key_id), aad)
                append(_open(found[0], blob, found[1], key_id=key_id, context=context))
            except DecryptionError as exc:
                raise _at_position(exc, position) from None
        return out

    def split(self, token: str) -> tuple[str, bytes]:
        """Return the key id and the raw blob of a token of this format."""
        kind, _, rest = token.partition(":")
        key_id, _, encoded = rest.partition(":")
        if kind != self._format or not key_id or not encoded:
            raise DecryptionError(f"not a {self._format!r} token: expected {self._format}:kid:...")
        return key_id, _unb64url(encoded)


class Cipher:
    """Encrypt fields, compute blind indexes and suppression hashes with a keyring.

    Build one per keyring and reuse it: the AES-GCM objects and derived keys are cached.

    Examples:
        >>> cipher = Cipher(Keyring.generate())
        >>> token = cipher.encrypt("ada@example.org", context="contact.email")
        >>> cipher.decrypt(token, context="contact.email")
        'ada@example.org'
    """

    __slots__ = ("_index_keys", "_keyring", "_sealer")

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._sealer = _Sealer(keyring, token_format=_FIELD, purpose="field")
        self._index_keys: dict[tuple[str, str], bytes] = {}

    @property
    def keyring(self) -> Keyring:
        """The keys this cipher uses."""
        return self._keyring

    def encrypt(self, value: str, *, context: str) -> str:
        """Encrypt text for the column named by `context` (e.g. ``contact.email``)."""
        return self.encrypt_bytes(value.encode(), context=context)

    def decrypt(self, token: str, *, context: str) -> str:
        """Decrypt a token made by `encrypt` with the same context.

        Raises:
            UnknownKeyError: The token's key is not in the keyring.
            DecryptionError: The token was altered, is malformed or belongs to another context.
        """
        return _text(self.decrypt_bytes(token, context=context), context=context)

    def encrypt_bytes(self, data: bytes, *, context: str) -> str:
        """Encrypt bytes into a text token."""
        return self._sealer.seal_one(data, context=context)

    def decrypt_bytes(self, token: str, *, context: str) -> bytes:
        """Decrypt a token back to bytes (see `decrypt` for the errors)."""
        return self._sealer.open_one(token, context=context)

    @overload
    def encrypt_many(self, values: Sequence[str], *, context: str) -> list[str]: ...
    @overload
    def encrypt_many(self, values: Sequence[str | None], *, context: str) -> list[str | None]: ...
    def encrypt_many(
        self, values: Sequence[str | None], *, context: str
    ) -> list[str] | list[str | None]:
        """Encrypt a batch of texts for one column; None stays None."""
        return self._sealer.seal_many(
            [None if value is None else value.encode() for value in values], context=context
        )

    @overload
    def decrypt_many(self, tokens: Sequence[str], *, context: str) -> list[str]: ...
    @overload
    def decrypt_many(self, tokens: Sequence[str | None], *, context: str) -> list[str | None]: ...
    def decrypt_many(
        self, tokens: Sequence[str | None], *, context: str
    ) -> list[str] | list[str | None]:
        """Decrypt a batch of tokens of one column; None stays None.

        Raises:
            DecryptionError: A token does not decrypt; the message gives its position.
        """
        return [
            None if data is None else _text(data, context=context)
            for data in self._sealer.open_many(tokens, context=context)
        ]

    def needs_rotation(self, token: str) -> bool:
        """Tell whether a token was encrypted with a key other than the current one."""
        key_id, _ = self._sealer.split(token)
        return key_id != self._keyring.current_id

    def reencrypt(self, token: str, *, context: str) -> str:
        """Re-encrypt a token under the current key; a current token comes back unchanged."""
        if not self.needs_rotation(token):
            return token
        return self._sealer.seal_one(self._sealer.open_one(token, context=context), context=context)

    @overload
    def reencrypt_many(self, tokens: Sequence[str], *, context: str) -> list[str]: ...
    @overload
    def reencrypt_many(self, tokens: Sequence[str | None], *, context: str) -> list[str | None]: ...
    def reencrypt_many(
        self, tokens: Sequence[str | None], *, context: str
    ) -> list[str] | list[str | None]:
        """Re-encrypt the tokens of a batch that need rotation; the others come back as they are."""
        out = list(tokens)
        for position, token in enumerate(tokens):
            if token is not None:
                try:
                    out[position] = self.reencrypt(token, context=context)
                except DecryptionError as exc:
                    raise _at_position(exc, position) from None
        return out

    def blind_index(self, value: str, *, field: str) -> str:
        """Return a keyed hash of an already normalized value, for exact lookups.

        HMAC-SHA256 under a key derived per field from the index key, so the same email
        gives different indexes in different fields, and rotation changes nothing. The hex
        digest is cut to 32 characters (128 bits): by the birthday bound a collision among a
        billion values has odds near 1e-21, so a match needs no decrypt-and-compare check;
        shorter indexes would leak less (shared buckets) but need that check. A blind index
        still shows which rows share a value: do not index fields with few distinct values.

        Args:
            value: The value after the caller's normalization (lowercased email, E.164 phone).
            field: What the value is, e.g. ``contact.email``.
        """
        return self.blind_index_many([value], field=field)[0]

    @overload
    def blind_index_many(self, values: Sequence[str], *, field: str) -> list[str]: ...
    @overload
    def blind_index_many(self, values: Sequence[str | None], *, field: str) -> list[str | None]: ...
    def blind_index_many(
        self, values: Sequence[str | None], *, field: str
    ) -> list[str] | list[str | None]:
        """Return `blind_index` of each value; None stays None.

        The keyed state is set up once and copied per value: a third faster than
        `hmac.digest`, which sets up the key for every value, and the same hashes.
        """
        keyed = hmac.new(self._index_key("blind-index", field), digestmod="sha256")
        out: list[str | None] = []
        append = out.append
        for value in values:
            if value is None:
                append(None)
                continue
            mac = keyed.copy()
            mac.update(value.encode())
            append(mac.digest()[:_BLIND_INDEX_BYTES].hex())
        return out

    def hash_for_suppression(self, value: str, *, kind: str) -> str:
        """Return the keyed hash the suppression list keeps instead of the value.

        HMAC-SHA256 (64 hex characters) under a key derived per kind from the index key, apart
        from the blind-index keys, so suppression hashes never equal blind indexes. Losing the
        index key makes the suppression list unmatchable: back it up with the keys.

        Args:
            value: The normalized value (lowercased email, E.164 phone).
            kind: What the value is, e.g. ``email`` or ``phone``.
        """
        return hmac.digest(self._index_key("suppression", kind), value.encode(), "sha256").hex()

    def derived_secret(self, purpose: str) -> bytes:
        """Return a 32-byte secret for one purpose (e.g. signing sign-in tokens).

        Derived from the index key, so it survives key rotation: tokens issued before a
        rotation stay valid until they expire.
        """
        return self._index_key("secret", purpose)

    def _index_key(self, purpose: str, name: str) -> bytes:
        """Return the HMAC key of one purpose and field, derived once."""
        if not name:
            raise InputError(f"a {purpose} needs a field or kind name")
        key = self._index_keys.get((purpose, name))
        if key is None:
            key = _derive(self._keyring._index_material(), purpose=f"{purpose}\x00{name}")
            self._index_keys[(purpose, name)] = key
        return key

    def __repr__(self) -> str:
        return f"Cipher({self._keyring!r})"


class SubjectKeys:
    """Per-subject data keys for crypto-shredding: delete the wrapped key, and the data is gone.

    A subject's personal data is encrypted under its own random key; only the key, wrapped
    by the current master key and bound to the subject id, is kept, in a key vault apart from
    the database (`rolodex.secure.vault`). Deleting the wrapped key (GDPR erasure) leaves
    ciphertext that no master key can open, in database backups too. Subject ids are random
    (a 6-byte millisecond clock, then 10 random bytes, so ids made together sort together) and
    say nothing about the person; a token names its subject, so whoever reads it knows which
    key to fetch.
    """

    __slots__ = ("_keyring", "_sealer")

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._sealer = _Sealer(keyring, token_format=_WRAPPED, purpose="subject-key")

    @staticmethod
    def new_subject_key() -> bytes:
        """Make a fresh random 256-bit subject key."""
        return _fresh_key()

    @staticmethod
    def new_subject_ids(count: int) -> list[str]:
        """Make `count` fresh subject ids (24 URL-safe characters: a millisecond clock and a
        counter, so ids made together sort together, then 72 random bits)."""
        head = (time.time_ns() // 1_000_000).to_bytes(6, "big")
        noise = os.urandom(9 * count)
        raw = b"".join(head + i.to_bytes(3, "big") + noise[9 * i : 9 * i + 9] for i in range(count))
        encoded = _b64url(raw)  # 18 bytes encode to 24 characters, with no padding between
        return [encoded[24 * i : 24 * i + 24] for i in range(count)]

    def wrap(self, subject_key: bytes, *, subject: str) -> str:
        """Encrypt a subject key under the current master key, bound to `subject`."""
        _check_subject_key(subject_key)
        return self._sealer.seal_one(subject_key, context=_subject_context(subject))

    def wrap_many(self, subject_keys: Sequence[bytes], *, subjects: Sequence[str]) -> list[str]:
        """`wrap` of many keys, each bound to its subject (one AES-GCM object, one call for
        the nonces: this runs once per stored row)."""
        key_id = self._keyring.current_id
        encrypt = self._sealer.aead(key_id).encrypt
        head = f"{_WRAPPED}:{key_id}:"
        aad_head = self._sealer.associated_data(key_id, _subject_context(" "))[:-1]
        nonces = os.urandom(_NONCE_BYTES * len(subject_keys))
        out = []
        for i, (key, subject) in enumerate(zip(subject_keys, subjects, strict=True)):
            _check_subject_key(key)
            nonce = nonces[i * _NONCE_BYTES : (i + 1) * _NONCE_BYTES]
            aad = aad_head + subject.encode()
            out.append(head + _b64url(nonce + encrypt(nonce, key, aad)))
        return out

    def unwrap_many(self, wrapped: Sequence[str], *, subjects: Sequence[str]) -> list[bytes]:
        """`unwrap` of many keys, each bound to its subject."""
        return [self.unwrap(w, subject=s) for w, s in zip(wrapped, subjects, strict=True)]

    def unwrap(self, wrapped: str, *, subject: str) -> bytes:
        """Decrypt a wrapped subject key; fails for another subject's key.

        Raises:
            UnknownKeyError: The master key it was wrapped with is not in the keyring.
            DecryptionError: Altered, malformed, or wrapped for another subject.
        """
        key = self._sealer.open_one(wrapped, context=_subject_context(subject))
        if len(key) != KEY_BYTES:
            raise DecryptionError(f"the wrapped key of subject {subject!r} is not 32 bytes")
        return key

    def needs_rotation(self, wrapped: str) -> bool:
        """Tell whether a wrapped key uses a master key other than the current one."""
        key_id, _ = self._sealer.split(wrapped)
        return key_id != self._keyring.current_id

    def rewrap(self, wrapped: str, *, subject: str) -> str:
        """Wrap a subject key again under the current master key; current ones come back as is."""
        if not self.needs_rotation(wrapped):
            return wrapped
        return self.wrap(self.unwrap(wrapped, subject=subject), subject=subject)

    @staticmethod
    def encrypt_for_subject(value: str, *, subject: str, subject_key: bytes, context: str) -> str:
        """Encrypt text under a subject's own key (token ``sub1:<subject>:...``)."""
        _check_subject_key(subject_key)
        return (
            SubjectKeys.seal_many(
                [value], subjects=[subject], aeads={subject: AESGCM(subject_key)}, context=context
            )[0]
            or ""
        )

    @staticmethod
    def decrypt_for_subject(token: str, *, subject_key: bytes, context: str) -> str:
        """Decrypt a ``sub1`` token with its subject's key and the same context.

        Raises:
            DecryptionError: Wrong key (for instance after shredding), context, or an altered
                or malformed token.
        """
        _check_subject_key(subject_key)
        subject = SubjectKeys.subject_of(token)
        if subject is None:
            raise DecryptionError(f"not a {_SUBJECT!r} token: expected {_SUBJECT}:subject:...")
        opened = SubjectKeys.open_many(
            [token], aeads={subject: AESGCM(subject_key)}, context=context
        )
        return str(opened[0])

    @staticmethod
    def seal_many(
        values: Sequence[str | None],
        *,
        subjects: Sequence[str | None],
        aeads: Mapping[str, AESGCM | None],
        context: str,
    ) -> list[str | None]:
        """Encrypt each value under the key of its subject (`aeads`: subject -> AES-GCM);
        None passes through. The associated data binds the format and the context; the
        subject needs no binding, as each has a key of its own."""
        aad = _SUBJECT_AAD + _checked_context(context).encode()
        nonces = os.urandom(_NONCE_BYTES * len(values))
        out: list[str | None] = []
        append = out.append
        position = 0
        for value, subject in zip(values, subjects, strict=True):
            if value is None:
                append(None)
            elif subject is None:
                at = position // _NONCE_BYTES
                raise InputError(f"value {at} of the batch has no subject to seal it for")
            elif (aead := aeads.get(subject)) is None:
                at = position // _NONCE_BYTES
                raise DecryptionError(
                    f"value {at} of the batch: no live key of subject {subject!r} (destroyed?)"
                )
            else:
                nonce = nonces[position : position + _NONCE_BYTES]
                sealed = aead.encrypt(nonce, value.encode(), aad)
                append(f"{_SUBJECT_HEAD}{subject}:{_b64url(nonce + sealed)}")
            position += _NONCE_BYTES
        return out

    @staticmethod
    def open_many(
        tokens: Sequence[str | None], *, aeads: Mapping[str, AESGCM | None], context: str
    ) -> list[str | None]:
        """Decrypt each ``sub1`` token with its subject's key; None passes through, and so
        does (as None) a token whose subject's key was destroyed (`aeads` maps it to None).

        Raises:
            DecryptionError: A subject missing from `aeads`, or an altered, malformed or
                misplaced token (the batch position is in the message).
        """
        context = _checked_context(context)
        aad = _SUBJECT_AAD + context.encode()
        out: list[str | None] = []
        append = out.append
        for position, token in enumerate(tokens):
            if token is None:
                append(None)
                continue
            try:
                subject, blob = _split_subject_token(token)
                if subject not in aeads:
                    raise DecryptionError(f"no key of subject {subject!r} was given")
                aead = aeads[subject]
                if aead is None:
                    append(None)  # shredded
                    continue
                data = _open(aead, blob, aad, key_id=f"subject {subject}", context=context)
                append(_text(data, context=context))
            except DecryptionError as exc:
                raise _at_position(exc, position) from None
        return out

    @staticmethod
    def subject_of(token: object) -> str | None:
        """The subject a ``sub1`` token was sealed for; None for anything else."""
        if not isinstance(token, str) or not token.startswith(_SUBJECT_HEAD):
            return None
        subject, sep, _ = token[len(_SUBJECT_HEAD) :].partition(":")
        return subject if sep and subject else None

    def __repr__(self) -> str:
        return f"SubjectKeys({self._keyring!r})"


def _split_subject_token(token: str) -> tuple[str, bytes]:
    """Return the subject and the raw blob of a ``sub1`` token."""
    kind, _, rest = token.partition(":")
    subject, _, encoded = rest.partition(":")
    if kind != _SUBJECT or not subject or not encoded:
        raise DecryptionError(f"not a {_SUBJECT!r} token: expected {_SUBJECT}:subject:...")
    return subject, _unb64url(encoded)


def _derive(master: bytes, *, purpose: str) -> bytes:
    """Derive the 256-bit key of one purpose from a master key (HKDF-SHA256)."""
    info = f"rolodex/{purpose}/v1".encode()
    return HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=info).derive(master)


def _open(aead: AESGCM, blob: bytes, aad: bytes, *, key_id: str, context: str) -> bytes:
    """Decrypt ``nonce || ciphertext || tag``, turning every failure into a DecryptionError."""
    if len(blob) < _NONCE_BYTES + _TAG_BYTES:
        raise DecryptionError(f"the token for {context!r} is truncated")
    try:
        return aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError(
            f"the token does not decrypt with key {key_id!r} for {context!r}: it was altered, "
            "or it belongs to another column or subject"
        ) from None


def _at_position(exc: DecryptionError, position: int) -> DecryptionError:
    """Return the same kind of error with the batch position in front of its message."""
    message = f"value {position} of the batch: {exc}"
    if isinstance(exc, UnknownKeyError):
        return UnknownKeyError(message, key_id=exc.key_id)
    return DecryptionError(message)


def _text(data: bytes, *, context: str) -> str:
    """Decode decrypted bytes as UTF-8 text."""
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise DecryptionError(f"the token for {context!r} holds bytes, not text") from None


def _checked_context(context: str) -> str:
    """Refuse an empty context, which would bind nothing."""
    if not context:
        raise InputError("encryption needs a context such as 'contact.email'")
    return context


def _subject_context(subject: str) -> str:
    """Return the context a subject key is wrapped in."""
    if not subject:
        raise InputError("a subject key needs the subject id it belongs to")
    return f"subject\x00{subject}"


def _check_subject_key(subject_key: bytes) -> None:
    """Refuse a subject key that is not 32 bytes."""
    if len(subject_key) != KEY_BYTES:
        raise InputError(f"a subject key is {KEY_BYTES} bytes, not {len(subject_key)}")


def _check_key_id(key_id: str, *, where: str) -> None:
    """Refuse ids that would break the token or file format, and the reserved index id."""
    if key_id == INDEX_KEY_ID:
        raise ConfigError(f"{where}: {INDEX_KEY_ID!r} is reserved for the blind-index key")
    if not _KEY_ID.fullmatch(key_id):
        raise ConfigError(
            f"{where}: key id {key_id!r} must be 1-32 letters, digits, '_', '-' or '.'"
        )


def _check_length(material: bytes, *, key_id: str, where: str) -> None:
    """Refuse a key that is not 256-bit."""
    if len(material) != KEY_BYTES:
        raise ConfigError(
            f"{where}: key {key_id!r} is {len(material)} bytes; keys are {KEY_BYTES} bytes "
            f"(256 bits) in base64; make one with {_GENERATE_HINT}"
        )


def _decode_key(encoded: str, *, key_id: str, where: str) -> bytes:
    """Decode standard or URL-safe base64, padding optional, without echoing the key."""
    try:
        material = base64.b64decode(
            encoded.translate(_TO_STANDARD_B64) + "=" * (-len(encoded) % 4), validate=True
        )
    except binascii.Error:
        raise ConfigError(f"{where}: key {key_id!r} is not valid base64") from None
    _check_length(material, key_id=key_id, where=where)
    return material


def _fresh_key() -> bytes:
    """Make 32 random bytes."""
    return secrets.token_bytes(KEY_BYTES)


def _b64(data: bytes) -> str:
    """Encode standard base64 (the key-file format)."""
    return base64.b64encode(data).decode("ascii")


def _b64url(data: bytes) -> str:
    """Encode URL-safe base64 without padding (tokens), with the C encoder: this runs per
    value."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode()


def _unb64url(encoded: str) -> bytes:
    """Decode a token's URL-safe base64, strictly (the C decoder: this runs per value)."""
    try:
        standard = (encoded + "=" * (-len(encoded) % 4)).encode("ascii").translate(_URLSAFE_BYTES)
        return binascii.a2b_base64(standard, strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise DecryptionError("the token is not valid base64url") from None
