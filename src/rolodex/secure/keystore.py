"""Where a workspace's keys come from, how they are made and rotated, and re-encryption.

Keys come from, in order: ``ROLODEX_KEYS`` or ``ROLODEX_KEY_FILE``, the configured
`security.key_file`, or ``rolodex.key`` in the working directory (what `rolodex init` makes
when nothing else is configured). A key file is re-read when it changes, so a rotation by
`rolodex keys rotate` reaches running servers without a restart: old keys stay in the file
for decryption, new values use the new key, and stored values are re-encrypted in batches.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from rolodex.exceptions import ConfigError
from rolodex.secure.crypto import ENV_KEY_FILE, ENV_KEYS, Cipher, Keyring
from rolodex.secure.vault import KeyVault, shared_vault
from rolodex.store.sealed import (
    INDEXES,
    NAME_INDEX,
    POINT_GROUPS,
    SEALED,
    Sealer,
    contact_subject,
    is_token,
    record_subject,
    subject_of,
)

DEFAULT_KEY_FILE = Path("rolodex.key")


def configured_key_file(
    key_file: Path | None, *, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The key file in use, None when keys come inline from ``ROLODEX_KEYS``.

    Args:
        key_file: The `security.key_file` setting.
        environ: The variables to read; `os.environ` when None.
    """
    env = os.environ if environ is None else environ
    if env.get(ENV_KEYS, "").strip():
        return None
    if path := env.get(ENV_KEY_FILE, "").strip():
        return Path(path)
    return key_file if key_file is not None else DEFAULT_KEY_FILE


class KeyStore:
    """The keys of one workspace, cached, and re-read when the key file changes."""

    def __init__(
        self, *, key_file: Path | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self.path = configured_key_file(key_file, environ=self._environ)
        self._lock = threading.Lock()
        self._cipher: Cipher | None = None
        self._stamp: tuple[float, int] | None = None
        self._checked = 0.0

    @property
    def available(self) -> bool:
        """Whether keys are configured (inline or an existing key file)."""
        return self.path is None or self.path.exists()

    def cipher(self) -> Cipher:
        """The cipher over the current keys; a changed key file is picked up within 1 s."""
        now = time.monotonic()
        if self._cipher is not None and (self.path is None or now - self._checked < 1.0):
            return self._cipher
        with self._lock:
            self._checked = now
            if self.path is None:
                if self._cipher is None:
                    self._cipher = Cipher(Keyring.from_env(self._environ))
                return self._cipher
            try:
                info = self.path.stat()
            except OSError:
                raise ConfigError(
                    f"no encryption keys: {self.path} does not exist; create it with "
                    "`rolodex keys init` or set ROLODEX_KEYS / ROLODEX_KEY_FILE"
                ) from None
            stamp = (info.st_mtime, info.st_size)
            if self._cipher is None or stamp != self._stamp:
                self._cipher = Cipher(Keyring.from_file(self.path))
                self._stamp = stamp
            return self._cipher

    def reload(self) -> None:
        """Forget the cached keys: the next use reads them again (after a rotation here)."""
        with self._lock:
            self._cipher = None
            self._stamp = None

    def keyring(self) -> Keyring:
        """The current keyring."""
        return self.cipher().keyring


def init_key_file(path: Path) -> Keyring:
    """Create a key file with a fresh keyring (mode 600; an existing file is never replaced)."""
    keyring = Keyring.generate()
    keyring.write(path)
    return keyring


def rotated_inline_keys(environ: Mapping[str, str] | None = None) -> str:
    """The ROLODEX_KEYS value with a fresh current key added (keys set inline are rotated
    where the variable is set; this only makes the new value)."""
    return Keyring.from_env(environ).rotated().to_env_value()


def rotate_key_file(path: Path) -> Keyring:
    """Add a fresh current key to a key file, atomically; old keys stay for decryption."""
    rotated = Keyring.from_file(path).rotated()
    fd, tmp = tempfile.mkstemp(prefix=".rolodex-key-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(rotated.to_text())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return rotated


_STORES: dict[tuple[Path | None, str, str], KeyStore] = {}
_STORES_LOCK = threading.Lock()


@dataclass(frozen=True)
class SealerRecipe:
    """How to build a workspace's `Sealer`: picklable, so a writer process makes its own
    from the key file or the environment (keys themselves never cross a process boundary)."""

    key_file: Path | None
    groups: tuple[str, ...]
    vault: str | None = None
    """The key vault's URL (`rolodex.secure.vault.vault_url`); None seals under the master key
    only (no crypto-shredding)."""

    def __call__(self) -> Sealer:
        keys = shared_keystore(self.key_file)
        cipher = keys.cipher()
        vault = None if self.vault is None else shared_vault(self.vault, keys.keyring)
        return Sealer(cipher, self.groups, vault)


def shared_keystore(key_file: Path | None) -> KeyStore:
    """The process's one `KeyStore` for this setting and environment, so a rotation that
    reloads it reaches every sealer at once."""
    env = os.environ
    where = (key_file, env.get(ENV_KEYS, ""), env.get(ENV_KEY_FILE, ""))
    with _STORES_LOCK:
        store = _STORES.get(where)
        if store is None:
            store = _STORES[where] = KeyStore(key_file=key_file)
        return store


@dataclass
class Reencryption:
    """How many stored values a re-encryption pass looked at and rewrote, per column."""

    checked: dict[str, int] = field(default_factory=dict)
    rewritten: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, dict[str, int]]:
        """Plain data for JSON output."""
        return {"checked": self.checked, "rewritten": self.rewritten}


class _RowSubject:
    """The subject a row's values are sealed under: the one the row already uses, else that
    of the source record they come from (golden values, points and views follow their
    record, so erasing the record's person shreds them), else a new one; found on first
    need."""

    def __init__(self, conn: Connection, sealer: Sealer, name: str, row: Mapping[str, Any]):
        self._conn = conn
        self._sealer = sealer
        self._name = name
        self._row = row
        held = sealer.subjects(name, [row])
        self._subject = min(held) if held else None

    def __call__(self) -> str | None:
        if self._subject is None:
            self._subject = self._origin() or self._sealer.new_subjects(1)[0]
        return self._subject

    def _origin(self) -> str | None:
        if self._name in ("contact_record", "contact_point"):
            return record_subject(self._conn, self._row.get("source_record_id"))
        if self._name == "contact":
            return contact_subject(self._conn, self._row.get("id"))
        return None


_KEY_COLUMN = {
    "source_record": "id",
    "source_record_history": "id",
    "contact_record": "source_record_id",
    "contact": "id",
    "contact_point": "id",
}


def reseal_store(
    engine: Engine,
    cipher: Cipher,
    groups: tuple[str, ...],
    *,
    vault: KeyVault | None = None,
    batch: int = 5_000,
) -> Reencryption:
    """Bring every personal-data column in line with the keys and `security.encrypt`, in
    short transactions: plaintext of an encrypted kind is encrypted, tokens under an old key
    are re-encrypted under the current one, tokens of a kind no longer encrypted are
    decrypted, and missing blind indexes are filled. With a key vault, values are sealed
    under their row's subject key (the one the row already uses, else a new one), values
    sealed under the master key move to it, and values already under a subject key stay as
    they are (`KeyVault.rewrap` rotates their keys).

    What `rolodex keys rotate` runs after adding a key, and `rolodex keys seal` runs alone
    (after turning encryption on for a workspace that holds plaintext). Readers keep working
    throughout: they accept plaintext and tokens under any key of the keyring.
    """
    sealer = Sealer(cipher, groups, vault)
    current = cipher.keyring.current_id
    result = Reencryption()

    def settle(kind: str, value: str | None, subject: Callable[[], str | None]) -> str | None:
        if value is None:
            return None
        if is_token(value):
            if not sealer.seals(kind):
                opened = sealer.open_one(kind, value)
                return None if opened is None else str(opened)
            if subject_of(value) is not None:
                return value
            if vault is not None:
                opened = sealer.open_one(kind, value)
                return None if opened is None else sealer.seal_one(kind, opened, subject=subject())
            if value.split(":", 2)[1] == current:
                return value
            return cipher.reencrypt(value, context=f"pii.{kind}")
        return sealer.seal_one(kind, value, subject=subject())

    for name, columns in SEALED.items():
        key = _KEY_COLUMN[name]
        indexes = INDEXES.get(name, {})
        sealed = list(columns)
        point = name == "contact_point"
        named = name == "contact_record"
        wanted = [
            *sealed,
            *indexes,
            *(("kind", "value", "value_index", "source_record_id") if point else ()),
            *((NAME_INDEX,) if named else ()),
        ]
        select = ", ".join(f'"{c}"' for c in dict.fromkeys(wanted))
        checked = rewritten = 0
        last = 0
        while True:
            with engine.begin() as conn:
                rows = (
                    conn.execute(
                        text(
                            f'SELECT "{key}", {select} FROM "{name}" WHERE "{key}" > :last'
                            f' ORDER BY "{key}" LIMIT :n'
                        ),
                        {"last": last, "n": batch},
                    )
                    .mappings()
                    .all()
                )
                if not rows:
                    break
                for row in rows:
                    checked += 1
                    plain = sealer.open_row(name, dict(row))
                    changes: dict[str, object] = {}
                    subject = _RowSubject(conn, sealer, name, dict(row))
                    for column in sealed:
                        new = settle(columns[column], row[column], subject)
                        if new != row[column]:
                            changes[column] = new
                    for column, (source, _field) in indexes.items():
                        if row[column] is None and plain.get(source) is not None:
                            changes[column] = sealer.index_value(_field, str(plain[source]))
                    if named:
                        index = sealer.name_index(plain["last_name_key"], plain["first_name_key"])
                        if index != row[NAME_INDEX]:
                            changes[NAME_INDEX] = index
                    if point and (kind := POINT_GROUPS.get(row["kind"])) is not None:
                        new = settle(kind, row["value"], subject)
                        if new != row["value"]:
                            changes["value"] = new
                        if row["value_index"] is None and row["kind"] in ("email", "phone"):
                            changes["value_index"] = sealer.point_index(row["kind"], plain["value"])
                    if changes:
                        sets = ", ".join(f'"{c}" = :{c}' for c in changes)
                        conn.execute(
                            text(f'UPDATE "{name}" SET {sets} WHERE "{key}" = :_key'),
                            {**changes, "_key": row[key]},
                        )
                        rewritten += 1
                last = int(rows[-1][key])
        result.checked[name] = checked
        result.rewritten[name] = rewritten
    return result
