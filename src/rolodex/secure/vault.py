"""The key vault: one random data key per subject, kept apart from the database.

Crypto-shredding needs the keys somewhere the database and its backups are not: personal data
is sealed under its subject's key (a source row, a golden record), the key is wrapped by the
master key and stored here, and erasure destroys it. A backup of the database taken before
the erasure then holds ciphertext that nothing can open, while every other subject in it
stays readable. Back the vault up on its own, like the key file: without it, nothing sealed
under a subject key can be read.

The vault is a small SQLAlchemy store (a SQLite file by default, any URL works, PostgreSQL
when several hosts serve one workspace). A destroyed key leaves a tombstone (the random
subject id, no key), so reading a shredded value gives None while a key that was never in
this vault is an error: a wrong vault must not look like erased data. SQLite vaults run with
`secure_delete` and truncate their write-ahead log after each erasure, so a destroyed key
does not linger in free pages or old log frames.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, create_engine, event, text

from rolodex.secure.crypto import KEY_BYTES, DecryptionError, Keyring, SubjectKeys

__all__ = ["ENV_VAULT", "KeyVault", "shared_vault", "vault_url"]

ENV_VAULT = "ROLODEX_VAULT"
"""The vault's location (a path or a SQLAlchemy URL), overriding the setting and the default."""

_KEYS = 50_000
"""Subject keys kept in memory (about 150 bytes each); past that the cache starts over (a full
resolve reads every subject once, a slice at a time)."""

_SLICE = 4_096
"""Tokens opened or sealed per batch of AES-GCM objects (2.5 KB each, built per call: a
million at once would take gigabytes)."""

_IN = 500
"""Subjects per lookup statement (SQLite's default limit of bound parameters is far higher)."""


def vault_url(
    setting: str | Path | None, *, database_url: str, key_file: Path | None, environ: Any = None
) -> str:
    """Where a workspace's vault is: ``ROLODEX_VAULT``, else `security.vault`, else beside the
    SQLite database (``rolodex.db`` -> ``rolodex.vault``), else beside the key file, else
    ``rolodex.vault`` in the working directory."""
    env = os.environ if environ is None else environ
    chosen: str | Path | None = env.get(ENV_VAULT, "").strip() or setting
    if chosen:
        text_ = str(chosen)
        return text_ if "://" in text_ else f"sqlite:///{Path(text_).resolve()}"
    prefix = "sqlite:///"
    if database_url.startswith(prefix) and database_url[len(prefix) :] not in ("", ":memory:"):
        path = Path(database_url[len(prefix) :].split("?", 1)[0])
        return f"{prefix}{path.resolve().with_suffix('.vault')}"
    base = key_file.with_suffix(".vault") if key_file is not None else Path("rolodex.vault")
    return f"{prefix}{base.resolve()}"


class KeyVault:
    """Create, open and destroy subject keys in one vault.

    Args:
        url: The vault's SQLAlchemy URL (`vault_url`).
        keyring: Gives the current keyring, which wraps and unwraps the keys (called per use,
            so a rotated key file is picked up).
    """

    def __init__(self, url: str, keyring: Callable[[], Keyring]) -> None:
        self.url = url
        self._keyring = keyring
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._keys: dict[str, bytes | None] = {}

    # --- storage -----------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The vault's engine; the table is made on first use."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._connect()
        return self._engine

    def _connect(self) -> Engine:
        sqlite = self.url.startswith("sqlite")
        if sqlite and (path := self.url.split(":///", 1)[-1]) and "://" not in path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(self.url, connect_args={"timeout": 60} if sqlite else {})
        if sqlite:

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi: Any, _record: Any) -> None:
                cursor = dbapi.cursor()
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA secure_delete = ON")
                cursor.execute("PRAGMA synchronous = NORMAL")
                cursor.close()

        rowid = " WITHOUT ROWID" if sqlite else ""
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE IF NOT EXISTS subject_key (subject VARCHAR(40) PRIMARY KEY,"
                    " wrapped TEXT, created_at TIMESTAMP NOT NULL, destroyed_at TIMESTAMP)" + rowid
                )
            )
        if sqlite and (file := Path(self.url.split(":///", 1)[-1])).exists():
            os.chmod(file, 0o600)  # wrapped keys: no one else needs to read them
        return engine

    # --- keys ----------------------------------------------------------------------------------

    def create(self, count: int) -> list[str]:
        """Make `count` subjects with fresh keys, stored (committed) before any data is sealed
        under them; return their ids."""
        if count <= 0:
            return []
        subjects = SubjectKeys.new_subject_ids(count)
        material = os.urandom(KEY_BYTES * count)
        keys = [material[i * KEY_BYTES : (i + 1) * KEY_BYTES] for i in range(count)]
        wrapped = SubjectKeys(self._keyring()).wrap_many(keys, subjects=subjects)
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        mark = self._mark
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                f"INSERT INTO subject_key (subject, wrapped, created_at) VALUES ({mark}, {mark},"
                f" {mark})",
                [(s, w, now) for s, w in zip(subjects, wrapped, strict=True)],
            )
        self._remember(zip(subjects, keys, strict=True))
        return subjects

    def aeads(self, subjects: Iterable[str]) -> dict[str, AESGCM | None]:
        """The opened key of each subject, None for a destroyed one.

        Raises:
            DecryptionError: A subject this vault never held (a wrong `ROLODEX_VAULT`?).
        """
        wanted = set(subjects)
        cached = self._keys
        keys = {s: cached[s] for s in wanted if s in cached}
        if len(keys) < len(wanted):
            keys.update(self._fetch(sorted(wanted - keys.keys())))
        absent = [s for s in wanted if s not in keys]
        if absent:
            raise DecryptionError(
                f"the key vault {self.where} does not hold the key of subject {min(absent)!r}"
                f" ({len(absent)} missing): is {ENV_VAULT} (or security.vault) the vault this"
                " data was written with?"
            )
        return {s: None if (k := keys[s]) is None else AESGCM(k) for s in wanted}

    def _fetch(self, subjects: Sequence[str]) -> dict[str, bytes | None]:
        """Read and unwrap these subjects' keys (None: destroyed), remembering them."""
        live: list[tuple[str, str]] = []
        found: list[tuple[str, bytes | None]] = []
        with self.engine.connect() as conn:
            for start in range(0, len(subjects), _IN):
                part = subjects[start : start + _IN]
                marks = ", ".join([self._mark] * len(part))
                rows = conn.exec_driver_sql(
                    f"SELECT subject, wrapped FROM subject_key WHERE subject IN ({marks})",
                    tuple(part),
                ).all()
                for subject, wrapped in rows:
                    if wrapped is None:
                        found.append((subject, None))
                    else:
                        live.append((subject, wrapped))
        keys = SubjectKeys(self._keyring()).unwrap_many(
            [w for _, w in live], subjects=[s for s, _ in live]
        )
        found.extend(zip((s for s, _ in live), keys, strict=True))
        self._remember(found)
        return dict(found)

    @property
    def _mark(self) -> str:
        """The driver's placeholder (statements go straight to the driver: this runs per row)."""
        return "?" if self.engine.dialect.paramstyle == "qmark" else "%s"

    def seal_many(
        self,
        values: Sequence[str | None],
        *,
        subjects: Sequence[str | None],
        context: str,
        keys: Mapping[str, AESGCM | None] | None = None,
    ) -> list[str | None]:
        """Encrypt each value under its subject's key (subjects made by `create`); `keys`,
        from `aeads`, saves looking the subjects up again for each column of a batch."""
        if keys is not None:  # the batch's keys: no per-column lookups (the common case)
            return SubjectKeys.seal_many(values, subjects=subjects, aeads=keys, context=context)
        out: list[str | None] = []
        for start in range(0, len(values), _SLICE):
            part, named = values[start : start + _SLICE], subjects[start : start + _SLICE]
            need = {s for s, v in zip(named, part, strict=True) if v is not None and s is not None}
            out += SubjectKeys.seal_many(
                part, subjects=named, aeads=self.aeads(need), context=context
            )
        return out

    def export(self, subjects: Sequence[str]) -> bytes:
        """The raw keys of subjects made here (just `create`d: in the cache), concatenated: how
        the import hands a chunk's keys to its writer process along with the chunk, so the
        writer need not read and unwrap them again."""
        keys = self._keys
        return b"".join(keys[s] or b"" for s in subjects)

    def prime(self, subjects: Sequence[str], blob: bytes) -> None:
        """Take keys `export`ed by another process of the same import into the cache."""
        if len(blob) != KEY_BYTES * len(subjects):
            raise DecryptionError("the subject keys handed over do not match their subjects")
        self._remember(
            (s, blob[i * KEY_BYTES : (i + 1) * KEY_BYTES]) for i, s in enumerate(subjects)
        )

    def open_many(
        self,
        tokens: Sequence[str | None],
        *,
        context: str,
        keys: Mapping[str, AESGCM | None] | None = None,
    ) -> list[str | None]:
        """Decrypt ``sub1`` tokens; a shredded subject's values come back as None. `keys`,
        from `aeads`, serves several columns of one batch."""
        if keys is not None:
            return SubjectKeys.open_many(tokens, aeads=keys, context=context)
        out: list[str | None] = []
        for start in range(0, len(tokens), _SLICE):
            part = tokens[start : start + _SLICE]
            out += SubjectKeys.open_many(part, aeads=self.aeads(subjects_in(part)), context=context)
        return out

    def destroy(self, subjects: Iterable[str]) -> int:
        """Destroy the keys of these subjects (crypto-shredding) and return how many were
        live; on SQLite, the write-ahead log is then emptied so no copy of them stays there."""
        wanted = sorted(set(subjects))
        if not wanted:
            return 0
        now = datetime.now(UTC).replace(tzinfo=None)
        destroyed = 0
        with self.engine.begin() as conn:
            for start in range(0, len(wanted), _IN):
                part = wanted[start : start + _IN]
                marks = ", ".join(f":s{i}" for i in range(len(part)))
                params: dict[str, Any] = {f"s{i}": s for i, s in enumerate(part)}
                destroyed += conn.execute(
                    text(
                        "UPDATE subject_key SET wrapped = NULL, destroyed_at = :now"
                        f" WHERE subject IN ({marks}) AND wrapped IS NOT NULL"
                    ),
                    {**params, "now": now},
                ).rowcount
        with self._lock:
            for subject in wanted:
                self._keys[subject] = None
        self.scrub()
        return destroyed

    def scrub(self) -> bool:
        """Empty a SQLite vault's write-ahead log (destroyed keys' old frames); True when done
        (another process reading the vault can hold it back until later)."""
        if not self.url.startswith("sqlite"):
            return True
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
        return row is not None and int(row[0]) == 0

    def rewrap(self, *, batch: int = 5_000) -> tuple[int, int]:
        """Wrap every live key again under the current master key (after a rotation); return
        (keys checked, keys rewrapped). Data sealed under the keys is not touched."""
        subject_keys = SubjectKeys(self._keyring())
        checked = rewrapped = 0
        last = ""
        while True:
            with self.engine.begin() as conn:
                rows = conn.execute(
                    text(
                        "SELECT subject, wrapped FROM subject_key WHERE subject > :last"
                        " AND wrapped IS NOT NULL ORDER BY subject LIMIT :n"
                    ),
                    {"last": last, "n": batch},
                ).all()
                if not rows:
                    return checked, rewrapped
                changed = []
                for subject, wrapped in rows:
                    checked += 1
                    if subject_keys.needs_rotation(wrapped):
                        changed.append(
                            {"s": subject, "w": subject_keys.rewrap(wrapped, subject=subject)}
                        )
                if changed:
                    conn.execute(
                        text("UPDATE subject_key SET wrapped = :w WHERE subject = :s"), changed
                    )
                    rewrapped += len(changed)
                last = str(rows[-1][0])

    def counts(self) -> dict[str, int]:
        """Live and destroyed keys."""
        with self.engine.connect() as conn:
            live, gone = conn.execute(
                text("SELECT COUNT(wrapped), COUNT(*) - COUNT(wrapped) FROM subject_key")
            ).one()
        return {"live": int(live), "destroyed": int(gone)}

    @property
    def where(self) -> str:
        """The vault's location for messages (a file path, or the URL without password)."""
        if self.url.startswith("sqlite:///"):
            return self.url[len("sqlite:///") :]
        return str(self.engine.url.render_as_string(hide_password=True))

    def close(self) -> None:
        """Release the vault's connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _remember(self, pairs: Iterable[tuple[str, bytes | None]]) -> None:
        with self._lock:
            if len(self._keys) > _KEYS:
                self._keys = {}
            self._keys.update(pairs)

    def __repr__(self) -> str:
        return f"KeyVault({self.where!r})"


_VAULTS: dict[tuple[str, int, object], KeyVault] = {}
_VAULTS_LOCK = threading.Lock()


def shared_vault(url: str, keyring: Callable[[], Keyring]) -> KeyVault:
    """The process's one `KeyVault` at `url` for this source of keys (a key store's bound
    `keyring` method: one vault object per key store; a child process makes its own)."""
    where = (url, os.getpid(), getattr(keyring, "__self__", keyring))
    with _VAULTS_LOCK:
        vault = _VAULTS.get(where)
        if vault is None:
            vault = _VAULTS[where] = KeyVault(url, keyring)
        return vault


def subjects_in(values: Sequence[Any]) -> set[str]:
    """The subjects the ``sub1`` tokens among `values` were sealed for."""
    found = (SubjectKeys.subject_of(v) for v in values)
    return {s for s in found if s is not None}
