"""Which stored columns hold personal data, and sealing them: encrypt on the way in, compute
their blind indexes, decrypt on the way out.

Every stage writes and reads the store through the same `Sealer`, built by the workspace from
its keys and the `security.encrypt` setting, so no stage needs the keys itself. Values of one
kind share one encryption context (``pii.email`` for every email column), so SQL that copies a
value from the standardized view into a golden record copies the token as it is; a token moved
into a column of another kind fails to decrypt. SQL can compare and group sealed values only
through their blind-index columns (``*_index``): tokens use random nonces, so two tokens of the
same email differ.

Reading is lenient: a value that is not a token is plaintext (data stored before the field was
encrypted, or a field the setting leaves out) and is returned as it is, so turning encryption
on needs no downtime; `reseal_store` then encrypts what is still plaintext.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import polars as pl
import pyarrow as pa
from sqlalchemy import Connection, Engine, text

from rolodex.exceptions import ConfigError

__all__ = [
    "DEFAULT_GROUPS",
    "GROUPS",
    "NAME_INDEX",
    "SEALED",
    "SUBJECT_COLUMN",
    "SUBJECT_PATTERN",
    "Sealer",
    "contact_subject",
    "factory_of",
    "is_token",
    "record_subject",
    "register",
    "sealer_of",
    "subject_of",
]

GROUPS = ("email", "phone", "street", "birth_date", "payload", "name")
"""The kinds of personal data `security.encrypt` may name."""

DEFAULT_GROUPS = ("email", "phone", "street", "birth_date", "payload")
"""Encrypted unless configured otherwise: all but names, which stay searchable (by prefix and
ignoring case) in SQL; encrypted names are found by exact first and last name only."""

SEALED: dict[str, dict[str, str]] = {
    "source_record": {"payload": "payload"},
    "source_record_history": {"payload": "payload"},
    "contact_record": {
        "email": "email",
        "email2": "email",
        "email_key": "email",
        "phone": "phone",
        "mobile": "phone",
        "work_phone": "phone",
        "other_phone": "phone",
        "phone_key": "phone",
        "street": "street",
        "street2": "street",
        "street_key": "street",
        "birth_date": "birth_date",
        "first_name": "name",
        "middle_name": "name",
        "last_name": "name",
        "full_name": "name",
        "first_name_key": "name",
        "last_name_key": "name",
    },
    "contact": {
        "email": "email",
        "phone": "phone",
        "birth_date": "birth_date",
        "first_name": "name",
        "middle_name": "name",
        "last_name": "name",
        "full_name": "name",
    },
    "contact_point": {"street": "street", "street2": "street"},
}
"""table -> column -> kind of personal data, for every column the setting can encrypt.
`contact_point.value` is sealed by the point's kind (see `POINT_GROUPS`)."""

POINT_GROUPS = {"email": "email", "phone": "phone", "address": "street"}
"""contact_point.kind -> the kind of personal data its `value` is."""

INDEXES: dict[str, dict[str, tuple[str, str]]] = {
    "contact_record": {
        "email_index": ("email", "email"),
        "email_key_index": ("email_key", "email_key"),
        "phone_index": ("phone_key", "phone"),
    },
}
"""table -> blind-index column -> (the plaintext column it indexes, index field)."""

SUBJECT_COLUMN = "_subject"
"""A column of an Arrow batch for `Sealer.seal_arrow` (and so `Bulk.ingest`) that names
each row's subject; it is not stored."""

_FRAME_SLICE = 4_096
"""Rows `open_frame` decrypts together (their AES-GCM objects take 2.5 KB each)."""

NAME_INDEX = "name_index"
"""contact_record's blind index of its name keys (`Sealer.name_index`), filled only when names
are encrypted."""


class VaultLike(Protocol):
    """What sealing needs from `rolodex.secure.vault.KeyVault`: subject keys kept apart from
    the database, so erasing a person destroys their key and every copy of their data."""

    def create(self, count: int) -> list[str]:
        """Make `count` subjects with fresh keys; return their ids."""
        ...

    def aeads(self, subjects: Iterable[str]) -> Mapping[str, Any]:
        """The opened keys of these subjects, for `seal_many` over several columns."""
        ...

    def seal_many(
        self,
        values: Sequence[str | None],
        *,
        subjects: Sequence[str | None],
        context: str,
        keys: Mapping[str, Any] | None = None,
    ) -> list[str | None]:
        """Encrypt each value under its subject's key; None stays None."""
        ...

    def open_many(
        self,
        tokens: Sequence[str | None],
        *,
        context: str,
        keys: Mapping[str, Any] | None = None,
    ) -> list[str | None]:
        """Decrypt subject tokens; a destroyed subject's values come back as None."""
        ...

    def destroy(self, subjects: Iterable[str]) -> int:
        """Destroy these subjects' keys; return how many were live."""
        ...

    def export(self, subjects: Sequence[str]) -> bytes:
        """The raw keys of subjects just made, for the other process of an import."""
        ...

    def prime(self, subjects: Sequence[str], blob: bytes) -> None:
        """Take keys another process `export`ed."""
        ...


class CipherLike(Protocol):
    """What sealing needs from `rolodex.secure.crypto.Cipher` (the store does not import it)."""

    def encrypt_many(self, values: Sequence[str | None], *, context: str) -> list[str | None]:
        """Encrypt a batch; None stays None."""
        ...

    def decrypt_many(self, tokens: Sequence[str | None], *, context: str) -> list[str | None]:
        """Decrypt a batch; None stays None."""
        ...

    def blind_index_many(self, values: Sequence[str | None], *, field: str) -> list[str | None]:
        """Keyed hashes of normalized values; None stays None."""
        ...


_TOKEN_PREFIX = "enc1:"
_SUBJECT_PREFIX = "sub1:"
_PREFIXES = (_TOKEN_PREFIX, _SUBJECT_PREFIX)
_NOT_DIGIT = re.compile(r"[^0-9]")


def is_token(value: object) -> bool:
    """Whether a stored value is an encrypted field token (else plaintext)."""
    return isinstance(value, str) and value.startswith(_PREFIXES)


SUBJECT_PATTERN = r"sub1:([A-Za-z0-9_-]+):"
"""A value sealed under a subject key, its subject captured (for regexes over stored text)."""


def record_subject(conn: Connection, record_id: int | None) -> str | None:
    """The subject whose key seals a source record's data (its payload's)."""
    row = conn.execute(
        text("SELECT payload FROM source_record WHERE id = :r"), {"r": record_id}
    ).first()
    return None if row is None else subject_of(row[0])


def contact_subject(conn: Connection, contact_id: int | None) -> str | None:
    """The subject a person's values that come from no record (edits) are sealed under: that
    of their first source record, so erasing them, which destroys their records' keys,
    shreds every edit, in old backups too; None for a contact without records."""
    row = conn.execute(
        text(
            "SELECT s.payload FROM contact_link l JOIN source_record s"
            " ON s.id = l.source_record_id WHERE l.contact_id = :c ORDER BY s.id LIMIT 1"
        ),
        {"c": contact_id},
    ).first()
    return None if row is None else subject_of(row[0])


def subject_of(value: object) -> str | None:
    """The subject a sealed value belongs to (its key is in the vault); None for a value
    sealed under the master key, or plaintext."""
    if not isinstance(value, str) or not value.startswith(_SUBJECT_PREFIX):
        return None
    subject, sep, _ = value[len(_SUBJECT_PREFIX) :].partition(":")
    return subject if sep and subject else None


def _context(group: str) -> str:
    return f"pii.{group}"


def normalize_email(value: str) -> str:
    """The form of an email that its blind index hashes: trimmed and lowercased."""
    return value.strip().lower()


def normalize_phone(value: str) -> str:
    """The form of a phone that its blind index hashes: the digits and a leading +."""
    stripped = value.strip()
    digits = (
        _NOT_DIGIT.sub("", stripped)
        if stripped.isascii()  # the common case, at regex speed; else what isdigit() says
        else "".join(ch for ch in stripped if ch.isdigit())
    )
    return ("+" + digits) if stripped.startswith("+") else digits


class Sealer:
    """Seal and open the personal-data columns of the store with one workspace's keys.

    Args:
        cipher: The workspace's cipher; None seals nothing and indexes plaintext (a store
            without keys, which only tests and throwaway workspaces use).
        groups: The kinds of personal data to encrypt (`security.encrypt`).
        vault: The workspace's key vault: each row is then sealed under a key of its own (its
            subject), which erasure destroys; None seals under the master key only.

    Subjects. With a vault, `seal_arrow` and `seal_row` make one subject per row, shared by
    the row's columns; callers that seal a record in parts (payload, view, points) pass the
    same `subjects` to each. `seal` without subjects makes one per value. A value copied as a
    token (a golden field from its source record) keeps its record's subject, so erasing the
    record's person shreds the copy too.
    """

    def __init__(
        self,
        cipher: CipherLike | None,
        groups: Iterable[str] = DEFAULT_GROUPS,
        vault: VaultLike | None = None,
    ) -> None:
        self.cipher = cipher
        self.groups = frozenset(groups) if cipher is not None else frozenset()
        self.vault = vault if cipher is not None else None

    @classmethod
    def plain(cls) -> Sealer:
        """A sealer that encrypts nothing (tests of stages that never see keys)."""
        return cls(None, ())

    # --- single kinds --------------------------------------------------------------------

    def seals(self, group: str) -> bool:
        """Whether values of this kind are encrypted."""
        return group in self.groups

    def new_subjects(self, count: int) -> list[str | None]:
        """Make `count` subjects (fresh keys in the vault); Nones without a vault."""
        if self.vault is None or not self.groups:
            return [None] * count
        return list(self.vault.create(count))

    def seal(
        self,
        group: str,
        values: Sequence[str | None],
        *,
        subjects: Sequence[str | None] | None = None,
        keys: Mapping[str, Any] | None = None,
    ) -> list[str | None]:
        """Encrypt values of one kind when the setting says so; None stays None.

        With a vault, value i is sealed under subject `subjects[i]` (a fresh subject of its own
        when `subjects` is None or names none for it); `keys` are the subjects' opened keys
        when the caller seals several columns of one batch."""
        if self.cipher is None or group not in self.groups:
            return list(values)
        if self.vault is None:
            return self.cipher.encrypt_many(values, context=_context(group))
        given: list[str | None] = [None] * len(values) if subjects is None else list(subjects)
        at = [i for i, v in enumerate(values) if v is not None and given[i] is None]
        if at:  # values without a subject get one each (so `keys` does not cover them)
            for i, subject in zip(at, self.vault.create(len(at)), strict=True):
                given[i] = subject
            keys = None
        return self.vault.seal_many(values, subjects=given, context=_context(group), keys=keys)

    def seal_one(self, group: str, value: str | None, *, subject: str | None = None) -> str | None:
        """`seal` of one value (under `subject`, else a fresh one)."""
        return self.seal(group, [value], subjects=None if subject is None else [subject])[0]

    def open(
        self, group: str, values: Sequence[Any], *, keys: Mapping[str, Any] | None = None
    ) -> list[Any]:
        """Decrypt tokens of one kind; plaintext and None pass through as they are, and a
        value whose subject key was destroyed (an erased person) comes back as None. `keys`:
        the opened keys of every subject among `values` (`open_frame` shares them)."""
        if self.cipher is None:
            return list(values)
        at = [i for i, v in enumerate(values) if isinstance(v, str) and v.startswith(_PREFIXES)]
        if not at:
            return list(values)
        out = list(values)
        master = [i for i in at if values[i].startswith(_TOKEN_PREFIX)]
        if master:
            opened = self.cipher.decrypt_many([values[i] for i in master], context=_context(group))
            for i, value in zip(master, opened, strict=True):
                out[i] = value
        if len(master) < len(at):
            own = [i for i in at if values[i].startswith(_SUBJECT_PREFIX)]
            if self.vault is None:
                raise ConfigError(
                    "the store holds values sealed under subject keys, and no key vault is set"
                )
            opened = self.vault.open_many(
                [values[i] for i in own], context=_context(group), keys=keys
            )
            for i, value in zip(own, opened, strict=True):
                out[i] = value
        return out

    def open_one(self, group: str, value: Any) -> Any:
        """`open` of one value."""
        return self.open(group, [value])[0]

    def subjects(self, table: str, rows: Sequence[Mapping[str, Any]]) -> set[str]:
        """The subjects whose keys seal any personal data in these stored rows of `table`."""
        columns = [*SEALED.get(table, {}), *(("value",) if table == "contact_point" else ())]
        found = (subject_of(r.get(c)) for r in rows for c in columns)
        return {s for s in found if s is not None}

    def index(self, field: str, values: Sequence[str | None]) -> list[str | None]:
        """Blind indexes of already normalized values (`normalize_email`, E.164 phones).

        Without keys the index is the normalized value itself, so lookups still work.
        """
        if self.cipher is None:
            return list(values)
        return self.cipher.blind_index_many(values, field=field)

    def index_one(self, field: str, value: str | None) -> str | None:
        """`index` of one value."""
        return self.index(field, [value])[0]

    def email_index(self, value: str | None) -> str | None:
        """The blind index of an email address as `contact_point.value_index` and
        `contact_record.email_index` hold it."""
        return None if value is None else self.index_one("email", normalize_email(value))

    def phone_index(self, value: str | None) -> str | None:
        """The blind index of a phone as `contact_point.value_index` and
        `contact_record.phone_index` hold it."""
        return None if value is None else self.index_one("phone", normalize_phone(value))

    def point_index(self, kind: str, value: str | None) -> str | None:
        """The blind index of a contact point's value (emails and phones only)."""
        return self.point_indexes([kind], [value])[0]

    def point_indexes(self, kinds: Sequence[str | None], values: Sequence[Any]) -> list[str | None]:
        """`point_index` of many points, one batch per kind."""
        out: list[str | None] = [None] * len(values)
        for field in ("email", "phone"):
            at = [i for i, k in enumerate(kinds) if k == field and values[i] is not None]
            if at:
                found = self.index(field, [_normalized(field, str(values[i])) for i in at])
                for i, index in zip(at, found, strict=True):
                    out[i] = index
        return out

    def name_index(self, last_key: str | None, first_key: str | None) -> str | None:
        """The blind index of a record's name keys (`contact_record.name_index`); None unless
        names are encrypted and both keys are known."""
        return self._name_indexes([last_key], [first_key])[0]

    def _name_indexes(
        self, last_keys: Sequence[str | None], first_keys: Sequence[str | None]
    ) -> list[str | None]:
        """`name_index` of many records, in one batch."""
        if not self.seals("name"):
            return [None] * len(last_keys)
        pairs = zip(last_keys, first_keys, strict=True)
        return self.index(
            "name", [None if a is None or b is None else f"{a}\x1f{b}" for a, b in pairs]
        )

    def tf_value(self, column: str, value: str) -> str:
        """How `match_tf` keeps a matching value: names by blind index when names are
        encrypted (their frequencies would otherwise list every name), others as they are."""
        if column == "name" and self.seals("name"):
            return str(self.index_one("tf_name", value))
        return value

    def name_lookup(
        self, last_key: str, first_key: str, *, alias: str = "", param: str = "n"
    ) -> tuple[str, dict[str, str]]:
        """The SQL condition (named parameters ``:<param>0``...) and its parameters that find
        the contact_records with these name keys: by blind index when names are encrypted, by
        the keys themselves when not."""
        if self.seals("name"):
            index = str(self.name_index(last_key, first_key))
            return f"{alias}{NAME_INDEX} = :{param}0", {f"{param}0": index}
        return (
            f"{alias}last_name_key = :{param}0 AND {alias}first_name_key = :{param}1",
            {f"{param}0": last_key, f"{param}1": first_key},
        )

    # --- rows and tables -------------------------------------------------------------------

    def seal_row(
        self, table: str, row: Mapping[str, Any], *, subject: str | None = None
    ) -> dict[str, Any]:
        """A row of `table` as stored: blind indexes added, personal data encrypted (under
        `subject`, else a fresh subject for the row)."""
        out = dict(row)
        if subject is None and self._needs_subject(table, out):
            subject = self.new_subjects(1)[0]
        for column, (source, field) in INDEXES.get(table, {}).items():
            if source in out and column not in out:
                value = out[source]
                out[column] = None if value is None else self.index_value(field, str(value))
        if table == "contact_record" and NAME_INDEX not in out and self.seals("name"):
            if "last_name_key" in out and "first_name_key" in out:
                out[NAME_INDEX] = self.name_index(out["last_name_key"], out["first_name_key"])
        if table == "contact_point" and "value" in out:
            kind = str(out.get("kind") or "")
            if "value_index" not in out:
                out["value_index"] = self.point_index(kind, out["value"])
            if (group := POINT_GROUPS.get(kind)) is not None and out["value"] is not None:
                out["value"] = self.seal_one(group, str(out["value"]), subject=subject)
        for column, group in SEALED.get(table, {}).items():
            if column in out and out[column] is not None:
                out[column] = self.seal_one(group, _text(out[column]), subject=subject)
        return out

    def _needs_subject(self, table: str, row: Mapping[str, Any]) -> bool:
        """Whether sealing this row encrypts anything under a subject key."""
        if self.vault is None:
            return False
        sealed = SEALED.get(table, {})
        if any(row.get(c) is not None and self.seals(g) for c, g in sealed.items()):
            return True
        group = POINT_GROUPS.get(str(row.get("kind") or "")) if table == "contact_point" else None
        return group is not None and row.get("value") is not None and self.seals(group)

    def open_row(self, table: str, row: Mapping[str, Any]) -> dict[str, Any]:
        """A stored row of `table` with its personal data decrypted."""
        out = dict(row)
        for column, group in SEALED.get(table, {}).items():
            if column in out:
                out[column] = self.open_one(group, out[column])
        if table == "contact_point" and "value" in out:
            kind = POINT_GROUPS.get(str(out.get("kind") or ""))
            if kind is not None:
                out["value"] = self.open_one(kind, out["value"])
        return out

    def open_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """`open_row` of many rows, a column at a time."""
        out = [dict(r) for r in rows]
        if not out:
            return out
        columns = SEALED.get(table, {})
        keys = None
        if self.vault is not None and len(out) <= _FRAME_SLICE:  # one vault lookup for all
            found = self.subjects(table, out)
            keys = self.vault.aeads(found) if found else None
        for column in out[0]:
            if (group := columns.get(column)) is not None:
                opened = self.open(group, [r[column] for r in out], keys=keys)
                for r, value in zip(out, opened, strict=True):
                    r[column] = value
        if table == "contact_point" and "value" in out[0] and "kind" in out[0]:
            for group in set(POINT_GROUPS.values()):
                kinds = {k for k, g in POINT_GROUPS.items() if g == group}
                at = [i for i, r in enumerate(out) if r["kind"] in kinds]
                opened = self.open(group, [out[i]["value"] for i in at], keys=keys)
                for i, value in zip(at, opened, strict=True):
                    out[i]["value"] = value
        return out

    def seal_arrow(
        self,
        table: str,
        data: pa.Table,
        *,
        subjects: Sequence[str | None] | None = None,
        keys: Mapping[str, Any] | None = None,
    ) -> pa.Table:
        """An Arrow batch for `table` as stored: blind indexes added, personal data
        encrypted, each row under its subject (`subjects`, or a `SUBJECT_COLUMN` of the
        batch, which is dropped; a fresh one for each row that names none). What
        `Bulk.ingest` does to every batch."""
        if SUBJECT_COLUMN in data.column_names:  # subjects given as a column: not stored
            given = data.column(SUBJECT_COLUMN).to_pylist()
            data = data.drop_columns([SUBJECT_COLUMN])
            subjects = given if subjects is None else subjects
        names = set(data.column_names)
        if subjects is None and self.vault is not None and data.num_rows:
            touched = [*SEALED.get(table, {}), *(("value",) if table == "contact_point" else ())]
            if any(c in names and (c == "value" or self.seals(SEALED[table][c])) for c in touched):
                subjects = self.new_subjects(data.num_rows)
        if keys is None and subjects is not None and self.vault is not None:
            keys = self.vault.aeads({s for s in subjects if s is not None})
        for column, (source, field) in INDEXES.get(table, {}).items():
            if source in names and column not in names:
                values = [
                    None if v is None else _normalized(field, str(v))
                    for v in data.column(source).to_pylist()
                ]
                data = data.append_column(column, pa.array(self.index(field, values), pa.string()))
        if (
            table == "contact_record"
            and self.seals("name")
            and NAME_INDEX not in names
            and {"last_name_key", "first_name_key"} <= names
        ):
            found = self._name_indexes(
                data.column("last_name_key").to_pylist(), data.column("first_name_key").to_pylist()
            )
            data = data.append_column(NAME_INDEX, pa.array(found, pa.string()))
        if table == "contact_point" and "value" in names and "kind" in names:
            kinds = data.column("kind").to_pylist()
            values = data.column("value").to_pylist()
            if "value_index" not in names:
                data = data.append_column(
                    "value_index", pa.array(self.point_indexes(kinds, values), pa.string())
                )
            sealed = list(values)
            for group in set(POINT_GROUPS.values()):
                at = [i for i, k in enumerate(kinds) if POINT_GROUPS.get(k or "") == group]
                if at and self.seals(group):
                    done = self.seal(
                        group,
                        [values[i] for i in at],
                        subjects=None if subjects is None else [subjects[i] for i in at],
                        keys=keys,
                    )
                    for i, value in zip(at, done, strict=True):
                        sealed[i] = value
            data = data.set_column(
                data.column_names.index("value"), "value", pa.array(sealed, pa.string())
            )
        for column, group in SEALED.get(table, {}).items():
            if column in names and self.seals(group):
                raw = [None if v is None else _text(v) for v in data.column(column).to_pylist()]
                data = data.set_column(
                    data.column_names.index(column),
                    column,
                    pa.array(self.seal(group, raw, subjects=subjects, keys=keys), pa.string()),
                )
        return data

    def open_frame(self, table: str, frame: pl.DataFrame) -> pl.DataFrame:
        """A frame read from `table` with its personal-data columns decrypted (text)."""
        if self.cipher is None:
            return frame
        columns = SEALED.get(table, {})
        sealed = [
            (column, group)
            for column in frame.columns
            if (group := columns.get(column)) is not None and frame[column].dtype == pl.Utf8
        ]
        opened: dict[str, list[Any]] = {column: [] for column, _ in sealed}
        # A slice of rows at a time, each row's subject key opened once for all its columns.
        step = _FRAME_SLICE if self.vault is not None else max(frame.height, 1)
        for start in range(0, frame.height, step):
            part = frame.slice(start, step)
            texts = {column: part[column].to_list() for column, _ in sealed}
            keys = None
            if self.vault is not None:
                found = {subject_of(v) for values in texts.values() for v in values}
                found.discard(None)
                keys = self.vault.aeads(found) if found else {}  # type: ignore[arg-type]
            for column, group in sealed:
                opened[column] += self.open(group, texts[column], keys=keys)
        updates = [pl.Series(column, opened[column], pl.Utf8) for column, _ in sealed]
        if table == "contact_point" and "value" in frame.columns and "kind" in frame.columns:
            rows = self.open_rows(
                "contact_point",
                [
                    {"kind": k, "value": v}
                    for k, v in zip(frame["kind"], frame["value"], strict=True)
                ],
            )
            updates.append(pl.Series("value", [r["value"] for r in rows], pl.Utf8))
        return frame.with_columns(updates) if updates else frame

    def index_value(self, field: str, value: str) -> str | None:
        """The blind index of a raw value of an `INDEXES` field (normalized first)."""
        return self.index_one(field, _normalized(field, value))


def _normalized(field: str, value: str) -> str:
    if field == "email":
        return normalize_email(value)
    if field == "phone":
        return normalize_phone(value)
    return value


SealerFactory = Callable[[], Sealer]
"""Makes the sealer of a workspace: picklable (a writer process rebuilds it from the key file
or the environment, since keys themselves are never pickled) and cheap (keys are cached)."""

_FACTORIES: weakref.WeakKeyDictionary[Engine, SealerFactory] = weakref.WeakKeyDictionary()


def register(engine: Engine, factory: SealerFactory) -> None:
    """Make `factory` the source of the sealer for everything that writes through `engine`."""
    _FACTORIES[engine] = factory


def factory_of(bind: Engine | Connection) -> SealerFactory | None:
    """The registered factory of an engine (or a connection's engine), None when none is."""
    engine = bind.engine if isinstance(bind, Connection) else bind
    return _FACTORIES.get(engine)


def sealer_of(bind: Engine | Connection) -> Sealer:
    """The sealer for an engine or connection; one that seals nothing when none is registered
    (a bare engine made outside a workspace, as store tests make)."""
    factory = factory_of(bind)
    return factory() if factory is not None else Sealer.plain()


def _text(value: Any) -> str:
    """Dates and other values are sealed as their ISO text."""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
