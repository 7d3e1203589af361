"""The import pipeline: read a file, map it, prepare its rows, store them chunk by chunk and
give new customers their golden records.

Each chunk is one transaction holding its source records, standardized views, activity rows,
golden records and the batch's running counts, so a process killed mid-import leaves whole
chunks only, and running the same import again completes it (unchanged rows are skipped by
content hash). Preparing chunk n+1 overlaps with writing chunk n on a second thread: the
database driver releases the GIL while it works.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy import Engine

from rolodex.collect.fields import Kind
from rolodex.collect.mapping import (
    ColumnMapping,
    MappingOverrides,
    detect_kind,
    infer_mapping,
    load_mapping_file,
)
from rolodex.collect.prepare import Prepared, RowPreparer
from rolodex.collect.readers import open_table
from rolodex.collect.rows import RawRow, Table
from rolodex.collect.seen import SeenKeys
from rolodex.collect.writer import ChunkResult, WriteContext, write_chunk
from rolodex.exceptions import InputError
from rolodex.model.base import utcnow
from rolodex.resolve import singletons
from rolodex.store import repo
from rolodex.store.audit import append_audit
from rolodex.store.bulk import refresh_statistics

Progress = Callable[[str, int], None]
"""Called with (file name, rows done so far) after every chunk."""

ENTITY = {
    Kind.CONTACTS: "contact",
    Kind.COMPANIES: "company",
    Kind.ORDERS: "order",
    Kind.INTERACTIONS: "interaction",
    Kind.TICKETS: "ticket",
    Kind.EVENTS: "event",
    Kind.CONSENTS: "consent",
}


@dataclass
class ProblemCount:
    """How often one kind of problem occurred, with an example."""

    column: str | None
    message: str
    count: int
    example_row: int


@dataclass
class ImportSummary:
    """What importing one file did. read == accepted + updated + unchanged + quarantined."""

    file: str
    source: str
    kind: str
    batch_id: int | None
    read: int = 0
    accepted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    stubs: int = 0
    contacts_created: int = 0
    companies_created: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    problems: list[ProblemCount] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        """Tell whether every row read is accounted for."""
        return self.read == self.accepted + self.updated + self.unchanged + self.quarantined


@dataclass
class Preview:
    """What `--dry-run` shows for one file: nothing of it is written."""

    file: str
    kind: str
    format: str
    encoding: str | None
    delimiter: str | None
    mapping: list[tuple[str, str, str]]
    rows: list[dict[str, Any]]
    problems: list[tuple[int, str | None, str]]
    notes: list[str]


@dataclass
class _Opened:
    table: Table
    kind: Kind
    mapping: ColumnMapping
    preparer: RowPreparer
    rows: Iterator[RawRow]


class _ProblemTally:
    """Counts problems by column and message shape, keeping one example row each."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str | None, str], ProblemCount] = {}

    def add(self, rows: Iterable[Prepared]) -> None:
        for row in rows:
            for p in row.problems:
                shape = p.message.split(":")[0] if "'" in p.message else p.message
                key = (p.column, shape[:120])
                found = self._counts.get(key)
                if found is None:
                    self._counts[key] = ProblemCount(p.column, p.message, 1, row.number)
                else:
                    found.count += 1

    def top(self, n: int = 10) -> list[ProblemCount]:
        return sorted(self._counts.values(), key=lambda c: -c.count)[:n]


def _open(
    path: Path,
    *,
    kind: Kind | None,
    id_column: str | None,
    overrides: MappingOverrides | None,
    sheet: str | None,
    sample_rows: int,
) -> _Opened:
    table = open_table(path, sheet=sheet)
    rows = iter(table)
    sample = list(islice(rows, sample_rows))
    values = [r.values for r in sample]
    header = table.info.header
    chosen = kind or (overrides.kind if overrides and overrides.kind else None)
    chosen = chosen or detect_kind(header, values)
    mapping = infer_mapping(header, values, kind=chosen, id_column=id_column, overrides=overrides)
    preparer = RowPreparer(
        kind=chosen,
        file=path.name,
        header=header,
        fields=mapping.fields,
        custom=mapping.custom,
        custom_types=mapping.custom_types,
        has_id_column=mapping.id_column is not None,
        sample=values,
    )
    return _Opened(table, chosen, mapping, preparer, chain(sample, rows))


def _mapping_record(opened: _Opened) -> dict[str, Any]:
    headers = opened.table.info.header
    return {
        "kind": opened.kind.value,
        "fields": {name: headers[i] for name, i in opened.mapping.fields.items()},
        "custom": {headers[i]: name for i, name in opened.mapping.custom.items()},
        "custom_types": dict(opened.preparer.custom_types),
        "id_column": headers[opened.mapping.id_column]
        if opened.mapping.id_column is not None
        else None,
    }


def _chunks(rows: Iterator[RawRow], size: int) -> Iterator[list[RawRow]]:
    """Group rows in chunks; rows read before a file turns out damaged are still yielded."""
    chunk: list[RawRow] = []
    try:
        for row in rows:
            chunk.append(row)
            if len(chunk) == size:
                yield chunk
                chunk = []
    except InputError:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


def preview_file(
    path: Path,
    *,
    kind: Kind | None = None,
    id_column: str | None = None,
    mapping_file: Path | None = None,
    sheet: str | None = None,
    rows: int = 5,
    sample_rows: int = 200,
) -> Preview:
    """Show how a file would be imported: its mapping, first rows and problems; write nothing."""
    overrides = load_mapping_file(mapping_file) if mapping_file else None
    opened = _open(
        path,
        kind=kind,
        id_column=id_column,
        overrides=overrides,
        sheet=sheet,
        sample_rows=sample_rows,
    )
    prepared = [opened.preparer.prepare(r) for r in islice(opened.rows, sample_rows)]
    with SeenKeys() as seen:
        seen.claim(prepared, grouped=opened.preparer.has_lines)
    info = opened.table.info
    return Preview(
        file=path.name,
        kind=opened.kind.value,
        format=info.format,
        encoding=info.encoding,
        delimiter=info.delimiter,
        mapping=opened.mapping.describe(),
        rows=[
            {"row": p.number, "status": p.status, "key": p.key, **p.values, **(p.custom or {})}
            for p in prepared[:rows]
        ],
        problems=[(p.number, q.column, q.message) for p in prepared for q in p.problems],
        notes=list(info.notes),
    )


def import_file(
    engine: Engine,
    path: Path,
    *,
    source: str,
    kind: Kind | None = None,
    id_column: str | None = None,
    mapping_file: Path | None = None,
    sheet: str | None = None,
    actor: str = "cli",
    chunk_size: int = 10_000,
    sample_rows: int = 200,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import one file as records of `source`.

    Args:
        engine: the workspace database.
        path: the file (CSV/TSV, Excel, JSON, NDJSON, Parquet; gzip or zip compressed).
        source: name of the system the file came from; created on first use.
        kind: what the rows describe; detected from the headers when None.
        id_column: the column holding the source's record id; detected when None.
        mapping_file: a TOML file overriding the automatic column mapping.
        sheet: the Excel sheet to read.
        actor: who runs the import, for the batch and the audit log.
        chunk_size: rows per transaction.
        sample_rows: rows used to infer the mapping.
        progress: called after every chunk.

    Returns:
        The counts, which always reconcile, and the most frequent problems.

    Raises:
        InputError: the file cannot be read at all (empty, garbage, truncated).
        ConfigError: the mapping file is invalid.
    """
    started = perf_counter()
    overrides = load_mapping_file(mapping_file) if mapping_file else None
    opened = _open(
        path,
        kind=kind,
        id_column=id_column,
        overrides=overrides,
        sheet=sheet,
        sample_rows=sample_rows,
    )
    summary = ImportSummary(file=path.name, source=source, kind=opened.kind.value, batch_id=None)
    summary.notes.extend(opened.table.info.notes)
    with engine.begin() as conn:
        source_id = repo.get_or_create_source(conn, source)
        repo.mark_interrupted(conn, source_id)
        custom_types = repo.ensure_custom_fields(
            conn,
            entity=ENTITY[opened.kind],
            fields={
                name: (opened.table.info.header[i], opened.mapping.custom_types.get(name, "text"))
                for i, name in opened.mapping.custom.items()
            },
            now=utcnow(),
        )
        opened.preparer = RowPreparer(
            kind=opened.kind,
            file=path.name,
            header=opened.table.info.header,
            fields=opened.mapping.fields,
            custom=opened.mapping.custom,
            custom_types=custom_types,
            has_id_column=opened.mapping.id_column is not None,
            sample=opened.preparer.sample,
        )
        batch_id = repo.create_batch(
            conn,
            source_id=source_id,
            kind=opened.kind.value,
            files=[str(path.name)],
            mapping=_mapping_record(opened),
            actor=actor,
        )
    summary.batch_id = batch_id
    ctx = WriteContext(
        source_id=source_id,
        kind=opened.kind,
        batch_id=batch_id,
        has_lines=opened.preparer.has_lines,
    )
    tally = _ProblemTally()
    try:
        _run_chunks(engine, opened, ctx, summary, tally, chunk_size, progress)
    except BaseException as exc:
        with engine.begin() as conn:
            repo.finish_batch(conn, batch_id, status="failed", error=str(exc) or repr(exc))
        if isinstance(exc, InputError) and summary.read:
            raise InputError(
                f"{exc}; the {summary.read:,} rows before it were stored in import batch"
                f" {batch_id} (status failed): `rolodex import undo {batch_id}` removes them,"
                " or import the complete file again to finish the batch"
            ) from exc
        raise
    summary.problems = tally.top()
    summary.seconds = perf_counter() - started
    with engine.begin() as conn:
        repo.finish_batch(conn, batch_id, status="completed")
        append_audit(
            conn,
            actor=actor,
            action="import",
            entity="import_batch",
            entity_id=batch_id,
            details={
                "source": source,
                "file": path.name,
                "kind": opened.kind.value,
                "read": summary.read,
                "accepted": summary.accepted,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "quarantined": summary.quarantined,
            },
        )
    return summary


def _run_chunks(
    engine: Engine,
    opened: _Opened,
    ctx: WriteContext,
    summary: ImportSummary,
    tally: _ProblemTally,
    chunk_size: int,
    progress: Progress | None,
) -> None:
    """Prepare chunks on this thread while the previous chunk is written on another."""
    with SeenKeys() as seen, ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[ChunkResult] | None = None
        try:
            for number, raw in enumerate(_chunks(opened.rows, chunk_size), start=1):
                prepared = [opened.preparer.prepare(r) for r in raw]
                seen.claim(prepared, grouped=ctx.has_lines)
                tally.add(prepared)
                if pending is not None:
                    _add(summary, pending.result(), progress)
                    pending = None
                # Statistics after chunks 1, 2, 4, 8, ...: cheap, and plans follow the growth.
                analyze = number & (number - 1) == 0
                pending = pool.submit(_store_chunk, engine, prepared, ctx, analyze)
        finally:
            # Whatever stops the loop, the chunk being written is finished and counted.
            if pending is not None:
                _add(summary, pending.result(), progress)


def _add(summary: ImportSummary, result: ChunkResult, progress: Progress | None) -> None:
    summary.read += result.read
    summary.accepted += result.accepted
    summary.updated += result.updated
    summary.unchanged += result.unchanged
    summary.quarantined += result.quarantined
    summary.stubs += result.stubs
    if summary.kind == Kind.COMPANIES.value:
        summary.companies_created += len(result.new_records)
    else:
        summary.contacts_created += len(result.new_records)
    if progress is not None:
        progress(summary.file, summary.read)


_GROWING = (
    "source_record",
    "contact_record",
    "company_record",
    "contact_link",
    "company_link",
    "contact",
    "contact_point",
    "order",
    "order_line",
)


def _store_chunk(
    engine: Engine, rows: Sequence[Prepared], ctx: WriteContext, analyze: bool = False
) -> ChunkResult:
    """Write one chunk, its golden records and its counts in a single transaction."""
    now = utcnow()
    with engine.begin() as conn:
        if analyze:
            refresh_statistics(conn, _GROWING)
        result = write_chunk(conn, rows, ctx=ctx)
        if ctx.kind is Kind.COMPANIES:
            singletons.link_new_companies(conn, result.new_records, now=now)
            singletons.refresh_companies(conn, result.changed_records, now=now)
        else:
            singletons.link_new_contacts(conn, result.new_records, now=now)
            singletons.refresh_contacts(conn, result.changed_records, now=now)
        if result.activity_records:
            singletons.attach_activity(conn, result.activity_records)
        repo.add_batch_counts(
            conn,
            ctx.batch_id,
            {
                "rows_read": result.read,
                "rows_accepted": result.accepted,
                "rows_updated": result.updated,
                "rows_unchanged": result.unchanged,
                "rows_quarantined": result.quarantined,
            },
        )
    return result
