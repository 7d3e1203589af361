"""The import pipeline: read a file, map it, prepare its rows, store them chunk by chunk and
give new customers their golden records.

Each chunk is one transaction holding its source records, standardized views, activity rows,
golden records and the batch's running counts, so a process killed mid-import leaves whole
chunks only, and running the same import again completes it (unchanged rows are skipped by
content hash). Preparing chunk n+1 overlaps with writing chunk n, in a second process for
big files (a thread for small ones).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from time import perf_counter
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, Engine, Index

from rolodex.collect.fields import Kind
from rolodex.collect.mapping import (
    ColumnMapping,
    MappingOverrides,
    detect_kind,
    infer_mapping,
    load_mapping_file,
)
from rolodex.collect.prepare import AMBIGUOUS, ChunkPreparer, PreparedChunk, SealedColumns
from rolodex.collect.readers import open_table
from rolodex.collect.rows import Problem, RawRow, Table
from rolodex.collect.seen import SeenKeys
from rolodex.collect.writer import ChunkResult, WriteContext, view_frame, write_chunk
from rolodex.config import CleanSettings
from rolodex.exceptions import InputError, TransientError
from rolodex.model import Company, CompanyRecord, ContactPoint, ContactRecord
from rolodex.model.base import table as table_of
from rolodex.model.base import utcnow
from rolodex.pipeline.child import ChildProcessExecutor
from rolodex.pipeline.privacy import HashValue, suppression_filter
from rolodex.pipeline.replay import CLEANED_KINDS, Cleaner, make_cleaner
from rolodex.resolve import singletons
from rolodex.store import repo
from rolodex.store.audit import append_audit
from rolodex.store.bulk import BulkSession, ConnectionBulk
from rolodex.store.engine import make_engine
from rolodex.store.sealed import Sealer, SealerFactory, factory_of, sealer_of
from rolodex.store.sealed import register as register_sealer

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
    Kind.SUBSCRIPTIONS: "subscription",
    Kind.DEALS: "deal",
    Kind.CAMPAIGN_MEMBERS: "campaign_member",
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
    link_seconds: float = 0.0  # of `seconds`, linking records the chunks left unlinked
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step of the importer
    flags: dict[str, dict[str, int]] = field(default_factory=dict)  # field -> flag -> count
    peak_mib: int = 0  # peak memory of the importing process
    writer_peak_mib: int | None = None  # peak memory of the writer process, when one ran
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
    custom_types: dict[str, str]  # as sniffed; a workspace may have declared others
    sample: list[list[Any]]
    rows: Iterator[RawRow]

    def preparer(self, custom_types: Mapping[str, str]) -> ChunkPreparer:
        """Build the preparer for this file with the custom field types in force."""
        return ChunkPreparer(
            kind=self.kind,
            file=Path(self.table.info.path).name,
            header=self.table.info.header,
            fields=self.mapping.fields,
            custom=self.mapping.custom,
            custom_types=custom_types,
            has_id_column=self.mapping.id_column is not None,
            sample=self.sample,
            text_only=self.table.info.format == "csv",
        )


class _ProblemTally:
    """Counts problems by column and message shape, keeping one example row each."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str | None, str], ProblemCount] = {}

    def add(self, chunk: PreparedChunk) -> None:
        for number, problems in zip(chunk.numbers, chunk.problems, strict=True):
            for p in problems:
                self._count(number, p)

    def add_rows(self, problems: list[tuple[int, Problem]]) -> None:
        for number, p in problems:
            self._count(number, p)

    def _count(self, number: int, p: Problem) -> None:
        shape = p.message.split(":")[0] if "'" in p.message else p.message
        key = (p.column, shape[:120])
        found = self._counts.get(key)
        if found is None:
            self._counts[key] = ProblemCount(p.column, p.message, 1, number)
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
    # A sample of whole numbers does not make a column whole: later rows may hold 9.5.
    declared = set(overrides.custom) if overrides else set()
    header_of = {name: header[i] for i, name in mapping.custom.items()}
    custom_types = {
        name: "number" if kind == "integer" and header_of.get(name) not in declared else kind
        for name, kind in mapping.custom_types.items()
    }
    return _Opened(table, chosen, mapping, custom_types, values, chain(sample, rows))


def lookup_indexes(kind: Kind) -> tuple[Index, ...]:
    """The lookup indexes that importing records of `kind` fills at random places: in the
    standardized view the collect stage writes, and in the golden records written with it.

    Keys like emails and names land all over their B-trees: a chunk at a time, a million of
    them dirty pages across the whole file, rewritten at every commit and checkpoint, which
    cost more than half of a big import's writing. Built once from the loaded rows (a sort)
    they take a few seconds. Indexes filled in id order (links, points by contact) stay.
    """
    if kind is Kind.CONTACTS:
        indexes = [*table_of(ContactRecord).indexes]
        indexes += [
            ix
            for ix in table_of(ContactPoint).indexes
            if ix.name in ("ix_contact_point_email", "ix_contact_point_phone")
        ]
    elif kind is Kind.COMPANIES:
        indexes = [
            ix
            for ix in table_of(Company).indexes
            if {c.name for c in ix.columns} & {"name", "domain"}
        ]
    else:
        indexes = []
    return tuple(sorted(indexes, key=lambda ix: str(ix.name)))


def _outgrows(conn: Connection, path: Path, opened: _Opened) -> bool:
    """Tell whether the file likely holds more records than its kind's table already has.

    Then its lookup indexes are cheaper to build once after the load than to grow row by row
    (a rough guess is enough: rows are estimated from the sample's text length).
    """
    view = {Kind.CONTACTS: "contact_record", Kind.COMPANIES: "company_record"}.get(opened.kind)
    if view is None or not opened.sample:
        return False
    per_row = sum(len(str(v)) + 1 for row in opened.sample for v in row if v is not None)
    per_row = max(per_row // len(opened.sample), 1)
    packed = 4 if opened.table.info.compression or path.suffix in (".xlsx", ".parquet") else 1
    rows = path.stat().st_size * packed // per_row
    stored = conn.exec_driver_sql(f"SELECT coalesce(max(source_record_id), 0) FROM {view}")
    return rows > int(stored.scalar_one())


def _mapping_record(opened: _Opened, custom_types: Mapping[str, str]) -> dict[str, Any]:
    headers = opened.table.info.header
    return {
        "kind": opened.kind.value,
        "fields": {name: headers[i] for name, i in opened.mapping.fields.items()},
        "custom": {headers[i]: name for i, name in opened.mapping.custom.items()},
        "custom_types": dict(custom_types),
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
    clean: CleanSettings | None = None,
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
    preparer = opened.preparer(opened.custom_types)
    chunk = preparer.prepare(list(islice(opened.rows, sample_rows)))
    make_cleaner(opened.kind, clean, source="")(chunk)
    with SeenKeys() as seen:
        seen.claim(chunk, grouped=preparer.has_lines)
    info = opened.table.info
    return Preview(
        file=path.name,
        kind=opened.kind.value,
        format=info.format,
        encoding=info.encoding,
        delimiter=info.delimiter,
        mapping=opened.mapping.describe(),
        rows=[
            {
                "row": chunk.numbers[i],
                "status": chunk.status(i),
                "key": chunk.keys[i],
                **_shown(chunk.row_values(i)),
                **json.loads(chunk.custom[i] or "{}"),
            }
            for i in range(min(rows, len(chunk)))
        ],
        problems=[
            (chunk.numbers[i], q.column, q.message)
            for i in range(len(chunk))
            for q in chunk.problems[i]
        ],
        notes=list(info.notes),
    )


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    """A record's values as a preview shows them: flags as "field: flag", no helper columns."""
    shown = {k: v for k, v in values.items() if not k.endswith(AMBIGUOUS) and k != "flags"}
    flags = json.loads(values["flags"]) if values.get("flags") else {}
    flags.pop("_changed", None)
    marked = [f"{name}: {entry['flag']}" for name, entry in flags.items() if "flag" in entry]
    if marked:
        shown["quality"] = "; ".join(marked)
    return shown


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
    chunk_size: int = 8_000,
    sample_rows: int = 200,
    progress: Progress | None = None,
    separate_process_bytes: int = 8 << 20,
    clean: CleanSettings | None = None,
    suppression_hash: Callable[[], HashValue] | None = None,
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
        separate_process_bytes: files at least this big are written by a child process.
        clean: the cleaning rules; None imports without cleaning.
        suppression_hash: gives the suppression list's keyed hash; contacts rows of people
            on the list are quarantined (with None, no suppression check is made).

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
    big = path.stat().st_size >= separate_process_bytes
    with engine.begin() as conn:
        # Indexes an import that died mid-load left dropped come back first.
        ConnectionBulk(conn).create_indexes(
            [*lookup_indexes(Kind.CONTACTS), *lookup_indexes(Kind.COMPANIES)]
        )
        source_id = repo.get_or_create_source(conn, source)
        repo.mark_interrupted(conn, source_id)
        first_load = not repo.has_records(conn, source_id, opened.kind.value)
        suppressed = (
            None
            if suppression_hash is None
            else suppression_filter(conn, kind=opened.kind, hasher=suppression_hash)
        )
        defer = big and _outgrows(conn, path, opened)
        custom_types = repo.ensure_custom_fields(
            conn,
            entity=ENTITY[opened.kind],
            fields={
                name: (opened.table.info.header[i], opened.custom_types.get(name, "text"))
                for i, name in opened.mapping.custom.items()
            },
            now=utcnow(),
        )
        preparer = opened.preparer(custom_types)
        batch_id = repo.create_batch(
            conn,
            source_id=source_id,
            kind=opened.kind.value,
            files=[str(path.name)],
            mapping=_mapping_record(opened, custom_types),
            actor=actor,
        )
    summary.batch_id = batch_id
    ctx = WriteContext(
        source_id=source_id,
        kind=opened.kind,
        batch_id=batch_id,
        has_lines=preparer.has_lines,
        first_load=first_load,
        defer_indexes=defer,
    )
    tally = _ProblemTally()
    try:
        cleaner = make_cleaner(
            opened.kind, clean, source=source, steps=summary.steps, flags=summary.flags
        )
        if suppressed is not None:
            cleaner = suppressed.wrap(cleaner)
        cleaning = clean is not None and clean.enabled and opened.kind in CLEANED_KINDS
        _run_chunks(
            engine,
            preparer,
            cleaner,
            opened.rows,
            ctx,
            summary,
            tally,
            chunk_size,
            progress,
            big,
            settle_keys_here=not cleaning,
        )
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
    for header, count in preparer.ambiguous.items():
        if count:
            summary.notes.append(
                f"column {header!r}: {count:,} dates like 03/04/1990 could be read either way;"
                f" read {preparer.day_order(header)}, as the column's unambiguous dates are"
            )
    summary.seconds = perf_counter() - started
    summary.peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
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
    preparer: ChunkPreparer,
    cleaner: Cleaner,
    rows: Iterator[RawRow],
    ctx: WriteContext,
    summary: ImportSummary,
    tally: _ProblemTally,
    chunk_size: int,
    progress: Progress | None,
    separate_process: bool,
    *,
    settle_keys_here: bool,
) -> None:
    """Prepare chunks here while the previous chunk is written by the writer.

    The writer is a thread, or for big files a child process (both cores busy, and SQLite
    written through ADBC, which must not share a process with Python's `sqlite3` on the same
    file). Keys (duplicate ids, occurrence numbers) are settled on the less busy side: here
    when nothing is cleaned, in the writer when cleaning makes this side the busier one.
    Each chunk's new records get their golden records in the chunk's transaction (the
    resolve stage's part, set-based); a pass after the last chunk links what an earlier,
    killed import left unlinked and attaches the batch's activity rows to their customers.
    """
    url = engine.url.render_as_string(hide_password=False)
    sealing = factory_of(engine)
    sealer = sealer_of(engine)
    pool: Executor
    if separate_process:
        pool = ChildProcessExecutor(_open_writer, (url, os.getpid(), sealing))
    else:
        pool = ThreadPoolExecutor(
            max_workers=1, initializer=_open_writer, initargs=(url, None, sealing)
        )
    try:
        with _indexes_deferred(pool, ctx, summary), _young_gc_only(), SeenKeys() as seen:
            pending: deque[Future[ChunkResult]] = deque()
            try:
                steps = summary.steps
                chunks = _chunks(rows, chunk_size)
                number = 0
                ahead = _FIRST_AHEAD  # how many parts of the sealing are done here
                while True:
                    started = perf_counter()
                    raw = next(chunks, None)
                    if raw is None:
                        break
                    number += 1
                    read = perf_counter()
                    chunk = preparer.prepare(raw)
                    prepared = perf_counter()
                    cleaner(chunk)
                    if settle_keys_here:
                        seen.claim(chunk, grouped=ctx.has_lines)
                    settled = perf_counter()
                    seal_chunk(chunk, ctx, sealer, _AHEAD[:ahead])
                    steps["read"] = steps.get("read", 0.0) + read - started
                    steps["prepare"] = steps.get("prepare", 0.0) + prepared - read
                    steps["seal"] = steps.get("seal", 0.0) + perf_counter() - settled
                    tally.add(chunk)
                    while len(pending) >= _IN_FLIGHT:
                        waiting = perf_counter()
                        result = pending.popleft().result()
                        waited = perf_counter() - waiting
                        _add(summary, result, tally, progress)
                        # Sealing goes to whichever side waited for the other.
                        if waited > _IDLE:
                            ahead = min(ahead + 1, len(_AHEAD))
                        elif result.idle_seconds > _IDLE:
                            ahead = max(ahead - 1, 0)
                        steps["wait for writer"] = steps.get("wait for writer", 0.0) + waited
                    # Statistics before chunks 1, 4, 16, 64, ...: plans follow the growth
                    # (on PostgreSQL each ANALYZE of the growing tables costs about a second).
                    analyze = number & (number - 1) == 0 and number.bit_length() % 2 == 1
                    pending.append(pool.submit(_store_chunk, chunk, ctx, analyze, settle_keys_here))
                    # Once sent, the chunk may go while the next one is prepared.
                    del chunk
                    if number % 8 == 0:
                        gc.collect(0)
            finally:
                # Whatever stops the loop, the chunks handed over are finished and counted;
                # of several errors, the first is the one raised.
                errors: list[BaseException] = []
                while pending:
                    try:
                        _add(summary, pending.popleft().result(), tally, progress)
                    except BaseException as exc:
                        errors.append(exc)
                if errors and sys.exc_info()[1] is None:
                    raise errors[0]
        linking = perf_counter()
        created = pool.submit(_link_new, ctx).result()
        summary.link_seconds = perf_counter() - linking
        if ctx.kind is Kind.COMPANIES:
            summary.companies_created += created
        else:
            summary.contacts_created += created
    finally:
        try:
            peak = pool.submit(_close_writer).result()
            if separate_process:
                summary.writer_peak_mib = peak
        finally:
            pool.shutdown()


# What the preparing side may seal ahead, in the order it takes them on as it has time: the
# standardized view, then the contact points (made from the view), then the payloads. The
# writer seals whatever is left.
_AHEAD = ("view", "points", "payload")
_FIRST_AHEAD = 2  # the first chunk's; then it follows which side waits for the other


def seal_chunk(
    chunk: PreparedChunk, ctx: WriteContext, sealer: Sealer, parts: Sequence[str] = _AHEAD
) -> None:
    """Seal these parts of the chunk's personal data (`SealedColumns`) unless already sealed.

    Both sides of an import call it: the preparing side for the parts it has time for, the
    writer for the rest, so the work goes where a core is free and the store gets the same.
    """
    sealed = chunk.sealed = chunk.sealed or SealedColumns()
    person = ctx.kind in (Kind.CONTACTS, Kind.COMPANIES)
    vault = sealer.vault
    if sealed.subjects is None and parts:  # one key per row, whichever side seals which part
        sealed.subjects = sealer.new_subjects(len(chunk.payloads))
        if vault is not None:
            sealed.subject_keys = vault.export([s for s in sealed.subjects if s is not None])
    elif sealed.subject_keys is not None and vault is not None and sealed.subjects is not None:
        vault.prime([s for s in sealed.subjects if s is not None], sealed.subject_keys)
    subjects = sealed.subjects
    view = person and sealed.view is None and ("view" in parts or "points" in parts)
    points = ctx.kind is Kind.CONTACTS and sealed.points is None and "points" in parts
    payload = sealed.payload is None and "payload" in parts
    keys = None
    if (view or points or payload) and vault is not None and subjects is not None:
        keys = vault.aeads({s for s in subjects if s is not None})  # once for all parts
    plain = None
    if view:
        plain = view_frame(chunk, ctx)
        model = ContactRecord if ctx.kind is Kind.CONTACTS else CompanyRecord
        sealed.view = sealer.seal_arrow(
            table_of(model).name, plain.to_arrow(), subjects=subjects, keys=keys
        )
    if points:
        assert sealed.view is not None
        plain = view_frame(chunk, ctx) if plain is None else plain
        sealed.points = singletons.plan_points(plain, sealed.view, sealer, keys=keys)
    if payload:
        payloads = chunk.fixed_columns()["payload"].to_pylist()
        sealed.payload = pa.array(
            sealer.seal("payload", payloads, subjects=subjects, keys=keys), pa.string()
        )
    done = (
        sealed.payload is not None
        and (not person or sealed.view is not None)
        and (ctx.kind is not Kind.CONTACTS or sealed.points is not None)
    )
    if done:
        sealed.subject_keys = None  # all sealed: the keys need not travel


_IDLE = 0.005  # seconds of waiting that count as a side being idle
# Chunks handed to the writer and not yet answered: with one more than the chunk it writes,
# it finds the next waiting when it is done, and neither side waits on the other's
# fluctuations.
_IN_FLIGHT = 2
_writer = threading.local()


def _open_writer(url: str, parent: int | None, sealing: SealerFactory | None) -> None:
    """Open the writer's session (in its thread or child process), sealing personal data
    as the importing workspace does."""
    engine = make_engine(url)
    if sealing is not None:
        register_sealer(engine, sealing)
    _writer.session = BulkSession(engine, adbc=parent is not None, unchecked=True)
    _writer.seen = None  # made on first use: keys may be settled on the preparing side
    _writer.idle_since = perf_counter()  # when the writer last finished (or began) waiting
    _writer.failed = None  # the error of a chunk that failed: the next ones are refused
    _writer.parent = parent
    if parent is not None:
        # A child process lives for one import: what it holds now (modules, the models'
        # metadata, some 130,000 objects) stays to the end, and the garbage collector need
        # not scan it again for every chunk (a second per million rows).
        gc.freeze()


def _close_writer() -> int:
    """Close the writer's session; return its process's peak memory in MiB."""
    _writer.session.close()
    if _writer.seen is not None:
        _writer.seen.close()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _session() -> BulkSession:
    """Return the writer's session; a child whose importer died stops before writing more."""
    parent = getattr(_writer, "parent", None)
    if parent is not None and os.getppid() != parent:
        raise SystemExit("the importing process is gone")
    session: BulkSession = _writer.session
    return session


@contextmanager
def _indexes_deferred(pool: Executor, ctx: WriteContext, summary: ImportSummary) -> Iterator[None]:
    """Load without the lookup indexes when `ctx` says so, and build them once at the end
    (also when the load fails; a killed one leaves them to the next import's start)."""
    if not ctx.defer_indexes:
        yield
        return
    # Not waited for: the writer (a process still starting) runs it before the first chunk.
    dropped = pool.submit(_drop_lookup_indexes, ctx.kind)
    try:
        yield
        dropped.result()
    finally:
        building = perf_counter()
        pool.submit(_restore_lookup_indexes, ctx.kind).result()
        summary.steps["indexes (writer)"] = perf_counter() - building


@contextmanager
def _young_gc_only() -> Iterator[None]:
    """Pause automatic garbage collection while chunks stream (collected by hand per chunk).

    Each chunk allocates hundreds of thousands of short-lived containers; automatic
    collection would rescan everything alive again and again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _add(
    summary: ImportSummary, result: ChunkResult, tally: _ProblemTally, progress: Progress | None
) -> None:
    tally.add_rows(result.problems)
    steps = summary.steps
    steps["write (writer)"] = (
        steps.get("write (writer)", 0.0) + result.seconds - result.link_seconds
    )
    steps["golden records (writer)"] = (
        steps.get("golden records (writer)", 0.0) + result.link_seconds
    )
    steps["writer waits"] = steps.get("writer waits", 0.0) + result.idle_seconds
    summary.read += result.read
    summary.accepted += result.accepted
    summary.updated += result.updated
    summary.unchanged += result.unchanged
    summary.quarantined += result.quarantined
    summary.stubs += result.stubs
    if summary.kind == Kind.COMPANIES.value:
        summary.companies_created += result.linked
    else:
        summary.contacts_created += result.linked
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
    chunk: PreparedChunk, ctx: WriteContext, analyze: bool = False, settled: bool = False
) -> ChunkResult:
    """Settle the chunk's keys unless already `settled`, then write it and its counts in a
    single transaction.

    Once a chunk failed, the chunks queued behind it are refused, not written: the import
    stops at the failure, as if it had handed them over one at a time.
    """
    if _writer.failed is not None:
        raise TransientError(f"not written: an earlier chunk failed ({_writer.failed})")
    try:
        return _write_chunk(chunk, ctx, analyze, settled)
    except BaseException as exc:
        _writer.failed = exc
        raise


def _write_chunk(
    chunk: PreparedChunk, ctx: WriteContext, analyze: bool, settled: bool
) -> ChunkResult:
    started = perf_counter()
    idle = started - _writer.idle_since
    added: list[tuple[int, Problem]] = []
    if not settled:
        if _writer.seen is None:
            _writer.seen = SeenKeys()
        added = _writer.seen.claim(chunk, grouped=ctx.has_lines)
    now = utcnow()
    with _session().transaction() as db:
        # First statement: takes the write lock before any id is reserved.
        db.execute(
            "UPDATE import_batch SET rows_read = rows_read + ? WHERE id = ?",
            [len(chunk), ctx.batch_id],
        )
        if analyze:
            db.analyze(_GROWING)
        seal_chunk(chunk, ctx, db.sealer)
        result = write_chunk(db, chunk, ctx=ctx)
        # Golden records in the chunk's own transaction: the writer has time to spare while
        # the next chunk is prepared, which a pass after the last chunk would not use.
        linking = perf_counter()
        if ctx.kind is Kind.COMPANIES:
            singletons.refresh_companies(db, result.changed_records, now=now)
            result.linked = singletons.link_new_companies(db, result.new_records, now=now)
        else:
            singletons.refresh_contacts(db, result.changed_records, now=now, points=result.points)
            result.linked = singletons.link_new_contacts(
                db, result.new_records, now=now, points=result.points
            )
        result.link_seconds = perf_counter() - linking
        result.points = None  # not back to the importer
        db.execute(
            "UPDATE import_batch SET rows_accepted = rows_accepted + ?,"
            " rows_updated = rows_updated + ?, rows_unchanged = rows_unchanged + ?,"
            " rows_quarantined = rows_quarantined + ? WHERE id = ?",
            [result.accepted, result.updated, result.unchanged, result.quarantined, ctx.batch_id],
        )
    result.problems = added + result.problems
    result.idle_seconds = idle
    _writer.idle_since = perf_counter()
    result.seconds = _writer.idle_since - started
    return result


def _drop_lookup_indexes(kind: Kind) -> None:
    """Drop the lookup indexes of `kind` before a load that outgrows its table."""
    with _session().transaction() as db:
        db.drop_indexes(lookup_indexes(kind))


def _restore_lookup_indexes(kind: Kind) -> None:
    """Build the lookup indexes of `kind` again, in one pass over the loaded rows."""
    with _session().transaction() as db:
        db.create_indexes(lookup_indexes(kind))
        db.analyze(_GROWING)


def _link_new(ctx: WriteContext, step: int = 50_000) -> int:
    """Give every unlinked record its golden record, in steps of one transaction each."""
    session = _session()
    created, after = 0, 0
    companies = ctx.kind is Kind.COMPANIES
    while True:
        with session.transaction() as db:
            done, after = singletons.link_unlinked(
                db, companies=companies, after=after, limit=step, now=utcnow()
            )
        created += done
        if not done:
            break
    if ctx.kind not in (Kind.CONTACTS, Kind.COMPANIES):
        with session.transaction() as db:
            singletons.attach_batch_activity(db, ctx.batch_id)
    return created
