"""What every standardizer returns, and how a column is cleaned once per distinct value.

A standardizer is a pure function from raw text (plus context such as a country) to a
`Result`: the standardized value, one quality flag, human-readable notes saying why, machine
tags other stages act on (a role mailbox must not chain people together in matching), a
match key where the field has one, and named extra parts (a phone's extension and type).
The raw value is never lost: it stays in the source record's payload, and an invalid value
is kept (trimmed) as the value with flag `invalid`, so people can see and fix it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl
import pyarrow as pa


class Flag(StrEnum):
    """The quality of one field of one record."""

    VALID = "valid"  # as given, or only reformatted (case, spacing, E.164)
    CORRECTED = "corrected"  # changed in substance by a rule (typo domain, swapped names)
    INVALID = "invalid"  # cannot be made valid; kept as given, with the reason
    MISSING = "missing"  # empty
    SUSPICIOUS = "suspicious"  # valid in form but doubtful (disposable domain, test data)


@dataclass(frozen=True, slots=True)
class Result:
    """One standardized value with its quality."""

    value: str | None
    flag: Flag
    notes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    key: str | None = None
    parts: Mapping[str, str | None] = field(default_factory=dict)


MISSING = Result(None, Flag.MISSING)


def blank(raw: str | None) -> bool:
    """Tell whether a raw cell holds nothing (None, empty or only whitespace)."""
    return raw is None or not raw.strip()


def no_lists(n: int) -> pl.Series:
    """Return `n` empty string lists; built from a Python list of lists this costs 4 ms per
    thousand rows, a hundred times more."""
    return pl.Series([[]], dtype=pl.List(pl.Utf8)).new_from_index(0, n)


RESULT_SCHEMA: dict[str, pl.DataType] = {
    "value": pl.Utf8(),
    "flag": pl.Utf8(),
    "notes": pl.List(pl.Utf8()),
    "tags": pl.List(pl.Utf8()),
    "key": pl.Utf8(),
}


def to_frame(results: Sequence[Result], parts: Sequence[str] = ()) -> pl.DataFrame:
    """Lay results out as columns: value, flag, notes, tags, key, then one per named part.

    Built through Arrow: Polars' own constructor is slow for list columns.
    """
    text, lists = pa.string(), pa.list_(pa.string())
    arrays = {
        "value": pa.array([r.value for r in results], text),
        "flag": pa.array([r.flag.value for r in results], text),
        "notes": pa.array([r.notes for r in results], lists),
        "tags": pa.array([r.tags for r in results], lists),
        "key": pa.array([r.key for r in results], text),
    }
    for name in parts:
        arrays[name] = pa.array([r.parts.get(name) for r in results], text)
    frame = pl.from_arrow(pa.table(arrays))
    assert isinstance(frame, pl.DataFrame)
    return frame.cast({"notes": pl.List(pl.Utf8), "tags": pl.List(pl.Utf8)})


def per_distinct(
    columns: Mapping[str, pl.Series],
    fn: Callable[..., Result],
    parts: Sequence[str] = (),
) -> pl.DataFrame:
    """Apply `fn(**row)` once per distinct combination of `columns`; one result row per input row.

    Real exports repeat values a lot (cities, companies, countries, first names); the slow
    libraries are called once per distinct value, never once per row. The output lines up
    with the input rows and has the columns of `to_frame`.
    """
    names = list(columns)
    given = pl.DataFrame(dict(columns)).with_row_index("__row")
    distinct = given.select(names).unique(maintain_order=True)
    results = [fn(**dict(zip(names, row, strict=True))) for row in distinct.iter_rows()]
    table = pl.concat([distinct, to_frame(results, parts)], how="horizontal")
    joined = given.join(table, on=names, how="left", nulls_equal=True, maintain_order="left")
    return joined.sort("__row").drop(["__row", *names])
