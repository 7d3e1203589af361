"""What a reader hands to the import: a header and a stream of raw rows with their problems."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with one row, found while reading or checking it.

    `column` is the header name the problem is about, or None for the whole row.
    `fatal` problems quarantine the row; the others are kept as warnings on it.
    """

    message: str
    column: str | None = None
    fatal: bool = True


@dataclass(slots=True)
class RawRow:
    """One row as read from the file, before any mapping.

    `number` is the row's position as a person opening the file would see it: the 1-based
    line where the row starts for text files (the header is usually line 1), the sheet row
    for Excel, the 1-based record index for JSON, NDJSON (line) and Parquet.
    `values` line up with the reader's header; a value the row does not have is None.
    `extra` holds fields beyond the header (a CSV row with too many fields: keys "_extra_1",
    ...; a JSON object with keys the header lacks: those keys).
    Values are strings for text formats and keep their JSON/Parquet type otherwise.
    """

    number: int
    values: list[Any]
    extra: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class TableInfo:
    """What the reader found out about a file."""

    path: str
    format: str  # csv, xlsx, json, ndjson, parquet
    header: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    compression: str | None = None  # gzip, zip
    sheet: str | None = None
    header_row: int = 1  # where the header was found (title lines above it are skipped)
    # e.g. "renamed duplicate header Email to Email_2"
    notes: list[str] = field(default_factory=list)


class Table:
    """An open input file: its info and an iterator over its rows (read once, streaming)."""

    def __init__(self, info: TableInfo, rows: Iterator[RawRow]) -> None:
        self.info = info
        self._rows = rows

    def __iter__(self) -> Iterator[RawRow]:
        return self._rows
