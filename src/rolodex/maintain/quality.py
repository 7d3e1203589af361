"""The data-quality scorecard: how complete, valid, unique, consistent and fresh the
standardized contact records are, per field and per source, before and after cleaning.

It reads what the clean stage stored with each standardized record: the values, the match
keys and the per-field flags. "Before" judges the values as they arrived: a value the clean
stage had to correct counts as invalid, and a value it filled in from other fields counts as
missing. "After" judges them as stored.

Emails, phones and their keys are stored encrypted: presence is judged on the tokens, and
exact duplicates on the blind indexes (keyed hashes of the normalized values), computed from
the decrypted value, in memory, for a record stored before it had one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, text

from rolodex.store.sealed import Sealer, sealer_of

# Fields the scorecard rates, in display order; "checked" fields have a validity rule.
FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "company_name",
    "street",
    "city",
    "region",
    "postcode",
    "country",
    "birth_date",
)
_UNCHECKED = frozenset({"city", "birth_date"})  # no rule judges these yet
_CHECKED = frozenset(FIELDS) - _UNCHECKED
_FRESH_DAYS = 365
_EXAMPLES = 3


@dataclass
class FieldScore:
    """One field of one source (or of all sources)."""

    field: str
    records: int
    completeness_before: float
    completeness: float
    # Share of the values present that are valid; before cleaning, that are valid and
    # already in standard form (E.164, country codes, proper case). None: no rule applies.
    validity_before: float | None
    validity: float | None
    invalid: int
    corrected: int
    suspicious: int


@dataclass
class SourceScore:
    """The scores of one source, or of all sources together (source None)."""

    source: str | None
    records: int
    fields: list[FieldScore]
    completeness_before: float
    completeness: float
    validity_before: float
    validity: float
    uniqueness_before: float
    uniqueness: float
    duplicate_emails: int
    duplicate_phones: int
    consistency: float
    freshness: float
    score_before: float
    score: float


@dataclass
class Problem:
    """One kind of problem: how often, and a few records that have it."""

    field: str
    flag: str
    note: str
    count: int
    examples: list[int] = dc_field(default_factory=list)


@dataclass
class Scorecard:
    """The whole workspace's scorecard."""

    as_of: str
    overall: SourceScore
    sources: list[SourceScore]
    problems: list[Problem]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (what `rolodex quality --json` prints)."""

        return asdict(self)


def _records(conn: Connection, source: str | None) -> pl.DataFrame:
    """Read the standardized records as text columns (the same on both databases)."""
    as_text = [f"v.{name}" for name in FIELDS] + [
        "v.flags",
        "v.email_key",
        "v.phone_key",
        "v.email_index",
        "v.email_key_index",
        "v.phone_index",
        "v.source_updated_at",
        "v.source_created_at",
        "r.created_at",
    ]
    names = [*FIELDS, "flags", "email_key", "phone_key", *_INDEXES, "source_updated_at"]
    names += ["source_created_at", "imported_at"]
    columns = ", ".join(
        f"CAST({expr} AS TEXT) AS {name}" for expr, name in zip(as_text, names, strict=True)
    )
    sql = (
        f"SELECT v.source_record_id AS record_id, s.name AS source, {columns}"
        " FROM contact_record v"
        " JOIN source_record r ON r.id = v.source_record_id JOIN source s ON s.id = v.source_id"
        " WHERE r.is_stub = :no" + (" AND s.name = :source" if source else "")
    )
    schema: dict[str, pl.DataType] = dict.fromkeys(["source", *names], pl.Utf8())
    schema["record_id"] = pl.Int64()
    frame = pl.read_database(
        text(sql).bindparams(no=False, **({"source": source} if source else {})),
        conn,
        schema_overrides=schema,
    ).cast(pl.Schema(schema))
    return _fill_indexes(frame, sealer_of(conn))


_INDEXES = ("email_index", "email_key_index", "phone_index")


def _fill_indexes(frame: pl.DataFrame, sealer: Sealer) -> pl.DataFrame:
    """Give each record the blind indexes duplicates are counted on: as stored, or, where
    a value has none yet (stored before encryption), computed from the decrypted value."""

    def email(value: str) -> str | None:
        return sealer.email_index(value)

    def email_key(value: str) -> str | None:
        return sealer.index_one("email_key", value)

    def phone(value: str) -> str | None:
        return sealer.phone_index(value)

    plan = (
        ("email_index", "email", "email", email),
        ("email_key_index", "email_key", "email", email_key),
        ("phone_index", "phone_key", "phone", phone),
    )
    updates = []
    for column, source, kind, index in plan:
        missing = frame[column].is_null() & frame[source].is_not_null()
        if not missing.any():
            continue
        at = missing.arg_true().to_list()
        opened = sealer.open(kind, frame[source].gather(at).to_list())
        filled = frame[column].to_list()
        for i, value in zip(at, opened, strict=True):
            filled[i] = index(str(value))
        updates.append(pl.Series(column, filled, pl.Utf8))
    return frame.with_columns(updates) if updates else frame


def _flag_table(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per (record, field) that has a flag: record_id, field, flag, note, tags."""
    rows: list[tuple[int, str, str, str, list[str]]] = []
    for record_id, flags in zip(frame["record_id"], frame["flags"], strict=True):
        if not flags:
            continue
        found = json.loads(flags)
        for name in found.pop("_changed", []):
            rows.append((record_id, name, "changed", "", []))
        for name, entry in found.items():
            notes = entry.get("notes") or [""]
            rows.append(
                (record_id, name, entry.get("flag", "valid"), notes[0], entry.get("tags") or [])
            )
    return pl.DataFrame(
        rows,
        schema={
            "record_id": pl.Int64,
            "field": pl.Utf8,
            "flag": pl.Utf8,
            "note": pl.Utf8,
            "tags": pl.List(pl.Utf8),
        },
        orient="row",
    )


def _duplicates(frame: pl.DataFrame, key: pl.Expr) -> int:
    """Count records whose key another record of the same source also has."""
    keyed = frame.select(pl.col("source"), key.alias("k")).drop_nulls()
    return int(keyed.select(pl.struct("source", "k").is_duplicated().sum()).item())


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 1.0


def _score_source(
    name: str | None, frame: pl.DataFrame, flags: pl.DataFrame, now: datetime
) -> SourceScore:
    n = frame.height
    field_scores: list[FieldScore] = []
    ids = frame["record_id"]
    mine = flags.filter(pl.col("record_id").is_in(ids.implode()))
    for column in FIELDS:
        present = int(frame[column].is_not_null().sum())
        # Flags about the whole name count for both of its parts.
        owners = [column, "name"] if column in ("first_name", "last_name") else [column]
        of_field = mine.filter(pl.col("field").is_in(owners))
        counts = dict(of_field.group_by("flag").len().iter_rows())
        filled_rows = of_field.filter(pl.col("tags").list.contains("filled"))
        filled = filled_rows.height
        invalid, corrected = counts.get("invalid", 0), counts.get("corrected", 0)
        suspicious = counts.get("suspicious", 0)
        checked = column in _CHECKED
        raw_present = present - filled
        # Before cleaning, a value counts only if valid and already in standard form.
        not_standard = of_field.filter(
            pl.col("flag").is_in(["invalid", "corrected", "changed"])
            & ~pl.col("record_id").is_in(filled_rows["record_id"].implode())
        )["record_id"].n_unique()
        field_scores.append(
            FieldScore(
                field=column,
                records=n,
                completeness_before=_share(raw_present, n),
                completeness=_share(present, n),
                validity_before=_share(raw_present - not_standard, raw_present)
                if checked
                else None,
                validity=_share(present - invalid, present) if checked else None,
                invalid=invalid,
                corrected=corrected,
                suspicious=suspicious,
            )
        )
    used = [f for f in field_scores if f.completeness > 0]
    checked_fields = [f for f in used if f.validity is not None]

    def mean(values: list[float]) -> float:
        return round(sum(values) / len(values), 4) if values else 1.0

    completeness_before = mean([f.completeness_before for f in used])
    completeness = mean([f.completeness for f in used])
    validity_before = mean([f.validity_before or 0.0 for f in checked_fields])
    validity = mean([f.validity or 0.0 for f in checked_fields])
    # Uniqueness within each source: the same customer in two sources is resolve's work,
    # the same email twice in one source is an exact duplicate. Before cleaning, addresses
    # are compared as typed (trimmed, lower-cased); after, by their match key. Both through
    # their blind indexes: equal values have equal indexes.
    dup_raw = _duplicates(frame, pl.col("email_index"))
    dup_emails = _duplicates(frame, pl.col("email_key_index"))
    dup_phones = _duplicates(frame, pl.col("phone_index"))
    uniqueness_before = _share(n - dup_raw, n)
    uniqueness = _share(n - dup_emails, n)
    # Consistency: no field disagrees with another (the clean stage tags "conflict", e.g. a
    # phone number of another country than the address).
    conflicts = mine.filter(pl.col("tags").list.contains("conflict"))["record_id"].n_unique()
    consistency = _share(n - conflicts, n)
    stamp = frame.select(
        pl.coalesce("source_updated_at", "source_created_at", "imported_at")
        .str.slice(0, 10)
        .str.to_date("%Y-%m-%d", strict=False)
    ).to_series()
    fresh = int((stamp >= now.date() - timedelta(days=_FRESH_DAYS)).sum())
    freshness = _share(fresh, n)
    score_before = round(
        100
        * mean([completeness_before, validity_before, uniqueness_before, consistency, freshness]),
        1,
    )
    score = round(100 * mean([completeness, validity, uniqueness, consistency, freshness]), 1)
    return SourceScore(
        source=name,
        records=n,
        fields=field_scores,
        completeness_before=completeness_before,
        completeness=completeness,
        validity_before=validity_before,
        validity=validity,
        uniqueness_before=uniqueness_before,
        uniqueness=uniqueness,
        duplicate_emails=dup_emails,
        duplicate_phones=dup_phones,
        consistency=consistency,
        freshness=freshness,
        score_before=score_before,
        score=score,
    )


def scorecard(conn: Connection, *, source: str | None = None, top: int = 10) -> Scorecard:
    """Rate the standardized contact records, overall and per source."""
    now = datetime.now(UTC)
    frame = _records(conn, source)
    flags = _flag_table(frame)
    overall = _score_source(source, frame, flags, now)
    sources = [
        _score_source(name, frame.filter(pl.col("source") == name), flags, now)
        for name in sorted(frame["source"].unique().drop_nulls().to_list())
    ]
    problems: list[Problem] = []
    bad = flags.filter(pl.col("flag").is_in(["invalid", "corrected", "suspicious"]))
    grouped = (
        bad.group_by(["field", "flag", "note"])
        .agg(pl.len().alias("count"), pl.col("record_id").head(_EXAMPLES).alias("examples"))
        .sort(["count", "field"], descending=[True, False])
        .head(top)
    )
    for row in grouped.iter_rows(named=True):
        problems.append(
            Problem(row["field"], row["flag"], row["note"], row["count"], list(row["examples"]))
        )
    return Scorecard(
        as_of=now.isoformat(timespec="seconds"), overall=overall, sources=sources, problems=problems
    )
