"""Turn a chunk of raw rows into records ready to store: verbatim payload, content hash,
record key, typed canonical values, custom values, and the problems that decide accept or
quarantine.

This is the hot path of the import, so it works on whole chunks as columns (Polars) rather
than row by row: text is trimmed and emails lower-cased in vectorized passes, ISO timestamps
parse vectorized, and every other typed value is parsed once per distinct value with the
same Python parser (`convert.py`), so both paths agree exactly. No database here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl
import pyarrow as pa

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
    Kind.SUBSCRIPTIONS: frozenset({"started_at", "cancelled_at", "ended_at", "monthly_amount"}),
    Kind.DEALS: frozenset({"amount", "closed_at", "won", "closed"}),
    Kind.CAMPAIGN_MEMBERS: frozenset(
        {"responded", "responded_at", "converted", "converted_at", "control", "revenue"}
    ),
}
_CONTACT_IDENTIFIERS = (
    "email",
    "email2",
    "phone",
    "mobile",
    "work_phone",
    "other_phone",
    "first_name",
    "last_name",
    "full_name",
)
_LINE_FIELDS = frozenset({"line_sku", "line_name", "line_quantity", "line_price"})
# Filled on an order's first line only in line-item exports.
_ORDER_LEVEL = ("record_id", "customer_id", "customer_email", "order_date", "currency", "status")
_POLARS_TYPES: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "datetime": pl.Datetime("us", "UTC"),
    "amount": pl.Float64(),
    "number": pl.Float64(),
    "integer": pl.Int64(),
    "boolean": pl.Boolean(),
}


@dataclass
class SealedColumns:
    """A chunk's personal data sealed before it reaches the writer.

    Encryption and blind indexes cost microseconds per value; done in the single writer they
    were a third of its time. The import seals as much as it can in the process that prepares
    the chunks, when it has time to spare while the writer stores the chunk before; the
    writer seals the rest, then stores it all as it is (`Bulk.ingest(..., sealed=True)`).
    """

    payload: pa.Array | None = None  # the payload's token, one per row of the chunk
    view: pa.Table | None = None  # the standardized view of every row, sealed and indexed
    points: pa.Table | None = None  # the contact points of every row ("row": its index)
    # Each row's subject: its key in the vault seals all of the row's parts (None: no vault).
    subjects: list[str | None] | None = None
    # Their keys, while the writer may still seal a part (`KeyVault.export`); then dropped.
    subject_keys: bytes | None = None


@dataclass
class PreparedChunk:
    """A chunk of rows made ready for the store, as parallel columns.

    `values` holds the typed canonical fields (one column per mapped field) and `custom`
    the custom fields serialized as a JSON object per row (None when the row has none).
    `keys` and `problems` are adjusted in place by `SeenKeys` (duplicates, line items).
    """

    file: str
    numbers: list[int]
    payloads: Sequence[str]
    hashes: list[bytes]
    keys: list[str]
    external_ids: list[str | None]
    problems: list[list[Problem]]
    values: pl.DataFrame
    custom: Sequence[str | None]
    ordinals: list[int] = field(default_factory=list)
    sealed: SealedColumns | None = None
    _dicts: list[dict[str, Any]] | None = field(default=None, repr=False)
    _fatal: list[bool] | None = field(default=None, repr=False)
    _issues: pa.Array | None = field(default=None, repr=False)
    _fixed: pa.Table | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.numbers)

    def is_fatal(self, i: int) -> bool:
        """Tell whether row i is quarantined."""
        if self._fatal is None:
            self._fatal = [bool(found) and any(p.fatal for p in found) for found in self.problems]
        return self._fatal[i]

    def forget_status(self) -> None:
        """Drop the cached statuses after problems were added (duplicate ids)."""
        self._fatal = None
        self._issues = None

    def add_problems(self, found: Mapping[int, Sequence[Problem]]) -> None:
        """Add problems found after preparing (the clean stage's rules).

        A row they make fatal is keyed by its content, as `prepare` keys every quarantined row.
        """
        for i, problems in found.items():
            self.problems[i].extend(problems)
            if any(p.fatal for p in problems) and not self.keys[i].startswith("q:"):
                self.keys[i] = "q:" + self.hashes[i].hex()
        self.forget_status()

    def status(self, i: int) -> str:
        """Return accepted or quarantined for row i."""
        return QUARANTINED if self.is_fatal(i) else ACCEPTED

    def issues(self) -> pa.Array:
        """Return each row's problems as a JSON array (null when it has none)."""
        if self._issues is None:
            self._issues = _issues_column(self.problems)
        return self._issues

    def issues_json(self, i: int) -> str | None:
        """Return row i's problems for the source record's `issues` column."""
        found: str | None = self.issues()[i].as_py()
        return found

    def fixed_columns(self) -> pa.Table:
        """The columns that stay as prepared: number, payload, hash, external_id, custom."""
        if self._fixed is None:
            self._fixed = pa.table(
                {
                    "number": pa.array(self.numbers, pa.int64()),
                    "payload": (
                        self.payloads.arrow()
                        if isinstance(self.payloads, _ArrowList)
                        else pa.array(self.payloads, pa.string())
                    ),
                    "hash": pa.array(self.hashes, pa.binary()),
                    "external_id": pa.array(self.external_ids, pa.string()),
                    "custom": pa.array(self.custom, pa.string()),
                }
            )
        return self._fixed

    def record_columns(self) -> pa.Table:
        """Return the per-row columns the writer stores: number, payload, hash, external_id,
        custom, and the key, status and issues as they stand now."""
        n = len(self)
        fixed = self.fixed_columns()
        return (
            fixed.append_column("key", pa.array(self.keys, pa.string()))
            .append_column("fatal", pa.array([self.is_fatal(i) for i in range(n)], pa.bool_()))
            .append_column("issues", self.issues())
        )

    def __getstate__(self) -> dict[str, Any]:
        """Travel to the writer process as Arrow tables.

        Pickling ten thousand payload strings, a data frame and the problem objects costs
        microseconds per row on each side; Arrow columns go out as a few raw buffers
        (pickle protocol 5). Problems travel flat, one entry per problem.
        """
        flat = [(i, p) for i, found in enumerate(self.problems) for p in found]
        problems = pa.table(
            {
                "row": pa.array([i for i, _ in flat], pa.int64()),
                "column": pa.array([p.column for _, p in flat], pa.string()),
                "message": pa.array([p.message for _, p in flat], pa.string()),
                "fatal": pa.array([p.fatal for _, p in flat], pa.bool_()),
            }
        )
        return {
            "file": self.file,
            "fixed": self.fixed_columns(),
            "keys": pa.array(self.keys, pa.string()),
            "ordinals": pa.array(self.ordinals or [1] * len(self), pa.int64()),
            "problems": problems,
            "values": self.values.to_arrow(),
            "sealed": self.sealed,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        fixed: pa.Table = state["fixed"]
        self.file = state["file"]
        self._fixed = fixed
        self.numbers = fixed.column("number").to_pylist()
        self.hashes = fixed.column("hash").to_pylist()
        self.external_ids = fixed.column("external_id").to_pylist()
        self.payloads = _ArrowList(fixed.column("payload"))
        self.custom = _ArrowList(fixed.column("custom"))
        self.keys = state["keys"].to_pylist()
        self.ordinals = state["ordinals"].to_pylist()
        self.values = pl.DataFrame(pl.from_arrow(state["values"]))
        self.sealed = state["sealed"]
        self.problems = [[] for _ in self.numbers]
        flat = state["problems"].to_pydict()
        for i, col, message, fatal in zip(
            flat["row"], flat["column"], flat["message"], flat["fatal"], strict=True
        ):
            self.problems[i].append(Problem(message, column=col, fatal=fatal))
        self._fatal = self._issues = self._dicts = None

    def row_values(self, i: int) -> dict[str, Any]:
        """Return row i's non-empty canonical values (for the few per-row code paths)."""
        if self._dicts is None:
            self._dicts = [
                {k: v for k, v in row.items() if v is not None} for row in self.values.to_dicts()
            ]
        return self._dicts[i]


class _ArrowList(Sequence[Any]):
    """A received Arrow column, turned into Python objects only if some code reads items."""

    def __init__(self, column: pa.ChunkedArray | pa.Array) -> None:
        self._column = column
        self._items: list[Any] | None = None

    def arrow(self) -> pa.Array | pa.ChunkedArray:
        """Return the Arrow column itself."""
        return self._column

    def __len__(self) -> int:
        return len(self._column)

    def __getitem__(self, i: Any) -> Any:
        if self._items is None:
            self._items = self._column.to_pylist()
        return self._items[i]


def _issues_column(problems: list[list[Problem]]) -> pa.Array:
    """Serialize each row's problems as a JSON array of {column, message, fatal}, vectorized."""
    rows = [i for i, found in enumerate(problems) for _ in found]
    if not rows:
        return pa.nulls(len(problems), pa.string())
    flat = pl.DataFrame(
        {
            "row": rows,
            "column": [p.column for found in problems for p in found],
            "message": [p.message for found in problems for p in found],
            "fatal": [p.fatal for found in problems for p in found],
        },
        schema={"row": pl.Int64, "column": pl.Utf8, "message": pl.Utf8, "fatal": pl.Boolean},
    )
    encoded = flat.group_by("row", maintain_order=True).agg(
        (
            "[" + pl.struct("column", "message", "fatal").struct.json_encode().str.join(",") + "]"
        ).alias("issues")
    )
    every = pl.DataFrame({"row": pl.int_range(len(problems), eager=True, dtype=pl.Int64)})
    joined = every.join(encoded, on="row", how="left", maintain_order="left")
    return joined.get_column("issues").to_arrow().cast(pa.string())


def _text(raw: Any) -> str:
    """Render a non-text cell (Excel, JSON, Parquet) the way a person would type it."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, datetime | date):
        return raw.isoformat()
    if isinstance(raw, dict | list):
        return json.dumps(raw, ensure_ascii=False)
    return str(raw)


def _python_parser(kind: str, dayfirst: bool | None) -> Callable[[str], Any]:
    match kind:
        case "date":
            return lambda s: parse_date(s, dayfirst=dayfirst)
        case "datetime":
            return lambda s: parse_datetime(s, dayfirst=dayfirst)
        case "amount" | "number":
            return parse_amount
        case "integer":
            return parse_integer
        case _:
            return parse_boolean


def _type_key(ftype: FieldType | str) -> str:
    """Map a canonical field type or custom type to how it is parsed."""
    match ftype:
        case FieldType.DATE | "date":
            return "date"
        case FieldType.DATETIME:
            return "datetime"
        case FieldType.AMOUNT | "number":
            return "number"
        case FieldType.INTEGER | "integer":
            return "integer"
        case FieldType.BOOLEAN | "boolean":
            return "boolean"
        case FieldType.EMAIL:
            return "email"
        case _:
            return "text"


# Suffix of the boolean column marking dates whose day and month could swap (the clean stage
# flags them; a test of the import pins both ends of this convention).
AMBIGUOUS = "__ambiguous"


def _ambiguous_dates(s: pl.Series) -> pl.Series:
    """Mark numeric dates like 03/04/2020 whose first two numbers are both possible months.

    The day order is settled per column (from its unambiguous dates), never per cell; these
    are the cells that order decided, flagged so people can check them.
    """
    parts = s.str.extract_groups(r"^\s*([0-9]{1,2})[/.\-]([0-9]{1,2})[/.\-][0-9]{2,4}")
    first = parts.struct.field("1").cast(pl.Int32, strict=False)
    second = parts.struct.field("2").cast(pl.Int32, strict=False)
    both = (first <= 12) & (second <= 12) & (first != second)
    return both.fill_null(False)


# The numeric dates `convert._from_numeric_date` reads, with ASCII digits and a space before
# the time only (anything else is left to it): d/m/y or m/d/y, y/m/d, dotted, 12-hour clock.
_NUMERIC_DATETIME = (
    r"^([0-9]{1,4})[./\-]([0-9]{1,2})[./\-]([0-9]{1,4})"
    r"(?: +([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?(?: *([aApP])\.?[mM]\.?)?)?$"
)
# Amounts of ASCII text and the common currency signs; other characters go to the parser.
_AMOUNT_TEXT = r"^[\x20-\x7E€£¥₹]+$"
_EXCEL_EPOCH = date(1899, 12, 30)


def _fast(s: pl.Series, kind: str, dayfirst: bool | None) -> pl.Series:
    """Parse the common forms vectorized; everything else stays null.

    Only forms the Python parser reads the same way qualify (a test holds both to the same
    answers): amounts with currency signs and either separator convention, ISO dates and
    timestamps, numeric dates in every order `parse_datetime` reads, Excel serials and
    Unix epochs. What this leaves null is settled by the Python parser, once per value.
    """
    if kind in ("number", "integer"):
        amounts = _fast_amounts(s)
        if kind == "number":
            return amounts
        whole = amounts.is_not_null() & (amounts == amounts.floor()) & (amounts.abs() < 2**62)
        return amounts.zip_with(whole, pl.Series([None] * len(s), dtype=pl.Float64)).cast(
            pl.Int64, strict=False
        )
    if kind not in ("date", "datetime"):
        return pl.Series(s.name, [None] * len(s), dtype=_POLARS_TYPES[kind])
    out = _fast_datetimes(s, dayfirst)
    if kind == "date":
        return out.dt.date()
    return out


def _fast_datetimes(s: pl.Series, dayfirst: bool | None) -> pl.Series:
    """Parse each form on the cells that look like it, leaving the rest null."""
    out = pl.Series(s.name, [None] * len(s), dtype=pl.Datetime("us", "UTC"))
    steps: list[tuple[str, Callable[[pl.Series], pl.Series]]] = [
        # Polars reads %Y from fewer than four digits ("12-11-16" as the year 12): ISO only.
        (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}", _fast_iso),
        (_NUMERIC_DATETIME, lambda sub: _fast_numeric_dates(sub, dayfirst)),
        (r"^[0-9]{1,18}$", _fast_serials),
    ]
    for pattern, parse in steps:
        todo = (s.str.contains(pattern) & out.is_null()).fill_null(False)
        if not todo.any():
            continue
        parsed = parse(s.filter(todo))
        hit = parsed.is_not_null()
        if hit.any():
            out = out.scatter(todo.arg_true().filter(hit), parsed.filter(hit))
    return out


def _fast_iso(s: pl.Series) -> pl.Series:
    """Read ISO dates and the common ISO timestamps (UTC unless they carry an offset)."""
    out = s.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us"))
    out = out.dt.replace_time_zone("UTC")
    todo = out.is_null()
    if todo.any():
        t = s.filter(todo).str.replace(r"Z$", "+00:00")
        timed = t.str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", strict=False, time_zone="UTC")
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
            timed = timed.fill_null(t.str.to_datetime(fmt, strict=False, time_zone="UTC"))
        out = out.scatter(todo.arg_true(), timed)
    return out


def _fast_numeric_dates(s: pl.Series, dayfirst: bool | None) -> pl.Series:
    """Read numeric dates and times exactly as `convert._from_numeric_date` does."""
    parts = s.str.extract_groups(_NUMERIC_DATETIME).struct.unnest()
    parts = parts.with_columns(
        s.alias("text"),
        *(pl.col(name).cast(pl.Int32, strict=False).alias(f"n{name}") for name in "123456"),
        pl.col("1").str.len_chars().alias("a_len"),
        pl.col("3").str.len_chars().alias("c_len"),
    )
    a, b, c = pl.col("n1"), pl.col("n2"), pl.col("n3")
    a_len, c_len = pl.col("a_len"), pl.col("c_len")
    twelve = pl.col("7").is_not_null()
    # Python rebuilds a 12-hour value with slashes before it looks for a dot.
    day_first = (pl.col("text").str.contains(".", literal=True) & ~twelve) | (a > 12)
    year = (
        pl.when(a_len == 4)
        .then(pl.when(c_len <= 2).then(a))
        .when(c_len == 2)
        .then(c + pl.when(c < 50).then(2000).otherwise(1900))
        .when(c_len == 4)
        .then(c)
    )
    ordered = (
        pl.when(a_len == 4)
        .then(pl.struct(month=b, day=c))
        .when(day_first)
        .then(pl.struct(month=b, day=a))
        .when(b > 12)
        .then(pl.struct(month=a, day=b))
        .when(pl.lit(bool(dayfirst)))
        .then(pl.struct(month=b, day=a))
        .otherwise(pl.struct(month=a, day=b))
    )
    hour = pl.col("n4").fill_null(0)
    afternoon = pl.col("7").is_in(["p", "P"])
    hour = (
        pl.when(twelve).then(hour % 12 + pl.when(afternoon).then(12).otherwise(0)).otherwise(hour)
    )
    minute = pl.col("n5").fill_null(0)
    second = pl.col("n6").fill_null(0)
    parts = parts.with_columns(
        year.alias("year"),
        ordered.struct.field("month").alias("month"),
        ordered.struct.field("day").alias("day"),
        hour.alias("hour"),
        minute.alias("minute"),
        second.alias("second"),
    )
    y, m, d = pl.col("year"), pl.col("month"), pl.col("day")
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days = (
        pl.when(m == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(m.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )
    valid = (
        y.is_between(1, 9999)
        & m.is_between(1, 12)
        & d.is_between(1, days)
        & (pl.col("hour") <= 23)
        & (pl.col("minute") <= 59)
        & (pl.col("second") <= 59)
    ).fill_null(False)
    # pl.datetime raises on a day that does not exist: those get a stand-in, then null.
    safe_year, safe_month, safe_day = (
        pl.when(valid).then(pl.col(c)).otherwise(1) for c in ("year", "month", "day")
    )
    stamp = pl.datetime(
        safe_year, safe_month, safe_day, "hour", "minute", "second", time_zone="UTC"
    )
    return parts.select(pl.when(valid).then(stamp).alias(s.name)).to_series()


def _fast_serials(s: pl.Series) -> pl.Series:
    """Read all-digit dates as `convert._from_number` does: Excel serials, epochs, yyyymmdd."""
    n = s.str.contains(r"^[0-9]{1,18}$").fill_null(False)
    value = s.zip_with(n, pl.Series([None] * len(s), dtype=pl.Utf8)).cast(pl.Int64)
    frame = pl.DataFrame({"n": value})
    col = pl.col("n")
    utc = pl.Datetime("us", "UTC")
    excel = (pl.lit(_EXCEL_EPOCH) + pl.duration(days=col)).cast(pl.Datetime("us"))
    out = frame.select(
        pl.when(col.is_between(20_000, 80_000))
        .then(excel.dt.replace_time_zone("UTC"))
        .when((col >= 10**8) & (col < 10**11))
        .then(pl.from_epoch(col, "s").dt.replace_time_zone("UTC"))
        # Python divides by 1000 in floating point, which drifts by a microsecond after
        # the year 2100: later ones are left to it.
        .when((col >= 10**11) & (col < 4 * 10**12))
        .then(pl.from_epoch(col, "ms").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        .when((col >= 10**7) & (col < 10**8))
        .then(
            col.cast(pl.Utf8)
            .str.to_datetime("%Y%m%d", strict=False)
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC")
        )
        .cast(utc)
        .alias("n")
    )
    return out.to_series()


def _fast_amounts(s: pl.Series) -> pl.Series:
    """Read amounts exactly as `convert.parse_amount` does, for ASCII text and currency signs."""
    text = pl.col("s")
    frame = pl.DataFrame({"s": s}).with_columns(
        text.str.replace_all(r"[^0-9,.\-()]", "").str.strip_chars("()-").alias("digits"),
        (
            (text.str.starts_with("(") & text.str.ends_with(")"))
            | text.str.ends_with("-")
            | text.str.starts_with("-")
        ).alias("negative"),
    )
    digits = pl.col("digits")
    frame = frame.with_columns(
        digits.str.count_matches(".", literal=True).alias("dots"),
        digits.str.count_matches(",", literal=True).alias("commas"),
        (digits.str.extract(r"([.,])[^.,]*$", 1) == ",").alias("last_is_comma"),
        digits.str.extract(r",([^,]*)$", 1).str.len_chars().alias("tail"),
    )
    dots, commas = pl.col("dots"), pl.col("commas")
    normalized = (
        pl.when((dots > 0) & (commas > 0))
        .then(
            pl.when(pl.col("last_is_comma"))
            .then(
                digits.str.replace_all(".", "", literal=True).str.replace_all(
                    ",", ".", literal=True
                )
            )
            .otherwise(digits.str.replace_all(",", "", literal=True))
        )
        .when(commas > 1)
        .then(digits.str.replace_all(",", "", literal=True))
        .when(commas == 1)
        .then(
            pl.when(pl.col("tail") == 3)
            .then(digits.str.replace(",", "", literal=True))
            .otherwise(digits.str.replace(",", ".", literal=True))
        )
        .when(dots > 1)
        .then(digits.str.replace_all(".", "", literal=True))
        .otherwise(digits)
    )
    readable = text.str.contains(_AMOUNT_TEXT) & digits.str.contains("[0-9]")
    value = normalized.cast(pl.Float64, strict=False)
    return frame.select(
        pl.when(readable).then(pl.when("negative").then(-value).otherwise(value)).alias(s.name)
    ).to_series()


def parse_column(
    s: pl.Series, kind: str, *, dayfirst: bool | None
) -> tuple[pl.Series, dict[str, str]]:
    """Parse a trimmed text column to `kind`; return the typed column and value -> error.

    ISO dates and timestamps parse vectorized; every other distinct value is parsed once by
    the Python parser, so a column of a million rows with a thousand distinct dates costs a
    thousand parses.
    """
    dtype = _POLARS_TYPES[kind]
    parsed = _fast(s, kind, dayfirst).cast(dtype)
    todo = s.filter(parsed.is_null() & s.is_not_null()).unique()
    errors: dict[str, str] = {}
    if len(todo):
        parse = _python_parser(kind, dayfirst)
        mapping: dict[str, Any] = {}
        for value in todo.to_list():
            try:
                mapping[value] = parse(value)
            except ParseError as exc:
                errors[value] = str(exc)
        if mapping:
            slow = s.replace_strict(
                list(mapping), list(mapping.values()), default=None, return_dtype=dtype
            )
            parsed = parsed.fill_null(slow)
    return parsed.alias(s.name), errors


@dataclass
class ChunkPreparer:
    """Prepares the chunks of one file, given its header and column mapping.

    Args:
        kind: what the rows describe.
        file: the file name used in messages and lineage.
        header: the reader's header.
        fields: canonical field -> column index.
        custom: column index -> custom field name for columns no canonical field takes.
        custom_types: custom field name -> text | integer | number | boolean | date.
        has_id_column: the file names its records; a row without an id is then quarantined.
        sample: a few rows, used to decide day-first dates per column.
        text_only: every value is a string or None (CSV), which allows the vectorized payload.
    """

    kind: Kind
    file: str
    header: list[str]
    fields: Mapping[str, int]
    custom: Mapping[int, str]
    custom_types: Mapping[str, str]
    has_id_column: bool
    sample: list[list[Any]] = field(default_factory=list)
    text_only: bool = False

    def __post_init__(self) -> None:
        types = field_types(self.kind)
        self._key_fields = _KEY_FIELDS.get(self.kind, frozenset())
        # (output name, column index, header, parse kind, fatal on failure)
        self._specs: list[tuple[str, int, str, str, bool]] = [
            (name, i, self.header[i], _type_key(types[name]), name in self._key_fields)
            for name, i in self.fields.items()
        ]
        self._custom_specs = [
            (name, i, self.header[i], _type_key(self.custom_types.get(name, "text")))
            for i, name in self.custom.items()
        ]
        self._dayfirst = {i: self._column_dayfirst(i) for i in range(len(self.header))}
        self.has_lines = self.kind is Kind.ORDERS and bool(_LINE_FIELDS & set(self.fields))
        self._schema = dict.fromkeys(self.header, pl.Utf8)
        self._carry: dict[str, Any] = {}
        # Header -> how many dates so far read one way that could be read the other way.
        self.ambiguous: dict[str, int] = {}

    def day_order(self, header: str) -> str:
        """Say how numeric dates of a column are read: "day-first" or "month-first"."""
        index = self.header.index(header)
        return "day-first" if self._dayfirst.get(index) else "month-first"

    def _column_dayfirst(self, index: int) -> bool | None:
        values = [str(r[index]) for r in self.sample if index < len(r) and r[index]]
        return looks_dayfirst(values)

    def _frame(self, rows: Sequence[RawRow]) -> pl.DataFrame:
        """Build the chunk's raw text columns, one per header, as read."""
        if self.text_only:
            values = [r.values for r in rows]
        else:
            values = [[None if v is None else _text(v) for v in r.values] for r in rows]
        if not values:
            return pl.DataFrame(schema=self._schema)
        # Column by column: twice as fast as Polars' row-oriented constructor.
        columns = zip(*values, strict=True)
        return pl.DataFrame(
            [
                pl.Series(name, column, dtype=pl.Utf8)
                for name, column in zip(self.header, columns, strict=True)
            ]
        )

    def _payloads(self, rows: Sequence[RawRow], frame: pl.DataFrame) -> pa.Array:
        """Serialize each row verbatim as a JSON object of header -> value.

        Text files encode vectorized (Polars writes the same JSON as `json.dumps`) and stay
        an Arrow column, never a million Python strings; rows with extra fields, and files
        whose values are not all text, go through `json.dumps`.
        """
        if self.text_only:
            encoded = frame.select(pl.struct(pl.all()).struct.json_encode()).to_series()
            slow = [i for i, r in enumerate(rows) if r.extra]
        else:
            encoded = pl.Series([""] * len(rows), dtype=pl.Utf8)
            slow = list(range(len(rows)))
        if slow:
            fixed = []
            for i in slow:
                r = rows[i]
                record: dict[str, Any] = dict(zip(self.header, r.values, strict=False))
                if r.extra:
                    record.update(r.extra)
                fixed.append(
                    json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
                )
            encoded = encoded.scatter(slow, fixed)
        return encoded.to_arrow().cast(pa.string())

    def _column(self, frame: pl.DataFrame, index: int) -> pl.Series:
        """Return one raw column trimmed, with empty cells as null."""
        return frame.get_column(self.header[index]).str.strip_chars().replace("", None)

    def prepare(self, rows: Sequence[RawRow]) -> PreparedChunk:
        """Prepare one chunk; never raises for bad content (problems are recorded instead)."""
        n = len(rows)
        raw = self._frame(rows)
        payloads = self._payloads(rows, raw)
        hashes = [
            hashlib.blake2b(p, digest_size=16).digest()
            for p in payloads.cast(pa.binary()).to_pylist()
        ]
        problems: list[list[Problem]] = [list(r.problems) for r in rows]
        columns: list[pl.Series] = []
        for name, index, header, kind, fatal in self._specs:
            s = self._column(raw, index)
            columns.append(self._typed(s, name, kind, index, header, fatal, problems))
            if kind in ("date", "datetime"):
                ambiguous = _ambiguous_dates(s)
                self.ambiguous[header] = self.ambiguous.get(header, 0) + int(ambiguous.sum())
                columns.append(ambiguous.alias(name + AMBIGUOUS))
        values = pl.DataFrame(columns) if columns else pl.DataFrame({"_": [None] * n})
        if self.has_lines:
            values = self._continue_lines(values)
        custom = self._custom_json(raw, problems)
        external = (
            values.get_column("record_id").to_list()
            if "record_id" in values.columns
            else [None] * n
        )
        self._check_required(values, problems, external, custom)
        keys: list[str] = []
        for i, ext in enumerate(external):
            if any(p.fatal for p in problems[i]):
                keys.append("q:" + hashes[i].hex())  # quarantined rows: keyed by content
            elif ext is not None:
                keys.append(ext)
            else:
                keys.append("h:" + hashes[i].hex())  # no id in the source: derived from content
        return PreparedChunk(
            file=self.file,
            numbers=[r.number for r in rows],
            payloads=_ArrowList(payloads),
            hashes=hashes,
            keys=keys,
            external_ids=external,
            problems=problems,
            values=values,
            custom=custom,
            ordinals=[1] * n,
        )

    def _continue_lines(self, values: pl.DataFrame) -> pl.DataFrame:
        """Carry order-level fields down to the line items that leave them empty.

        Line-item exports (Shopify and the like) fill the order number, customer and date
        on an order's first line only; the lines below it belong to the same order. The
        last values seen are kept across chunks.
        """
        present = [c for c in _ORDER_LEVEL if c in values.columns]
        filled = []
        for name in present:
            column = values.get_column(name)
            if name in self._carry:
                seed = pl.Series(name, [self._carry[name]], dtype=column.dtype)
                column = pl.concat([seed, column]).fill_null(strategy="forward").slice(1)
            else:
                column = column.fill_null(strategy="forward")
            last = column.drop_nulls()
            if len(last):
                self._carry[name] = last[-1]
            filled.append(column)
        return values.with_columns(filled) if filled else values

    def _typed(
        self,
        s: pl.Series,
        name: str,
        kind: str,
        index: int,
        header: str,
        fatal: bool,
        problems: list[list[Problem]],
        suffix: str = "",
    ) -> pl.Series:
        """Convert one raw column to its type, recording a problem per unparseable cell."""
        if kind == "text":
            return s.alias(name)
        if kind == "email":
            return s.str.to_lowercase().alias(name)
        parsed, errors = parse_column(s, kind, dayfirst=self._dayfirst.get(index))
        if errors:
            bad = s.is_in(list(errors)).fill_null(False)
            for i, value in zip(bad.arg_true().to_list(), s.filter(bad).to_list(), strict=True):
                problems[i].append(Problem(errors[value] + suffix, column=header, fatal=fatal))
        return parsed.alias(name)

    def _custom_json(self, raw: pl.DataFrame, problems: list[list[Problem]]) -> list[str | None]:
        """Type the custom columns and pack them into one JSON object per row."""
        if not self._custom_specs:
            return [None] * raw.height
        typed = []
        for name, index, header, kind in self._custom_specs:
            s = self._column(raw, index)
            col = self._typed(
                s, name, kind, index, header, False, problems, f" (custom field {name})"
            )
            if kind == "date":
                col = col.dt.strftime("%Y-%m-%d")
            typed.append(col)
        frame = pl.DataFrame(typed)
        empty = frame.select(pl.all_horizontal(pl.all().is_null())).to_series()
        encoded = frame.select(pl.struct(pl.all()).struct.json_encode()).to_series()
        return encoded.zip_with(~empty, pl.Series([None] * raw.height, dtype=pl.Utf8)).to_list()

    def _check_required(
        self,
        values: pl.DataFrame,
        problems: list[list[Problem]],
        external: list[Any],
        custom: Sequence[str | None],
    ) -> None:
        """Add the fatal problems that make a row unusable for its kind.

        A contact without name, email or phone is still a customer when the source gives it
        an id and tells something about it (a subscriber table of ids and plan attributes):
        its orders and tickets find it by that id, though no other source can match it.
        """
        present = set(values.columns)

        def none_of(names: Sequence[str]) -> list[bool]:
            cols = [pl.col(c).is_null() for c in names if c in present]
            if not cols:
                return [True] * values.height
            return values.select(pl.all_horizontal(cols)).to_series().to_list()

        checks: list[tuple[list[bool], str]] = []
        if self.kind is Kind.CONTACTS:
            anonymous = none_of(_CONTACT_IDENTIFIERS)
            if self.has_id_column:
                others = [
                    c for c in values.columns if c != "record_id" and not c.endswith(AMBIGUOUS)
                ]
                said = none_of(others)
                anonymous = [
                    a and (ext is None or (nothing and extra is None))
                    for a, ext, nothing, extra in zip(
                        anonymous, external, said, custom, strict=True
                    )
                ]
            checks.append((anonymous, "nothing identifies this contact (no name, email or phone)"))
        elif self.kind is Kind.COMPANIES:
            checks.append((none_of(("name", "domain")), "a company needs a name or a domain"))
        elif self.kind is Kind.DEALS:
            # An opportunity of an account names no person (Salesforce): its company will do.
            checks.append(
                (
                    none_of(("customer_id", "customer_email", "company_id", "company_name")),
                    "no customer: the deal names neither a contact (id or email) nor a company",
                )
            )
        elif self.kind in CUSTOMER_KINDS:
            checks.append(
                (
                    none_of(("customer_id", "customer_email")),
                    "no customer: the row has neither a customer id nor an email",
                )
            )
            if self.kind is Kind.CONSENTS:
                checks.append((none_of(("purpose",)), "a consent needs a purpose"))
            if self.kind is Kind.CAMPAIGN_MEMBERS:
                checks.append(
                    (none_of(("campaign",)), "a campaign member needs a campaign (its name)")
                )
        if self.kind is Kind.DEALS and "probability" in present:
            # 0-1 and 0-100 % are both read (the writer stores 0-1); anything else is neither.
            header = self.header[self.fields["probability"]]
            odd = values.select(~pl.col("probability").is_between(0, 100)).to_series()
            for i in odd.fill_null(False).arg_true().to_list():
                found = values.item(i, "probability")
                problems[i].append(
                    Problem(
                        f"probability {found:g} is neither 0-1 nor 0-100 %; not stored",
                        column=header,
                        fatal=False,
                    )
                )
        id_header = self.header[self.fields["record_id"]] if self.has_id_column else None
        for i, ext in enumerate(external):
            if id_header is not None and ext is None:
                problems[i].append(Problem("missing id", column=id_header))
            for mask, message in checks:
                if mask[i]:
                    problems[i].append(Problem(message))
