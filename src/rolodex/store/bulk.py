"""Bulk writes for the import path: Arrow in, one transaction per chunk.

Going row by row through the ORM, or even binding Python tuples with `executemany`, costs
several microseconds per value; the import moves Arrow tables instead. On SQLite an ADBC
connection ingests them in C; on PostgreSQL they stream through `COPY`. Both sit behind one
small interface (`Bulk`), so the stages write SQL once and never ask which database they
are on. Statements use `?` placeholders; the PostgreSQL side translates them.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import Connection, Engine, Index, Table
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, DDLElement, DropIndex

from rolodex.store.sealed import Sealer, sealer_of

_PARAMS = 900  # bound parameters per statement, under SQLite's lowest limit
_FETCH = 20_000  # rows per fetch when reading a frame
_POSTGRES_DIALECT = PGDialect_psycopg()  # type: ignore[no-untyped-call]
_SQLITE_DIALECT = SQLiteDialect_pysqlite()


def read_frame(conn: Connection, sql: str, schema: Mapping[str, Any]) -> pl.DataFrame:
    """Run a query (no parameters) on the connection's own DBAPI cursor, inside its
    transaction, and return the rows as a frame with `schema` (one type per column, in the
    query's order).

    Polars' `read_database` over SQLAlchemy builds a Row object per row; reading a million
    records that way takes twice as long as fetching plain tuples in batches. (Reading a
    SQLite file over ADBC would be faster still, but that driver carries its own copy of
    SQLite, and two copies in one process break each other's file locks.)
    """
    if conn.dialect.name == "postgresql" and all(_copyable(dtype) for dtype in schema.values()):
        return _read_frame_copy(conn, sql, schema)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        frames = []
        while batch := cursor.fetchmany(_FETCH):
            frames.append(pl.DataFrame(batch, schema=dict(schema), orient="row"))
    finally:
        cursor.close()
    if not frames:
        return pl.DataFrame(schema=dict(schema))
    return pl.concat(frames, rechunk=True)


_NULL = "\x1e"  # how COPY writes NULL below: no real value is a lone record separator


def _copyable(dtype: Any) -> bool:
    """Whether a column of this type survives the CSV round trip of `_read_frame_copy`."""
    return any(dtype == t for t in (pl.Utf8, pl.Int64, pl.Int32, pl.Float64, pl.Boolean))


def _read_frame_copy(conn: Connection, sql: str, schema: Mapping[str, Any]) -> pl.DataFrame:
    """`read_frame` on PostgreSQL: COPY the query's rows out as CSV and parse them in Polars,
    three times faster than building a Python tuple per row (a million orders: 1 s, not 3)."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    buffer = io.BytesIO()
    try:
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, NULL '{_NULL}')") as copy:
            for block in copy:
                buffer.write(block)
    finally:
        cursor.close()
    names = list(schema)
    if not buffer.tell():
        return pl.DataFrame(schema=dict(schema))
    raw = pl.read_csv(
        buffer.getvalue(),
        has_header=False,
        new_columns=names,
        schema=dict.fromkeys(names, pl.Utf8),
        null_values=_NULL,
        empty_string_is_null=False,
        quote_char='"',
    )
    columns = []
    for name, dtype in schema.items():
        column = raw.get_column(name)
        if dtype == pl.Boolean:
            column = column.replace_strict({"t": True, "f": False}, return_dtype=pl.Boolean)
        elif dtype != pl.Utf8:
            column = column.cast(dtype)
        columns.append(column)
    return pl.DataFrame(columns)


def _to_sqlite(data: pa.Table) -> pa.Table:
    """Convert Arrow types to the text/integer forms SQLAlchemy stores in SQLite."""
    columns = []
    for column in data.columns:
        t = column.type
        # A plain cast prints the same text as strftime, about twenty times faster.
        if pa.types.is_timestamp(t):
            column = column.cast(pa.timestamp("us", "UTC")).cast(pa.timestamp("us"))
            column = column.cast(pa.string())
        elif pa.types.is_date(t):
            column = column.cast(pa.string())
        elif pa.types.is_boolean(t):
            column = column.cast(pa.int64())
        elif pa.types.is_null(t):
            column = column.cast(pa.string())
        columns.append(column)
    return pa.table(columns, names=data.column_names)


def _to_postgres(data: pa.Table) -> pa.Table:
    """Prepare Arrow columns for CSV COPY: bytes as bytea hex, timestamps in UTC."""
    columns = []
    for column in data.columns:
        t = column.type
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            column = pa.array(
                [None if b is None else "\\x" + b.hex() for b in column.to_pylist()], pa.string()
            )
        elif pa.types.is_timestamp(t) and t.tz is None:
            column = column.cast(pa.timestamp(t.unit, "UTC"))
        elif pa.types.is_null(t):
            column = column.cast(pa.string())
        columns.append(column)
    return pa.table(columns, names=data.column_names)


# The import writer's SQLite page cache, in KiB; building an index after a load sorts in as
# much memory again unless the cache gives way (see `AdbcSqliteBulk.create_indexes`). A load
# appends at the right edge of its b-trees: 64 MiB was as fast as 128 (18,188 against 18,062
# rows/s with cleaning, paired runs) for 70 MiB less peak memory.
_CACHE_KIB = 65536
_SORT_CACHE_KIB = 16384
# Rows sampled per table by the ANALYZE of a bulk load: 300 times this (PostgreSQL's default
# is 100).
_BULK_STATISTICS_TARGET = 10


class Bulk:
    """The few operations the import needs, on one open transaction.

    `ingest` seals what it writes (`rolodex.store.sealed`): personal-data columns encrypted,
    blind indexes added; statements given to `execute` are the caller's to seal.
    """

    dialect: str
    sealer: Sealer = Sealer.plain()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        raise NotImplementedError

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter row."""
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query and return all its rows."""
        raise NotImplementedError

    def ingest(self, table: Table, data: pa.Table, *, sealed: bool = False) -> None:
        """Append an Arrow table whose column names are columns of `table`.

        Personal data is sealed on the way (`Sealer.seal_arrow`) unless the data says it
        already is (`sealed`: sealed ahead by the same workspace's sealer).
        """
        raise NotImplementedError

    @property
    def is_postgres(self) -> bool:
        """Tell whether this is PostgreSQL (else SQLite)."""
        return self.dialect == "postgresql"

    def stamp(self, moment: datetime) -> Any:
        """Render a UTC timestamp as a statement parameter the way the store keeps it."""
        if self.is_postgres:
            return moment
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", timespec="microseconds")

    def since(self, moment: datetime) -> Any:
        """A lower bound on stored times from a UTC timestamp, to the second, as a statement
        parameter: SQLite keeps record times as text to the second (or finer), and text
        compares right only against text of the same form."""
        if self.is_postgres:
            return moment.replace(microsecond=0)
        return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat(" ")

    def query_in(
        self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Run `sql`, whose `(?*)` stands for an IN list, over `values` in safe slices.

        `params` are bound before the IN list.
        """
        out: list[tuple[Any, ...]] = []
        for start in range(0, len(values), _PARAMS):
            part = list(values[start : start + _PARAMS])
            marks = ", ".join("?" * len(part))
            out.extend(self.query(sql.replace("(?*)", f"({marks})"), [*params, *part]))
        return out

    def reserve_ids(self, table: Table, count: int) -> list[int]:
        """Reserve `count` primary keys of `table` for rows inserted with explicit ids.

        On SQLite the chunk's transaction holds the write lock (BEGIN IMMEDIATE), so the
        highest id cannot move under it; on PostgreSQL the table's sequence hands them out.
        """
        if count <= 0:
            return []
        if self.is_postgres:
            sequence = self.query("SELECT pg_get_serial_sequence(?, 'id')", [f'"{table.name}"'])
            # The name as a literal: PostgreSQL resolves it once, not once per id (12 times
            # slower when pg_get_serial_sequence is called inside the row function).
            literal = "'" + str(sequence[0][0]).replace("'", "''") + "'"
            rows = self.query(
                f"SELECT nextval({literal}::regclass) FROM generate_series(1, ?)", [count]
            )
            return [int(r[0]) for r in rows]
        top = int(self.query(f'SELECT coalesce(max(id), 0) FROM "{table.name}"')[0][0])
        if table.kwargs.get("sqlite_autoincrement"):
            seq = self.query("SELECT seq FROM sqlite_sequence WHERE name = ?", [table.name])
            top = max(top, int(seq[0][0]) if seq else 0)
        return list(range(top + 1, top + 1 + count))

    def stage_pairs(self, pairs: Sequence[tuple[int, int]]) -> str:
        """Put (record id, golden id) pairs in this connection's scratch table; return its name.

        Set-based statements join on it by primary key instead of carrying thousands of ids
        in an IN list. Temporary tables belong to one connection, so concurrent imports never
        see each other's pairs.
        """
        name = "staged_pair"
        self.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {name}"
            " (record_id BIGINT PRIMARY KEY, golden_id BIGINT NOT NULL)"
        )
        self.execute(f"DELETE FROM {name}")
        if pairs:
            self.executemany(f"INSERT INTO {name} (record_id, golden_id) VALUES (?, ?)", pairs)
        return name

    def analyze(self, tables: Sequence[str]) -> None:
        """Let PostgreSQL's planner see how big tables have grown during a bulk load.

        Autovacuum lags behind a long import; with stale statistics the planner takes a
        freshly filled table for empty and joins it by sequential scan, chunk after chunk.
        SQLite plans from its indexes without statistics, so there is nothing to do there.
        A small sample is enough here (the plans need sizes, not fine histograms), and takes
        a tenth of the time; autovacuum analyzes the grown tables fully afterwards.
        """
        if self.is_postgres:
            self.execute(f"SET LOCAL default_statistics_target = {_BULK_STATISTICS_TARGET}")
            self.execute("ANALYZE " + ", ".join(f'"{t}"' for t in tables))

    def drop_indexes(self, indexes: Sequence[Index]) -> None:
        """Drop `indexes` (those that exist) before a bulk load that outgrows its table."""
        for index in indexes:
            self.execute(self._ddl(DropIndex(index, if_exists=True)))

    def create_indexes(self, indexes: Sequence[Index]) -> None:
        """Create whichever of `indexes` do not exist (after a bulk load, or one that died).

        Existing ones are skipped by name first: PostgreSQL would lock the table even for
        CREATE INDEX IF NOT EXISTS.
        """
        sql = (
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            if self.is_postgres
            else "SELECT name FROM sqlite_master WHERE type = 'index'"
        )
        present = {row[0] for row in self.query(sql)}
        for index in indexes:
            if index.name not in present:
                self.execute(self._ddl(CreateIndex(index, if_not_exists=True)))

    def _ddl(self, element: DDLElement) -> str:
        dialect: Dialect = _POSTGRES_DIALECT if self.is_postgres else _SQLITE_DIALECT
        return str(element.compile(dialect=dialect))


class ConnectionBulk(Bulk):
    """`Bulk` over an open SQLAlchemy connection (and its transaction), either database."""

    def __init__(self, conn: Connection, *, unchecked: bool = False) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.sealer = sealer_of(conn)
        self._raw = conn.connection.driver_connection
        if self.is_postgres:
            # Bulk statements sort and hash hundreds of thousands of rows: keep that in memory.
            self.execute("SET LOCAL work_mem = '256MB'")
            if unchecked and self.query("SELECT current_setting('is_superuser')")[0][0] == "on":
                # Foreign keys are checked by a trigger per row, which costs more than the
                # rows themselves in a bulk load; replica mode skips them (and every other
                # trigger) for this transaction. Only a superuser may set it.
                self.execute("SET LOCAL session_replication_role = replica")

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.is_postgres else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = self._raw.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self._sql(sql), tuple(params))
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        cursor = self._raw.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(self._sql(sql), [tuple(r) for r in rows])
        finally:
            cursor.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._raw.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self._sql(sql), tuple(params))
            return [tuple(r) for r in cursor.fetchall()]
        finally:
            cursor.close()

    def _copy(self, name: str, columns: Sequence[str], rows: Any) -> None:
        """Stream rows into a PostgreSQL table with COPY."""
        quoted = ", ".join(f'"{c}"' for c in columns)
        cursor = self._raw.cursor()  # type: ignore[union-attr]
        with cursor.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)

    def _copy_csv(self, name: str, data: pa.Table) -> None:
        """COPY an Arrow table into PostgreSQL as CSV written by Arrow, in C.

        Handing rows to `COPY` one Python value at a time costs more than the database's
        own work; Arrow writes the whole chunk at once. Strings are always quoted, so an
        empty string stays empty and only a missing value (an empty unquoted field) is NULL.
        """
        text = io.BytesIO()
        pa_csv.write_csv(
            _to_postgres(data),
            text,
            pa_csv.WriteOptions(include_header=False, quoting_style="needed"),
        )
        quoted = ", ".join(f'"{c}"' for c in data.column_names)
        cursor = self._raw.cursor()  # type: ignore[union-attr]
        with cursor.copy(f'COPY "{name}" ({quoted}) FROM STDIN WITH (FORMAT csv)') as copy:
            copy.write(text.getbuffer())

    def stage_pairs(self, pairs: Sequence[tuple[int, int]]) -> str:
        if not self.is_postgres:
            return super().stage_pairs(pairs)
        name = "staged_pair"
        self.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {name}"
            " (record_id BIGINT PRIMARY KEY, golden_id BIGINT NOT NULL)"
        )
        self.execute(f"DELETE FROM {name}")
        self._copy(name, ("record_id", "golden_id"), pairs)
        self.execute(f"ANALYZE {name}")
        return name

    def ingest(self, table: Table, data: pa.Table, *, sealed: bool = False) -> None:
        if data.num_rows == 0:
            return
        if not sealed:
            data = self.sealer.seal_arrow(table.name, data)
        names = ", ".join(f'"{c}"' for c in data.column_names)
        if self.is_postgres:
            self._copy_csv(table.name, data)
            return
        columns = [c.to_pylist() for c in _to_sqlite(data).columns]
        marks = ", ".join("?" * data.num_columns)
        self.executemany(
            f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
            list(zip(*columns, strict=True)),
        )


class AdbcSqliteBulk(Bulk):
    """`Bulk` over an ADBC SQLite connection: Arrow ingest in C, explicit transactions.

    One per import, used from one thread. `begin()` takes the write lock at once (BEGIN
    IMMEDIATE), which is what makes `reserve_ids` safe.
    """

    dialect = "sqlite"

    def __init__(self, path: str, *, unchecked: bool = False) -> None:
        import adbc_driver_sqlite.dbapi as adbc

        self._conn = adbc.connect(path, autocommit=True)
        self._cursor = self._conn.cursor()
        for pragma in (
            "PRAGMA busy_timeout = 60000",
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            f"PRAGMA foreign_keys = {'OFF' if unchecked else 'ON'}",
            f"PRAGMA cache_size = -{_CACHE_KIB}",
            # Checkpoints run beside the writes, on a thread of their own (see below).
            "PRAGMA wal_autocheckpoint = 0",
        ):
            self._cursor.execute(pragma)
            self._cursor.fetchall()
        self._checkpointer = _Checkpointer(path)

    def begin(self) -> None:
        """Start the chunk's transaction holding the write lock."""
        self._cursor.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        """Commit the chunk."""
        self._cursor.execute("COMMIT")

    def rollback(self) -> None:
        """Abandon the chunk."""
        self._cursor.execute("ROLLBACK")

    def close(self) -> None:
        """Close the connection."""
        self._checkpointer.stop()
        self._cursor.close()
        self._conn.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._cursor.execute(sql, list(params) if params else None)
        return int(self._cursor.rowcount)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cursor.executemany(sql, [list(r) for r in rows])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cursor.execute(sql, list(params) if params else None)
        # As Arrow: fetching hundreds of thousands of rows one by one costs microseconds each.
        result = self._cursor.fetch_arrow_table()
        return list(zip(*(c.to_pylist() for c in result.columns), strict=True))

    def ingest(self, table: Table, data: pa.Table, *, sealed: bool = False) -> None:
        if data.num_rows:
            if not sealed:
                data = self.sealer.seal_arrow(table.name, data)
            self._cursor.adbc_ingest(table.name, _to_sqlite(data), mode="append")

    def create_indexes(self, indexes: Sequence[Index]) -> None:
        """Build the indexes with the page cache emptied and made small first.

        SQLite's sorter takes memory in proportion to the cache size, on top of the cache:
        after a load of five million rows, building the lookup indexes with the full cache
        made the writer's peak memory grow with the file, which it must not.
        """
        for pragma in ("PRAGMA shrink_memory", f"PRAGMA cache_size = -{_SORT_CACHE_KIB}"):
            self._cursor.execute(pragma)
            self._cursor.fetchall()
        try:
            super().create_indexes(indexes)
        finally:
            self._cursor.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            self._cursor.fetchall()

    def _stage(self, name: str, columns: str, data: pa.Table) -> None:
        # ADBC binds each scalar parameter as an Arrow column of its own: thousands of
        # parameters are slow, one Arrow table of thousands of rows is not.
        self._cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({columns})")
        self._cursor.execute(f"DELETE FROM {name}")
        if data.num_rows:
            self._cursor.adbc_ingest(name, data, mode="append", temporary=True)

    def query_in(
        self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        if not values:
            return []
        self._stage("staged_value", "v PRIMARY KEY", pa.table({"v": pa.array(list(values))}))
        return self.query(sql.replace("(?*)", "(SELECT v FROM staged_value)"), params)

    def stage_pairs(self, pairs: Sequence[tuple[int, int]]) -> str:
        data = pa.table(
            {
                "record_id": pa.array([r for r, _ in pairs], pa.int64()),
                "golden_id": pa.array([g for _, g in pairs], pa.int64()),
            }
        )
        self._stage(
            "staged_pair", "record_id INTEGER PRIMARY KEY, golden_id INTEGER NOT NULL", data
        )
        return "staged_pair"


class _Checkpointer:
    """Copy committed WAL pages into the database file on a thread of its own.

    SQLite's automatic checkpoint runs inside a writer's COMMIT, so the import waited for
    it; a passive checkpoint from another connection runs beside the writes (SQLite
    releases the GIL), and the WAL restarts from its beginning whenever it has caught up.
    The connection is ADBC too: this process must not load a second copy of SQLite.
    """

    def __init__(self, path: str, every: float = 0.2) -> None:
        import adbc_driver_sqlite.dbapi as adbc

        self._conn = adbc.connect(path, autocommit=True)
        self._cursor = self._conn.cursor()
        self._cursor.execute("PRAGMA busy_timeout = 60000")
        self._cursor.fetchall()
        self._every = every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._every):
            try:
                self._checkpoint("PASSIVE")
            except Exception:  # a failed checkpoint only leaves a longer WAL
                continue

    def _checkpoint(self, mode: str) -> None:
        self._cursor.execute(f"PRAGMA wal_checkpoint({mode})")
        self._cursor.fetchall()

    def stop(self) -> None:
        """Stop the thread after a last checkpoint.

        A passive one, as SQLite's own: a TRUNCATE checkpoint would wait for every reader
        of the file (an API server's long query) before the import could finish.
        """
        self._stopped.set()
        self._thread.join()
        self._checkpoint("PASSIVE")
        self._cursor.close()
        self._conn.close()


class BulkSession:
    """Hands out one `Bulk` transaction per chunk for the length of one import.

    With `adbc=True` on a SQLite file, one ADBC connection is kept open across chunks: only
    for a process that never opens the same file through Python's `sqlite3` (two copies of
    SQLite in one process break each other's file locks). Anything else gets a SQLAlchemy
    transaction per chunk. `unchecked=True` is for writers that insert parent rows before
    their children by construction (the import): foreign keys are not checked row by row
    where the database allows it (SQLite over ADBC; PostgreSQL for a superuser).
    """

    def __init__(self, engine: Engine, *, adbc: bool = False, unchecked: bool = False) -> None:
        self.engine = engine
        self._unchecked = unchecked
        self._adbc: AdbcSqliteBulk | None = None
        database = engine.url.database
        sqlite_file = engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
        self._sqlite_path = database if adbc and sqlite_file else None

    @contextmanager
    def transaction(self) -> Iterator[Bulk]:
        """Yield a `Bulk` whose work commits together, or not at all."""
        if self._sqlite_path is None:
            with self.engine.begin() as conn:
                yield ConnectionBulk(conn, unchecked=self._unchecked)
            return
        if self._adbc is None:
            self._adbc = AdbcSqliteBulk(self._sqlite_path, unchecked=self._unchecked)
            self._adbc.sealer = sealer_of(self.engine)
        self._adbc.begin()
        try:
            yield self._adbc
        except BaseException:
            self._adbc.rollback()
            raise
        self._adbc.commit()

    def close(self) -> None:
        """Close the connections."""
        if self._adbc is not None:
            self._adbc.close()
            self._adbc = None
        self.engine.dispose()
