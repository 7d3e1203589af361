"""Turn raw rows into records ready to store: verbatim payload, content hash, record key,
typed canonical values, custom values, and the problems that decide accept or quarantine.

Pure functions over one row at a time; no database. This is the hot path of the import, so
the per-row work is table-driven: the column specs are worked out once per file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from rolodex.collect.convert import (
    ParseError,
    looks_dayfirst,
    parse_amount,
    parse_boolean,
    parse_date,
    parse_datetime,
    parse_integer,
)
from rolodex.collect.fields import CUSTOMER_KINDS, FieldType, Kind, field_types
from rolodex.collect.rows import Problem, RawRow

ACCEPTED = "accepted"
QUARANTINED = "quarantined"

# Typed fields whose failure quarantines the row: without them the record means nothing.
_KEY_FIELDS: dict[Kind, frozenset[str]] = {
    Kind.ORDERS: frozenset({"order_date", "total_amount", "quantity", "line_price"}),
    Kind.INTERACTIONS: frozenset({"occurred_at"}),
    Kind.TICKETS: frozenset({"created_date"}),
    Kind.EVENTS: frozenset({"occurred_at"}),
    Kind.CONSENTS: frozenset({"occurred_at"}),
}
_CONTACT_IDENTIFIERS = (
    "email",
    "email2",
    "phone",
    "mobile",
    "work_phone",
    "first_name",
    "last_name",
    "full_name",
)
_LINE_FIELDS = frozenset({"line_sku", "line_name", "line_quantity", "line_price"})
CUSTOM_TYPES = frozenset({"text", "integer", "number", "boolean", "date"})


@dataclass(slots=True)
class Prepared:
    """One row made ready for the store."""

    number: int
    file: str
    payload: str
    content_hash: bytes
    key: str
    external_id: str | None
    problems: list[Problem]
    values: dict[str, Any]
    custom: dict[str, Any] | None
    # Set by SeenKeys when the row repeats an id seen earlier in the same import.
    duplicate_of: str | None = None
    ordinal: int = 1

    @property
    def status(self) -> str:
        """Return accepted or quarantined from the row's problems."""
        return QUARANTINED if any(p.fatal for p in self.problems) else ACCEPTED

    def issues_json(self) -> str | None:
        """Serialize the problems for the source record's `issues` column."""
        if not self.problems:
            return None
        return json.dumps(
            [{"column": p.column, "message": p.message, "fatal": p.fatal} for p in self.problems],
            ensure_ascii=False,
        )


def _text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def _email(raw: Any) -> str:
    return str(raw).strip().lower()


def _typed(parse: Callable[[str], Any], passthrough: tuple[type, ...]) -> Callable[[Any], Any]:
    def convert(raw: Any) -> Any:
        if isinstance(raw, passthrough) and not isinstance(raw, bool):
            return raw
        return parse(str(raw))

    return convert


def _datetime_converter(dayfirst: bool | None) -> Callable[[Any], Any]:
    def convert(raw: Any) -> Any:
        if isinstance(raw, datetime):
            return raw
        if isinstance(raw, date):
            return datetime(raw.year, raw.month, raw.day)
        return parse_datetime(str(raw), dayfirst=dayfirst)

    return convert


def _date_converter(dayfirst: bool | None) -> Callable[[Any], Any]:
    def convert(raw: Any) -> Any:
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        return parse_date(str(raw), dayfirst=dayfirst)

    return convert


def _boolean(raw: Any) -> bool:
    return raw if isinstance(raw, bool) else parse_boolean(str(raw))


def converter(ftype: FieldType | str, *, dayfirst: bool | None = None) -> Callable[[Any], Any]:
    """Return the function that turns a raw cell into a typed value for a field type."""
    match ftype:
        case FieldType.EMAIL:
            return _email
        case FieldType.DATE | "date":
            return _date_converter(dayfirst)
        case FieldType.DATETIME:
            return _datetime_converter(dayfirst)
        case FieldType.AMOUNT | "number":
            return _typed(parse_amount, (int, float))
        case FieldType.INTEGER | "integer":
            return _typed(parse_integer, (int,))
        case FieldType.BOOLEAN | "boolean":
            return _boolean
        case _:
            return _text


@dataclass
class RowPreparer:
    """Prepares the rows of one file, given its header and column mapping.

    Args:
        kind: what the rows describe.
        file: the file name used in messages and lineage.
        header: the reader's header.
        fields: canonical field -> column index.
        custom: column index -> custom field name for columns no canonical field takes.
        custom_types: custom field name -> text | integer | number | boolean | date.
        has_id_column: the file names its records; a row without an id is then quarantined.
        sample: a few rows, used to decide day-first dates per column.
    """

    kind: Kind
    file: str
    header: list[str]
    fields: Mapping[str, int]
    custom: Mapping[int, str]
    custom_types: Mapping[str, str]
    has_id_column: bool
    sample: list[list[Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        types = field_types(self.kind)
        key_fields = _KEY_FIELDS.get(self.kind, frozenset())
        self._specs: list[tuple[str, int, str, Callable[[Any], Any], bool]] = []
        for name, index in self.fields.items():
            ftype = types[name]
            self._specs.append(
                (
                    name,
                    index,
                    self.header[index],
                    converter(ftype, dayfirst=self._dayfirst(index)),
                    name in key_fields,
                )
            )
        self._custom_specs = [
            (
                name,
                index,
                self.header[index],
                converter(self.custom_types.get(name, "text"), dayfirst=self._dayfirst(index)),
            )
            for index, name in self.custom.items()
        ]
        self.has_lines = self.kind is Kind.ORDERS and bool(_LINE_FIELDS & set(self.fields))
        self._width = len(self.header)

    def _dayfirst(self, index: int) -> bool | None:
        values = [str(r[index]) for r in self.sample if index < len(r) and r[index]]
        return looks_dayfirst(values)

    def prepare(self, row: RawRow) -> Prepared:
        """Prepare one row; never raises for bad content (problems are recorded instead)."""
        header, values = self.header, row.values
        record: dict[str, Any] = dict(zip(header, values, strict=False))
        if row.extra:
            record.update(row.extra)
        payload = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
        digest = hashlib.blake2b(payload.encode(), digest_size=16).digest()
        problems = list(row.problems)
        typed: dict[str, Any] = {}
        for name, index, column, convert, is_key in self._specs:
            raw = values[index] if index < self._width else None
            if raw is None or raw == "" or (isinstance(raw, str) and not raw.strip()):
                continue
            try:
                typed[name] = convert(raw)
            except ParseError as exc:
                problems.append(Problem(f"{exc}", column=column, fatal=is_key))
        custom: dict[str, Any] | None = None
        for name, index, column, convert in self._custom_specs:
            raw = values[index] if index < self._width else None
            if raw is None or raw == "" or (isinstance(raw, str) and not raw.strip()):
                continue
            try:
                value = convert(raw)
            except ParseError as exc:
                problems.append(Problem(f"{exc} (custom field {name})", column=column, fatal=False))
                continue
            if custom is None:
                custom = {}
            custom[name] = value.isoformat() if isinstance(value, date) else value
        external_id = typed.get("record_id")
        self._check_required(typed, problems, has_id=external_id is not None)
        if any(p.fatal for p in problems):
            key = "q:" + digest.hex()  # quarantined rows are keyed by content: re-reads match
        elif external_id is not None:
            key = str(external_id)
        else:
            key = "h:" + digest.hex()  # no id in the source: a stable id derived from content
        return Prepared(
            number=row.number,
            file=self.file,
            payload=payload,
            content_hash=digest,
            key=key,
            external_id=str(external_id) if external_id is not None else None,
            problems=problems,
            values=typed,
            custom=custom,
        )

    def _check_required(
        self, typed: dict[str, Any], problems: list[Problem], *, has_id: bool
    ) -> None:
        """Add the fatal problems that make a row unusable for its kind."""
        if self.has_id_column and not has_id:
            column = self.header[self.fields["record_id"]]
            problems.append(Problem("missing id", column=column))
        if self.kind is Kind.CONTACTS:
            if not any(name in typed for name in _CONTACT_IDENTIFIERS):
                problems.append(
                    Problem("nothing identifies this contact (no name, email or phone)")
                )
        elif self.kind is Kind.COMPANIES:
            if "name" not in typed and "domain" not in typed:
                problems.append(Problem("a company needs a name or a domain"))
        elif self.kind in CUSTOMER_KINDS:
            if "customer_id" not in typed and "customer_email" not in typed:
                problems.append(
                    Problem("no customer: the row has neither a customer id nor an email")
                )
            if self.kind is Kind.CONSENTS and "purpose" not in typed:
                problems.append(Problem("a consent needs a purpose"))
