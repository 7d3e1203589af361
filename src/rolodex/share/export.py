"""Exports: golden contacts, source-to-golden links, the quarantine and raw source records.

Rows stream from the database in partitions and are written as they come, so an export of
millions of rows keeps memory flat. CSV cells that a spreadsheet would run as a formula
(starting with = + - @, tab or carriage return) are prefixed with a quote.
"""

from __future__ import annotations

import csv
import enum
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, text

from rolodex.exceptions import InputError
from rolodex.store.sealed import SEALED, sealer_of

_PARTITION = 10_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportKind(enum.StrEnum):
    """What can be exported."""

    CONTACTS = "contacts"
    LINKS = "links"
    QUARANTINE = "quarantine"
    SOURCE_RECORDS = "source-records"


class ExportFormat(enum.StrEnum):
    """File formats for exports."""

    CSV = "csv"
    PARQUET = "parquet"
    JSON = "json"


_QUERIES: dict[ExportKind, str] = {
    ExportKind.CONTACTS: (
        "SELECT c.id AS contact_id, c.salutation, c.first_name, c.middle_name, c.last_name,"
        " c.suffix, c.full_name, c.email, c.phone, c.company_name, c.job_title, c.department,"
        " c.city, c.region, c.postcode, c.country, c.birth_date, c.gender, c.language,"
        " c.lifecycle_stage, c.owner, c.custom,"
        " (SELECT count(*) FROM contact_link l WHERE l.contact_id = c.id) AS source_records,"
        " c.created_at, c.updated_at FROM contact c WHERE c.merged_into_id IS NULL ORDER BY c.id"
    ),
    ExportKind.LINKS: (
        "SELECT s.name AS source, coalesce(r.external_id, r.record_key) AS external_id,"
        " l.contact_id FROM contact_link l JOIN source_record r ON r.id = l.source_record_id"
        " JOIN source s ON s.id = r.source_id ORDER BY l.source_record_id"
    ),
    ExportKind.QUARANTINE: (
        "SELECT s.name AS source, r.kind, r.batch_id, r.file, r.row_number, r.external_id,"
        " r.issues AS reasons, r.payload, r.id AS source_record_id FROM source_record r"
        " JOIN source s ON s.id = r.source_id WHERE r.status = 'quarantined' ORDER BY r.id"
    ),
    ExportKind.SOURCE_RECORDS: (
        "SELECT r.id AS source_record_id, s.name AS source, r.kind, r.record_key,"
        " r.external_id, r.version, r.status, r.is_stub, r.batch_id, r.file, r.row_number,"
        " r.content_hash, r.payload, r.issues FROM source_record r"
        " JOIN source s ON s.id = r.source_id ORDER BY r.id"
    ),
}


# Columns of each export that are stored sealed: column -> kind of personal data.
_SEALED: dict[ExportKind, dict[str, str]] = {
    ExportKind.CONTACTS: SEALED["contact"],
    ExportKind.QUARANTINE: {"payload": "payload"},
    ExportKind.SOURCE_RECORDS: {"payload": "payload"},
}


def neutralize(value: Any) -> Any:
    """Make a text cell safe to open in a spreadsheet (formula injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _reasons(issues: str | None) -> str | None:
    """Render a record's problems as "column: message; ..." for people reading the export."""
    if not issues:
        return None
    return "; ".join(
        f"{p['column']}: {p['message']}" if p.get("column") else p["message"]
        for p in json.loads(issues)
    )


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _date(value: Any) -> Any:
    """A stored birth date (ISO text) as a date, so files type it as one; text that is no
    ISO date stays as it is."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _partitions(
    conn: Connection, kind: ExportKind
) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
    result = conn.execute(text(_QUERIES[kind]), execution_options={"stream_results": True})
    columns = list(result.keys())
    reasons = columns.index("reasons") if "reasons" in columns else None
    sealer = sealer_of(conn)
    sealed = [(columns.index(c), g) for c, g in _SEALED.get(kind, {}).items() if c in columns]

    def rows() -> Iterator[list[tuple[Any, ...]]]:
        for part in result.partitions(_PARTITION):
            out = []
            for row in part:
                values = [_plain(v) for v in row]
                if reasons is not None:
                    values[reasons] = _reasons(values[reasons])
                out.append(values)
            # Decrypted a column at a time: one batch per partition and kind.
            for at, group in sealed:
                opened = sealer.open(group, [values[at] for values in out])
                for values, value in zip(out, opened, strict=True):
                    values[at] = _date(value) if group == "birth_date" else value
            yield [tuple(values) for values in out]

    return columns, rows()


Parts = Iterator[list[tuple[Any, ...]]]
Transform = Callable[[list[str], Parts], tuple[list[str], Parts]]


def export(
    conn: Connection,
    kind: ExportKind,
    out: Path,
    fmt: ExportFormat,
    *,
    transform: Transform | None = None,
) -> int:
    """Write one export to `out`; return the number of rows written.

    `transform` reshapes columns and rows on their way out (the caller's field permissions).

    Raises:
        InputError: the output file cannot be written.
    """
    columns, parts = _partitions(conn, kind)
    if transform is not None:
        columns, parts = transform(columns, parts)
    return write_rows(out, columns, parts, fmt)


def write_rows(
    out: Path,
    columns: list[str],
    parts: Iterator[list[tuple[Any, ...]]],
    fmt: ExportFormat = ExportFormat.CSV,
) -> int:
    """Write rows (in parts) as CSV with formula cells neutralized, JSON or Parquet; return
    how many were written. Every export of people's data goes through here.

    Raises:
        InputError: the output file cannot be written.
    """
    try:
        if fmt is ExportFormat.CSV:
            with out.open("w", newline="", encoding="utf-8") as fh:
                return _write_csv(fh, columns, parts)
        if fmt is ExportFormat.JSON:
            with out.open("w", encoding="utf-8") as fh:
                return _write_json(fh, columns, parts)
        return _write_parquet(out, columns, parts)
    except OSError as exc:
        raise InputError(f"cannot write the export: {exc.strerror}", file=str(out)) from exc


def _write_csv(fh: TextIO, columns: list[str], parts: Iterator[list[tuple[Any, ...]]]) -> int:
    writer = csv.writer(fh)
    writer.writerow(columns)
    n = 0
    for part in parts:
        writer.writerows([[neutralize(v) for v in row] for row in part])
        n += len(part)
    return n


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _write_json(fh: TextIO, columns: list[str], parts: Iterator[list[tuple[Any, ...]]]) -> int:
    fh.write("[")
    n = 0
    for part in parts:
        for row in part:
            fh.write(",\n" if n else "\n")
            record = {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
            fh.write(json.dumps(record, ensure_ascii=False))
            n += 1
    fh.write("\n]\n" if n else "]\n")
    return n


def _arrow_type(values: Sequence[Any]) -> pa.DataType:
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, bool):
        return pa.bool_()
    if isinstance(sample, int):
        return pa.int64()
    if isinstance(sample, float):
        return pa.float64()
    if isinstance(sample, datetime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(sample, date):
        return pa.date32()
    return pa.string()


def _write_parquet(out: Path, columns: list[str], parts: Iterator[list[tuple[Any, ...]]]) -> int:
    writer: pq.ParquetWriter | None = None
    schema: pa.Schema | None = None
    n = 0
    try:
        for part in parts:
            cols = list(zip(*part, strict=True))
            if schema is None:
                schema = pa.schema(
                    [(c, _arrow_type(v)) for c, v in zip(columns, cols, strict=True)]
                )
                writer = pq.ParquetWriter(out, schema)
            arrays = []
            for values, fld in zip(cols, schema, strict=True):
                if fld.type == pa.string():
                    values = tuple(None if v is None else str(v) for v in values)
                arrays.append(pa.array(values, type=fld.type))
            assert writer is not None
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            n += len(part)
        if writer is None:
            pq.write_table(pa.table({c: pa.array([], pa.string()) for c in columns}), out)
    finally:
        if writer is not None:
            writer.close()
    return n
